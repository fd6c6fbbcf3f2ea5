"""The NEAR Intents ingest service: relay (or recorded feed) -> raw.* and norm.swap_demand.

Every quote event is published twice: exactly as received (``raw.near_intents.quote``, the
venue's truth, replayable) and normalised (``norm.swap_demand``). A quote event the normaliser
rejects goes to ``dlq.raw.near_intents.quote`` with the reason and its exact text. Sends are
pipelined; delivery failures stop the service rather than be dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from pydantic import Field

from unrip.contracts import encode, make_envelope
from unrip.contracts.ids import new_event_id
from unrip.runtime.dlq import dead_letter
from unrip.runtime.kafka import Outgoing, make_producer
from unrip.runtime.service import Service, sleep_unless_stopped
from unrip.runtime.settings import ServiceSettings
from unrip.topics import NORM_SWAP_DEMAND, RAW_NEAR_INTENTS_QUOTE, demand_key
from unrip.venues.near_intents import VENUE
from unrip.venues.near_intents.feed import FileFeed
from unrip.venues.near_intents.frames import ReceivedMessage
from unrip.venues.near_intents.normalizer import NormalizeError, normalize
from unrip.venues.near_intents.relay import Backoff, RelayClient
from unrip.venues.near_intents.settings import NearIntentsSettings

log = logging.getLogger(__name__)

SAMPLE_FEED = (
    Path(__file__).parent.parent / "venues" / "near_intents" / "data" / "sample_feed.jsonl"
)

MESSAGES = Counter("unrip_ingest_messages_total", "Venue messages by outcome", ["outcome"])
FEED_FINISHED = Gauge("unrip_ingest_feed_finished", "1 once a (non-looping) feed file is done")
RELAY_CONNECTED = Gauge("unrip_ingest_relay_connected", "1 while subscribed to the relay")


class IngestSettings(ServiceSettings):
    ingest_source: Literal["relay", "file"] = "file"
    ingest_feed_path: Path = SAMPLE_FEED
    ingest_feed_pace: Literal["recorded", "fast"] = "recorded"
    ingest_feed_speed: float = Field(default=1.0, gt=0)
    ingest_feed_loop: bool = False
    # Sends awaiting the broker's ack before the ingest waits for them (back-pressure).
    ingest_max_in_flight: int = Field(default=2000, ge=1)


class _Pipeline:
    """Pipelined sends with bounded in-flight acks; any failed delivery raises."""

    def __init__(self, producer: AIOKafkaProducer, max_in_flight: int) -> None:
        self._producer = producer
        self._max = max_in_flight
        self._pending: deque[asyncio.Future[Any]] = deque()

    async def send(self, record: Outgoing) -> None:
        value, headers = encode(record.envelope)
        key = record.key.encode() if record.key is not None else None
        self._pending.append(
            await self._producer.send(record.topic, value=value, key=key, headers=headers)
        )
        while self._pending and (self._pending[0].done() or len(self._pending) > self._max):
            await self._pending.popleft()

    async def flush(self) -> None:
        while self._pending:
            await self._pending.popleft()


class IngestService(Service):
    name = "ingest"

    def __init__(self, settings: IngestSettings, near: NearIntentsSettings | None = None) -> None:
        super().__init__(settings)
        self.settings: IngestSettings = settings
        self.near = near or NearIntentsSettings()
        if settings.ingest_source == "file" and not settings.ingest_feed_path.is_file():
            raise ValueError(f"UNRIP_INGEST_FEED_PATH: no feed file at {settings.ingest_feed_path}")

    async def run(self, stop: asyncio.Event) -> None:
        producer = make_producer(self.settings, "ingest")
        await producer.start()
        pipeline = _Pipeline(producer, self.settings.ingest_max_in_flight)
        try:
            if self.settings.ingest_source == "file":
                await self._from_file(pipeline, stop)
            else:
                await self._from_relay(pipeline, stop)
            await pipeline.flush()
        finally:
            await producer.stop()

    async def _from_file(self, pipeline: _Pipeline, stop: asyncio.Event) -> None:
        s = self.settings
        feed = FileFeed(
            s.ingest_feed_path,
            pace=s.ingest_feed_pace,
            speed=s.ingest_feed_speed,
            loop=s.ingest_feed_loop,
        )
        self.health.started()
        log.info(
            "replaying feed", extra={"path": str(s.ingest_feed_path), "pace": s.ingest_feed_pace}
        )
        async for message in _until(stop, aiter(feed)):
            await self._ingest(pipeline, message, "file")
        if not stop.is_set():
            await pipeline.flush()
            FEED_FINISHED.set(1)
            log.info("feed finished; waiting for stop")
            await stop.wait()

    async def _from_relay(self, pipeline: _Pipeline, stop: asyncio.Event) -> None:
        near = self.near
        self.health.wait_for("relay subscribed")
        client = RelayClient(
            near.relay_url,
            jwt=near.jwt,
            subscriptions=near.subscriptions,
            backoff=Backoff(initial_s=near.reconnect_initial_s, max_s=near.reconnect_max_s),
            request_timeout_s=near.request_timeout_s,
        )
        async with client:
            self.health.started()
            watcher = asyncio.create_task(self._watch_relay(client, stop))
            try:
                async for message in _until(stop, aiter(client)):
                    await self._ingest(pipeline, message, "relay")
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _watch_relay(self, client: RelayClient, stop: asyncio.Event) -> None:
        """Readiness follows the subscription: a disconnected ingest is alive but not ready."""
        while not stop.is_set():
            if client.connected:
                self.health.satisfied("relay subscribed")
            else:
                self.health.wait_for("relay subscribed")
            RELAY_CONNECTED.set(1 if client.connected else 0)
            await sleep_unless_stopped(stop, 0.5)

    async def _ingest(
        self, pipeline: _Pipeline, message: ReceivedMessage, source: Literal["relay", "file"]
    ) -> None:
        try:
            normalized = normalize(
                message.text,
                observed_at=message.received_at,
                source=source,
                response_window_ms=self.near.response_window_ms,
            )
        except NormalizeError as exc:
            MESSAGES.labels("rejected").inc()
            await pipeline.send(
                dead_letter(
                    source_topic=RAW_NEAR_INTENTS_QUOTE,
                    value=message.text.encode(),
                    reason_code=exc.code,
                    detail=exc.detail,
                    consumer="ingest",
                    venue=VENUE,
                    observed_at=message.received_at,
                )
            )
            return
        if normalized is None:
            MESSAGES.labels("ignored").inc()  # acks, pings, statuses: not quote events
            return
        # The raw event starts the lineage: everything downstream carries its id as correlation.
        origin = new_event_id()
        raw = make_envelope(
            normalized.raw,
            venue=VENUE,
            observed_at=message.received_at,
            raw=message.text,
            event_id=origin,
            correlation_id=origin,
        )
        demand = make_envelope(
            normalized.demand,
            venue=VENUE,
            observed_at=message.received_at,
            correlation_id=origin,
            causation_id=origin,
        )
        await pipeline.send(Outgoing(RAW_NEAR_INTENTS_QUOTE, normalized.quote_id, raw))
        key = demand_key(VENUE, normalized.quote_id)
        await pipeline.send(Outgoing(NORM_SWAP_DEMAND, key, demand))
        MESSAGES.labels("demand").inc()


async def _until(
    stop: asyncio.Event, source: AsyncIterator[ReceivedMessage]
) -> AsyncIterator[ReceivedMessage]:
    """Items of ``source`` until it ends or ``stop`` is set (a pending read is abandoned)."""
    stopped = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            item = asyncio.ensure_future(anext(source))
            await asyncio.wait({item, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not item.done():
                item.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await item
                return
            try:
                yield item.result()
            except StopAsyncIteration:
                return
    finally:
        stopped.cancel()
