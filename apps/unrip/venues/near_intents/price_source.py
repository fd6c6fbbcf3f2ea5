"""The live price source: 1Click's public token list (``GET /v0/tokens``), polled.

Yields each successful response body as a received message; the ingest publishes what the
price normaliser derives from it. A failed poll (network, non-2xx) is logged and retried at
the next interval: the source reports itself disconnected meanwhile (the ingest's readiness
follows it), and the reactor sees the prices age until its staleness bound skips demands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import httpx

from unrip.contracts.envelope import utc_now
from unrip.venues.sources import ReceivedMessage

log = logging.getLogger(__name__)


class TokenListPoller:
    """Async-iterable polls of a token-list URL, opened with ``async with``."""

    def __init__(self, url: str, *, interval_s: float, timeout_s: float) -> None:
        self.url = url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(
            timeout=self.timeout_s, headers={"Accept": "application/json"}
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def __aiter__(self) -> AsyncIterator[ReceivedMessage]:
        return self._poll()

    async def _poll(self) -> AsyncIterator[ReceivedMessage]:
        if self._client is None:
            raise RuntimeError("open TokenListPoller with `async with` first")
        while True:
            started = time.monotonic()
            try:
                response = await self._client.get(self.url)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                self._connected = False
                log.warning(
                    "token list poll failed", extra={"url": self.url, "error": type(exc).__name__}
                )
            else:
                self._connected = True
                yield ReceivedMessage(text=response.text, received_at=utc_now())
            # Polls start on a fixed cadence; a slow response shortens the wait, never stacks.
            await asyncio.sleep(max(self.interval_s - (time.monotonic() - started), 0.0))
