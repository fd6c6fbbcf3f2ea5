"""A local stand-in for a NEAR JSON-RPC node serving the verifier contract, for tests and chaos.

Speaks NEAR's JSON-RPC over real HTTP/1.1 (``asyncio.start_server`` on 127.0.0.1, keep-alive)
so the product's ``NearRpc`` (httpx) runs unchanged: ``query`` with ``request_type:
call_function`` answers the verifier's ``is_nonce_used`` view (result as the JSON's bytes, as
nodes return it); ``view_access_key`` and ``block`` give what a transaction needs; ``tx``
finds a settlement the relay recorded (its receipt on the verifier, in a block of its own
whose header carries the execution time); and
``send_tx`` / ``broadcast_tx_commit`` accept a borsh ``SignedTransaction``, check its ed25519
signature and apply ``invalidate_nonces`` to the contract state. Errors use NEAR's shape
(``{"error": {"name": ..., "cause": {"name": ...}}}``).

``VerifierState`` is the contract's state; the fake relay shares it, so a quote the relay
reports executed is also visible on chain, as on mainnet.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from unrip.venues.near_intents.nep413 import decode_ed25519

from unrip_dev.venues.near_intents.borsh_tx import decode_signed_transaction

BLOCK_HASH = base58.b58encode(hashlib.sha256(b"unrip-fake-block").digest()).decode()


@dataclass
class VerifierState:
    """Used nonces per signer, as the verifier contract keeps them."""

    used: set[tuple[str, str]] = field(default_factory=set)  # (account id, nonce base64)
    invalidated: set[tuple[str, str]] = field(default_factory=set)
    # Settlement transactions: tx hash -> (block hash, block timestamp in ns).
    executions: dict[str, tuple[str, int]] = field(default_factory=dict)

    def mark_used(self, account_id: str, nonce_b64: str) -> None:
        self.used.add((account_id, nonce_b64))

    def record_execution(self, tx_hash: str, at_ns: int) -> str:
        """A settlement transaction executed in a block of its own at ``at_ns``; its hash."""
        block = base58.b58encode(hashlib.sha256(f"block:{tx_hash}".encode()).digest()).decode()
        self.executions[tx_hash] = (block, at_ns)
        return block

    def is_used(self, account_id: str, nonce_b64: str) -> bool:
        return (account_id, nonce_b64) in self.used


class FakeNearRpc:
    """A scriptable local NEAR RPC node. Knobs are plain attributes."""

    def __init__(
        self, state: VerifierState | None = None, *, contract: str = "intents.near"
    ) -> None:
        self.state = state or VerifierState()
        self.contract = contract
        # False: answer every call with HTTP 503 (the node is down).
        self.available = True
        self.calls: list[dict[str, Any]] = []
        self.keep_calls = True  # tests read them; a long-running stand-in turns this off
        self.transactions: list[dict[str, Any]] = []
        self.access_key_nonce = 1000
        self.transaction_seen = asyncio.Event()  # set by every accepted transaction
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    async def __aenter__(self) -> FakeNearRpc:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the RPC node first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    # --- HTTP/1.1 ----------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                status, payload = self._respond(body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def _respond(self, body: bytes) -> tuple[str, Any]:
        if not self.available:
            return "503 Service Unavailable", {"error": "unavailable"}
        try:
            request = json.loads(body)
        except ValueError:
            return "200 OK", _error(None, "PARSE_ERROR")
        if self.keep_calls:
            self.calls.append(request)
        request_id, method = request.get("id"), request.get("method")
        params = request.get("params")
        if method == "query" and isinstance(params, dict):
            return "200 OK", self._query(request_id, params)
        if method == "block":
            return "200 OK", self._block(request_id, params)
        if method == "tx" and isinstance(params, dict):
            return "200 OK", self._tx(request_id, params)
        if method in ("send_tx", "broadcast_tx_commit"):
            return "200 OK", self._transaction(request_id, params)
        return "200 OK", _error(request_id, "METHOD_NOT_FOUND")

    # --- JSON-RPC ------------------------------------------------------------------------

    def _query(self, request_id: object, params: dict[str, Any]) -> Any:
        kind = params.get("request_type")
        if kind == "view_access_key":
            result = {"nonce": self.access_key_nonce, "permission": "FullAccess"}
            return _ok(request_id, {**result, "block_hash": BLOCK_HASH, "block_height": 1})
        if kind != "call_function" or params.get("finality") != "final":
            return _error(request_id, "UNSUPPORTED_QUERY")
        if params.get("account_id") != self.contract:
            return _error(request_id, "UNKNOWN_ACCOUNT")
        if params.get("method_name") != "is_nonce_used":
            return _error(request_id, "METHOD_NOT_FOUND")
        try:
            args = json.loads(base64.b64decode(params["args_base64"]))
            used = self.state.is_used(str(args["account_id"]), str(args["nonce"]))
        except (KeyError, ValueError, TypeError):
            return _error(request_id, "INVALID_ARGS")
        raw = list(json.dumps(used).encode())
        return _ok(request_id, {"result": raw, "logs": [], "block_hash": BLOCK_HASH})

    def _block(self, request_id: object, params: object) -> Any:
        wanted = params.get("block_id") if isinstance(params, dict) else None
        for block, at_ns in self.state.executions.values():
            if block == wanted:
                header = {"hash": block, "height": 2, "timestamp_nanosec": str(at_ns)}
                return _ok(request_id, {"header": header})
        if wanted is not None:
            return _error(request_id, "UNKNOWN_BLOCK")
        return _ok(request_id, {"header": {"hash": BLOCK_HASH, "height": 1}})

    def _tx(self, request_id: object, params: dict[str, Any]) -> Any:
        found = self.state.executions.get(str(params.get("tx_hash")))
        if found is None or not params.get("sender_account_id"):
            return _error(request_id, "UNKNOWN_TRANSACTION")
        block, _ = found
        # The relay's transaction lands one block earlier; the verifier's receipt runs in ours.
        outcome = {
            "status": {"SuccessValue": ""},
            "transaction_outcome": {"block_hash": BLOCK_HASH, "outcome": {"executor_id": "relay"}},
            "receipts_outcome": [
                {"block_hash": block, "outcome": {"executor_id": self.contract}},
            ],
        }
        return _ok(request_id, outcome)

    def _transaction(self, request_id: object, params: object) -> Any:
        encoded = params.get("signed_tx_base64") if isinstance(params, dict) else None
        if encoded is None and isinstance(params, list) and params:
            encoded = params[0]
        try:
            signed = decode_signed_transaction(base64.b64decode(str(encoded)))
            key = VerifyKey(decode_ed25519(signed.public_key, lengths=(32,), what="public key"))
            key.verify(hashlib.sha256(signed.transaction_bytes).digest(), signed.signature)
        except (ValueError, BadSignatureError):
            return _error(request_id, "INVALID_TRANSACTION")
        if signed.receiver_id != self.contract:
            return _error(request_id, "INVALID_TRANSACTION")
        self.access_key_nonce = max(self.access_key_nonce, signed.nonce)
        self.transactions.append({"signer_id": signed.signer_id, "actions": signed.actions})
        self.transaction_seen.set()
        for action in signed.actions:
            if action["method_name"] == "invalidate_nonces" and action["deposit"] >= 1:
                for nonce in json.loads(action["args"]).get("nonces", []):
                    self.state.mark_used(signed.signer_id, nonce)
                    self.state.invalidated.add((signed.signer_id, nonce))
        outcome = {"status": {"SuccessValue": ""}, "transaction": {"hash": signed.hash}}
        return _ok(request_id, outcome)


def _ok(request_id: object, result: object) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _error(request_id: object, cause: str) -> dict[str, Any]:
    error = {"name": "HANDLER_ERROR", "cause": {"name": cause}, "code": -32000}
    return {"jsonrpc": "2.0", "id": request_id, "error": error}
