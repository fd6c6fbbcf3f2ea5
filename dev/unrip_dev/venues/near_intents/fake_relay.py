"""An in-process stand-in for the solver relay, for tests and offline demos.

The live relay cannot be reached from CI or a laptop without a partner JWT, so this speaks the
same JSON-RPC over a real websocket (``websockets.serve`` on 127.0.0.1): bearer-token
handshake, ``subscribe`` acks, quote events in the live (nested) or documented (flat) form,
``quote_response`` answers after checking the NEP-413 signature, and ``quote_status``
settlement notices. The real ``RelayClient`` and ``NearIntentsVenue`` run against it
unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

import base58
from unrip.venues.near_intents.nep413 import Nep413Payload, verify
from unrip.venues.near_intents.relay import RedactAuthorization
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from unrip_dev.venues.near_intents.fake_rpc import VerifierState

_log = logging.getLogger(f"{__name__}.server")
# Arrival times kept for the bench's quote latency (oldest forgotten first): a long chaos run
# answers tens of thousands of quotes and must not grow without bound.
KEPT_ARRIVALS = 200_000
_log.addFilter(RedactAuthorization())


@dataclass
class _Client:
    connection: ServerConnection
    subscriptions: dict[str, str] = field(default_factory=dict)  # subscription id -> kind


class FakeRelay:
    """A scriptable local relay. Knobs are plain attributes, changeable between steps."""

    def __init__(self, *, jwt: str | None = None, chain: VerifierState | None = None) -> None:
        self.jwt = jwt
        # The verifier contract's state, shared with a FakeNearRpc: a settled quote's nonce is
        # used on chain, as on mainnet.
        self.chain = chain
        self.accepted: dict[str, tuple[str, str]] = {}  # quote hash -> (signer id, nonce b64)
        # Answer quote_response with this JSON-RPC error message instead of "OK".
        self.quote_response_error: str | None = None
        # False: swallow quote_response requests (the client sees a timeout).
        self.answer_quote_responses = True
        # True: after accepting a quote response, announce it as executed (quote_status).
        self.auto_settle = False
        self.handshakes = 0
        self.rejected_handshakes = 0
        self.requests: list[dict[str, Any]] = []
        self.keep_requests = True  # tests read them; a long-running stand-in turns this off
        self.quote_responses: list[dict[str, Any]] = []
        # quote_id -> when its first quote_response frame was handed over by the websocket
        # library (epoch seconds, before its JSON is parsed): the far end of the bench's
        # quote latency.
        self.arrivals: OrderedDict[str, float] = OrderedDict()
        self._clients: list[_Client] = []
        self._server: Server | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._authorize,
            ping_interval=None,
            logger=_log,
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeRelay:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the relay first"
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    # --- what tests drive ----------------------------------------------------------------

    async def wait_subscribed(self, kind: str, clients: int = 1, timeout_s: float = 5.0) -> None:
        """Until ``clients`` connections hold a subscription to ``kind``."""

        def enough() -> bool:
            return sum(kind in c.subscriptions.values() for c in self._clients) >= clients

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(enough), timeout_s)

    def subscriptions(self) -> dict[str, str]:
        """Subscription id -> kind, over every open connection."""
        return {sub: kind for c in self._clients for sub, kind in c.subscriptions.items()}

    async def wait_quote_responses(self, count: int, timeout_s: float = 5.0) -> None:
        """Until ``count`` quote_response requests have arrived."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.quote_responses) >= count), timeout_s
            )

    async def publish_quote(
        self,
        data: dict[str, Any],
        *,
        form: Literal["nested", "flat"] = "nested",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Send a quote request to every ``quote`` subscriber, in the live or documented form."""
        for client in list(self._clients):
            for sub_id, kind in client.subscriptions.items():
                if kind != "quote":
                    continue
                if form == "nested":
                    params = {"subscription": sub_id, "data": data, "metadata": metadata or {}}
                    message = {"jsonrpc": "2.0", "method": "event", "params": params}
                else:
                    message = {
                        "jsonrpc": "2.0",
                        "method": "subscribe",
                        "params": {"subscription": sub_id, **data},
                    }
                await self._send(client, json.dumps(message))

    async def settle(
        self, quote_hash: str, *, intent_hash: str, tx_hash: str, executed_at: float | None = None
    ) -> None:
        """Announce an executed quote to every ``quote_status`` subscriber (and on chain: its
        nonce used, its transaction executed at ``executed_at``, epoch seconds, default now)."""
        if self.chain is not None and quote_hash in self.accepted:
            self.chain.mark_used(*self.accepted[quote_hash])
            at = time.time() if executed_at is None else executed_at
            self.chain.record_execution(tx_hash, round(at * 1e6) * 1000)  # to the microsecond
        for client in list(self._clients):
            for sub_id, kind in client.subscriptions.items():
                if kind == "quote_status":
                    params = {
                        "subscription": sub_id,
                        "data": {
                            "quote_hash": quote_hash,
                            "intent_hash": intent_hash,
                            "tx_hash": tx_hash,
                        },
                    }
                    message = {"jsonrpc": "2.0", "method": "event", "params": params}
                    await self._send(client, json.dumps(message))

    async def drop_connections(self) -> None:
        """Close every client connection as a relay restart would (code 1012)."""
        for client in list(self._clients):
            await client.connection.close(code=1012, reason="service restart")

    # --- protocol -------------------------------------------------------------------------

    def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        if self.jwt is None:
            return None
        if _header(request.headers, "Authorization") == f"Bearer {self.jwt}":
            return None
        self.rejected_handshakes += 1
        return connection.respond(HTTPStatus.UNAUTHORIZED, "missing or invalid partner JWT\n")

    async def _handle(self, connection: ServerConnection) -> None:
        client = _Client(connection)
        self._clients.append(client)
        try:
            async for frame in connection:
                arrived = time.time()
                request = json.loads(frame)
                if request.get("method") == "quote_response":
                    self._arrived(request.get("params"), arrived)
                await self._on_request(client, request)
        except ConnectionClosed:
            pass
        finally:
            self._clients.remove(client)

    def _arrived(self, params: object, arrived: float) -> None:
        quote = params[0] if isinstance(params, list) and params else None
        quote_id = quote.get("quote_id") if isinstance(quote, dict) else None
        if isinstance(quote_id, str) and quote_id not in self.arrivals:
            self.arrivals[quote_id] = arrived
            if len(self.arrivals) > KEPT_ARRIVALS:
                self.arrivals.popitem(last=False)

    def arrivals_with_prefix(self, prefix: str) -> dict[str, float]:
        """Arrival times of the quote_responses whose quote_id starts with ``prefix``."""
        return {q: t for q, t in self.arrivals.items() if q.startswith(prefix)}

    async def _on_request(self, client: _Client, request: dict[str, Any]) -> None:
        if self.keep_requests:
            self.requests.append(request)
        method, params, request_id = request.get("method"), request.get("params"), request.get("id")
        if method == "subscribe" and isinstance(params, list) and params:
            sub_id = str(uuid.uuid4())
            client.subscriptions[sub_id] = str(params[0])
            await self._reply(client, request_id, result=sub_id)
            async with self._changed:
                self._changed.notify_all()
        elif method == "quote_response" and isinstance(params, list) and params:
            await self._on_quote_response(client, request_id, params[0])
        else:
            await self._reply(
                client, request_id, error={"code": -32601, "message": "unknown method"}
            )

    async def _on_quote_response(
        self, client: _Client, request_id: object, quote: dict[str, Any]
    ) -> None:
        if self.keep_requests:
            self.quote_responses.append(quote)
        async with self._changed:
            self._changed.notify_all()
        if not self.answer_quote_responses:
            return
        quote_hash = _verified_quote_hash(quote)
        if quote_hash is None:
            await self._reply(
                client, request_id, error={"code": -32000, "message": "invalid signature"}
            )
        elif self.quote_response_error is not None:
            error = {"code": -32000, "message": self.quote_response_error}
            await self._reply(client, request_id, error=error)
        else:
            self.accepted[quote_hash] = _signer_and_nonce(quote)
            await self._reply(client, request_id, result="OK")
            if self.auto_settle:
                await self.settle(
                    quote_hash,
                    intent_hash=f"intent-{quote_hash[:8]}",
                    tx_hash=f"tx-{quote_hash[:8]}",
                )

    async def _reply(
        self, client: _Client, request_id: object, *, result: object = None, error: object = None
    ) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        if error is not None:
            message["error"] = error
        else:
            message["result"] = result
        await self._send(client, json.dumps(message))

    @staticmethod
    async def _send(client: _Client, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await client.connection.send(text)


def _header(headers: Headers, name: str) -> str | None:
    return headers.get(name)


def _signer_and_nonce(quote: dict[str, Any]) -> tuple[str, str]:
    payload = quote["signed_data"]["payload"]
    signer = json.loads(payload["message"]).get("signer_id", "")
    return str(signer), str(payload["nonce"])


def _verified_quote_hash(quote: dict[str, Any]) -> str | None:
    """The relay's quote_hash for a correctly signed response, else None."""
    try:
        signed = quote["signed_data"]
        payload = Nep413Payload(
            message=signed["payload"]["message"],
            nonce=base64.b64decode(signed["payload"]["nonce"]),
            recipient=signed["payload"]["recipient"],
        )
        if not verify(payload, signed["signature"], signed["public_key"]):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return base58.b58encode(payload.hash()).decode("ascii")
