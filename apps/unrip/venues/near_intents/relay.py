"""Websocket client for the NEAR Intents solver relay (JSON-RPC 2.0 over one connection).

One background task owns the connection: it connects (with the partner JWT as
``Authorization: Bearer``), subscribes, and reads every frame. Each frame is stamped with its
arrival time and queued verbatim for ``async for``; replies to ``request()`` also resolve the
waiting call by JSON-RPC id. When the connection fails it reconnects with capped exponential
backoff and jitter, and subscribes again. Requests are never queued while disconnected: quotes
live for hundreds of milliseconds, so a late send is worse than a clear failure.

websockets handles the protocol (handshake, ping/pong, close). The reconnect loop is ours
because its backoff resets only once a connection has been subscribed, and its sleep and
randomness are injectable for tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import websockets
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection

from unrip.contracts.envelope import utc_now
from unrip.venues.sources import ReceivedMessage

log = logging.getLogger(__name__)

_CONNECTION_ERRORS: Final = (OSError, TimeoutError, websockets.WebSocketException)


class RelayError(RuntimeError):
    """Base of the relay client's errors."""


class RelayUnavailableError(RelayError):
    """No answer: not connected, connection lost, or timed out. The request may have arrived."""


class RelayRpcError(RelayError):
    """The relay answered a request with a JSON-RPC error."""

    def __init__(self, method: str, error: object) -> None:
        message = error.get("message") if isinstance(error, dict) else None
        self.method: Final = method
        self.error: Final = error
        self.message: Final = str(message if message is not None else error)
        super().__init__(f"relay refused {method}: {self.message}")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with "equal jitter": half fixed, half random.

    The fixed half keeps a flapping relay from being hammered; the random half keeps many
    clients from reconnecting in lockstep after the relay restarts.
    """

    initial_s: float = 0.25
    max_s: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        ceiling = min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))
        return ceiling / 2 + rand() * ceiling / 2


class RedactAuthorization(logging.Filter):
    """websockets logs handshake headers at DEBUG; the bearer token must not reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() == "authorization":
            record.args = (args[0], "<redacted>")
        return True


_ws_log = logging.getLogger(f"{__name__}.websockets")
_ws_log.addFilter(RedactAuthorization())


