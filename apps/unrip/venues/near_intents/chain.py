"""The verifier contract on chain, through NEAR JSON-RPC: the record of what really executed.

The relay announces fills on ``quote_status`` only to connected subscribers and keeps no
history, so a process that restarted, or missed notices while disconnected, asks the chain:
``is_nonce_used(account_id, nonce)`` on the verifier contract (``intents.near``), a view call
through ``query`` / ``call_function`` at ``final`` finality. A nonce is used once its intent has
executed, or once it has been invalidated (``invalidate_nonces``, see ``recall.py``); the
executor asks only after the intent's deadline, when nothing can change any more.

A fill announced on ``quote_status`` names its settlement transaction (``tx_hash``) but no
time; ``execution_time`` dates it from the chain: the block in which the verifier executed the
intent (``tx``, then that block's header timestamp).

Transport failures and RPC errors raise ``ChainUnavailableError`` (a ``VenueUnavailableError``):
the answer is unknown, never assumed.
"""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

from unrip.venues.base import VenueUnavailableError

FINALITY: Final = "final"
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# ``tx`` answers once the transaction and its receipts have executed (the node's default); a
# settlement announced on quote_status has, so the node answers at once.
TX_WAIT_UNTIL: Final = "EXECUTED_OPTIMISTIC"


class ChainUnavailableError(VenueUnavailableError):
    """The RPC endpoint did not give a usable answer; names the method, never a secret."""


class NearRpc:
    """A small NEAR JSON-RPC client (one HTTP POST per call)."""

    def __init__(
        self, url: str, *, timeout_s: float = 5.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.url = url
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._ids = itertools.count(1)

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, params: object) -> Any:
        """The ``result`` of one JSON-RPC call; ``ChainUnavailableError`` otherwise."""
        body = {"jsonrpc": "2.0", "id": f"unrip-{next(self._ids)}", "method": method}
        body["params"] = params  # type: ignore[assignment]
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise ChainUnavailableError(f"NEAR RPC {method}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ChainUnavailableError(f"NEAR RPC {method}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise ChainUnavailableError(f"NEAR RPC {method}: not JSON") from None
        if not isinstance(answer, dict) or "error" in answer:
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise ChainUnavailableError(f"NEAR RPC {method}: {_error_text(error)}")
        return answer.get("result")

    async def view(self, contract: str, method: str, args: dict[str, Any]) -> Any:
        """A view call's JSON return value, read at final finality."""
        encoded = base64.b64encode(json.dumps(args, separators=(",", ":")).encode()).decode()
        result = await self.call(
            "query",
            {
                "request_type": "call_function",
                "finality": FINALITY,
                "account_id": contract,
                "method_name": method,
                "args_base64": encoded,
            },
        )
        if not isinstance(result, dict):
            raise ChainUnavailableError(f"NEAR RPC view {method}: no result")
        if "error" in result:  # older nodes report contract errors inside the result
            raise ChainUnavailableError(f"NEAR RPC view {method}: {_error_text(result['error'])}")
        raw = result.get("result")
        if not isinstance(raw, list):
            raise ChainUnavailableError(f"NEAR RPC view {method}: result is not bytes")
        try:
            return json.loads(bytes(raw))
        except ValueError:
            raise ChainUnavailableError(f"NEAR RPC view {method}: result is not JSON") from None

    async def is_nonce_used(self, contract: str, account_id: str, nonce: bytes) -> bool:
        """Whether the verifier has consumed (executed or invalidated) this signer's nonce."""
        used = await self.view(
            contract,
            "is_nonce_used",
            {"account_id": account_id, "nonce": base64.b64encode(nonce).decode()},
        )
        if not isinstance(used, bool):
            raise ChainUnavailableError("NEAR RPC view is_nonce_used: not a boolean")
        return used

    async def execution_time(self, tx_hash: str, sender_account_id: str, executor: str) -> datetime:
        """When ``executor`` (the verifier) executed transaction ``tx_hash``: the timestamp of
        the block holding its receipt on ``executor`` (the transaction's own block if none)."""
        outcome = await self.call(
            "tx",
            {
                "tx_hash": tx_hash,
                "sender_account_id": sender_account_id,
                "wait_until": TX_WAIT_UNTIL,
            },
        )
        block_hash = _execution_block(outcome, executor)
        block = await self.call("block", {"block_id": block_hash})
        header = block.get("header") if isinstance(block, dict) else None
        if not isinstance(header, dict):
            raise ChainUnavailableError("NEAR RPC block: no header")
        stamp = header.get("timestamp_nanosec", header.get("timestamp"))
        try:
            nanoseconds = int(stamp)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ChainUnavailableError("NEAR RPC block: no header timestamp") from None
        # Exact to the microsecond (a float of nanoseconds since 1970 is not).
        return EPOCH + timedelta(microseconds=nanoseconds // 1000)


def _execution_block(outcome: object, executor: str) -> str:
    if not isinstance(outcome, dict):
        raise ChainUnavailableError("NEAR RPC tx: no outcome")
    receipts = outcome.get("receipts_outcome")
    for receipt in receipts if isinstance(receipts, list) else []:
        inner = receipt.get("outcome") if isinstance(receipt, dict) else None
        if isinstance(inner, dict) and inner.get("executor_id") == executor:
            block = receipt.get("block_hash")
            if isinstance(block, str):
                return block
    transaction = outcome.get("transaction_outcome")
    block = transaction.get("block_hash") if isinstance(transaction, dict) else None
    if not isinstance(block, str):
        raise ChainUnavailableError("NEAR RPC tx: no block hash")
    return block


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        cause = error.get("cause")
        name = cause.get("name") if isinstance(cause, dict) else None
        return str(name or error.get("name") or error.get("message") or "error")[:200]
    return str(error)[:200]