class RelayClient:
    """The solver relay, as an async iterable of frames plus JSON-RPC requests.

    Use ``async with RelayClient(...) as relay: async for message in relay: ...``. Iteration
    ends when the client is closed.
    """

    def __init__(
        self,
        url: str,
        *,
        jwt: SecretStr | str | None = None,
        subscriptions: Sequence[str] = ("quote",),
        quote_filter: Mapping[str, Sequence[str]] | None = None,
        backoff: Backoff | None = None,
        request_timeout_s: float = 2.0,
        open_timeout_s: float = 10.0,
        ping_interval_s: float | None = 20.0,
        queue_size: int = 10_000,
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._url = url
        token = jwt.get_secret_value() if isinstance(jwt, SecretStr) else jwt
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._subscriptions = tuple(subscriptions)
        self._quote_filter = dict(quote_filter) if quote_filter else None
        self._backoff = backoff or Backoff()
        self._request_timeout_s = request_timeout_s
        self._open_timeout_s = open_timeout_s
        self._ping_interval_s = ping_interval_s
        self._queue_size = queue_size
        self._now = now
        self._sleep = sleep
        self._rand = rand
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._buffer: deque[ReceivedMessage] = deque()
        self._readable = asyncio.Event()
        self._connected = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._closed = False
        self.subscription_ids: dict[str, str] = {}
        self.connections = 0  # successful (subscribed) connections so far
        self.dropped = 0  # frames discarded because nobody was reading

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="near-intents-relay")

    async def close(self) -> None:
        self._stop.set()
        ws = self._ws
        if ws is not None:
            await ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._fail_pending("client closed")
        self._closed = True
        self._readable.set()

    async def __aenter__(self) -> RelayClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """True while a connection is open and every subscription was acknowledged."""
        return self._connected.is_set()

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    # --- frames ------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[ReceivedMessage]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[ReceivedMessage]:
        # Frames already received are still delivered after close(); then iteration ends.
        while True:
            while not self._buffer:
                if self._closed:
                    return
                self._readable.clear()
                await self._readable.wait()
            yield self._buffer.popleft()

    def _push(self, item: ReceivedMessage) -> None:
        if len(self._buffer) >= self._queue_size:
            self._buffer.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("relay frames dropped, nobody is reading fast enough: %d", self.dropped)
        self._buffer.append(item)
        self._readable.set()

    # --- JSON-RPC ----------------------------------------------------------------------

    async def request(
        self, method: str, params: Sequence[Any], *, timeout_s: float | None = None
    ) -> Any:
        """Send one JSON-RPC request and return its ``result``.

        Raises ``RelayRpcError`` for a JSON-RPC error answer and ``RelayUnavailableError`` when
        there is no answer (not connected, connection lost, timeout).
        """
        ws = self._ws
        if ws is None:
            raise RelayUnavailableError(f"not connected to the relay; {method} not sent")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        text = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            await ws.send(text)
            reply = await asyncio.wait_for(future, timeout_s or self._request_timeout_s)
        except TimeoutError:
            raise RelayUnavailableError(f"no answer to {method} in time") from None
        except websockets.ConnectionClosed:
            raise RelayUnavailableError(f"connection lost while sending {method}") from None
        finally:
            self._pending.pop(request_id, None)
        if "error" in reply:
            raise RelayRpcError(method, reply["error"])
        return reply.get("result")

    def _resolve(self, text: str) -> None:
        if '"id"' not in text:
            return
        try:
            reply = json.loads(text)
        except (ValueError, RecursionError):  # a hostile frame never stops the relay client
            return
        if not isinstance(reply, dict) or "method" in reply:
            return
        request_id = reply.get("id")
        if not isinstance(request_id, int):  # ours are ints; a list id would not even hash
            return
        future = self._pending.get(request_id)
        if future is not None and not future.done():
            future.set_result(reply)

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RelayUnavailableError(reason))

    # --- connection loop ---------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                if await self._session():
                    attempt = 0
            except (*_CONNECTION_ERRORS, RelayError) as exc:
                log.warning("relay connection failed: %s", _describe(exc))
            except Exception:
                # Anything else is a bug, but the client must keep reconnecting regardless.
                log.exception("relay session failed unexpectedly")
            if self._stop.is_set():
                return
            delay = self._backoff.delay(attempt, self._rand)
            attempt += 1
            log.info("reconnecting to the relay in %.2fs (attempt %d)", delay, attempt)
            await self._sleep(delay)

    async def _session(self) -> bool:
        """One connection: connect, subscribe, read until it ends. True if it got subscribed."""
        subscribed = False
        async with websockets.connect(
            self._url,
            additional_headers=self._headers,
            open_timeout=self._open_timeout_s,
            ping_interval=self._ping_interval_s,
            logger=_ws_log,
        ) as ws:
            reader = asyncio.create_task(self._read(ws), name="near-intents-relay-reader")
            try:
                self._ws = ws
                await self._subscribe()
                subscribed = True
                self.connections += 1
                self._connected.set()
                log.info("relay connected and subscribed: %s", ", ".join(self._subscriptions))
                await reader
            finally:
                self._connected.clear()
                self._ws = None
                self._fail_pending("connection to the relay lost")
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        return subscribed

    async def _subscribe(self) -> None:
        self.subscription_ids.clear()
        for name in self._subscriptions:
            params: list[Any] = [name]
            if name == "quote" and self._quote_filter:
                params.append(self._quote_filter)
            result = await self.request("subscribe", params)
            self.subscription_ids[name] = str(result)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                received_at = self._now()
                if isinstance(frame, bytes):
                    try:
                        frame = frame.decode("utf-8")
                    except UnicodeDecodeError:
                        log.warning("relay sent a binary frame that is not UTF-8; skipped")
                        continue
                if self._pending:
                    self._resolve(frame)
                self._push(ReceivedMessage(text=frame, received_at=received_at))
        except websockets.ConnectionClosed as exc:
            log.warning("relay connection closed: %s", _describe(exc))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
