"""The ingest service: hosts one venue stream and publishes what it yields.

The stream (``UNRIP_INGEST_VENUE`` / ``UNRIP_INGEST_STREAM``) comes from the venue's plug-in:
live from the venue or replayed from a recording. Every accepted message is published as its
raw event (the venue's truth, exact text, replayable) and the venue-independent events derived
from it; a rejected one goes to the DLQ of its raw topic with the reason (``ingest.records``).
Sends are pipelined; a failed delivery stops the service rather than be dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter as CounterOf
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge

from unrip.ingest.records import accepted, rejected
from unrip.ingest.settings import IngestSettings
from unrip.runtime.kafka import Publisher, make_producer
from unrip.runtime.service import Service, sleep_unless_stopped
from unrip.runtime.streams import cancel_and_wait, until
from unrip.venues import registry
from unrip.venues.feed import FileFeed
from unrip.venues.plugin import VenueConfigError
from unrip.venues.sources import MessageSource, NormalizeError, ReceivedMessage, Stream

log = logging.getLogger(__name__)

MESSAGES = Counter("unrip_ingest_messages_total", "Venue messages by outcome", ["outcome"])
FEED_FINISHED = Gauge("unrip_ingest_feed_finished", "1 once a (non-looping) feed file is done")
SOURCE_CONNECTED = Gauge(
    "unrip_ingest_source_connected",
    "1 while the venue source can deliver messages (the relay is subscribed)",
    ["venue", "stream"],
)
CONNECTED = "source connected"


class IngestService(Service):
    name = "ingest"

    def __init__(self, settings: IngestSettings) -> None:
        super().__init__(settings)
        self.settings: IngestSettings = settings
        self.venue = registry.load(settings.ingest_venue)
        self.stream: Stream = self.venue.stream(settings.ingest_stream)
        self.normalize = self.stream.normalizer()
        self.feed_path: Path | None = None
        # For /status: the open source, messages by outcome, when the last one arrived.
        self.source: MessageSource | None = None
        self.counts: CounterOf[str] = CounterOf()
        self.last_message_at: datetime | None = None
        self.feed_finished = False
        if settings.ingest_source == "file":
            self.feed_path = settings.ingest_feed_path or self.stream.recorded_feed
            if self.feed_path is None:
                raise VenueConfigError(
                    f"UNRIP_INGEST_FEED_PATH: venue {self.venue.name!r} ships no recording of "
                    f"stream {self.stream.name!r}; name a feed file"
                )
            if not self.feed_path.is_file():
                raise VenueConfigError(f"UNRIP_INGEST_FEED_PATH: no feed file at {self.feed_path}")

    def _open(self) -> MessageSource:
        if self.feed_path is None:
            return self.stream.open_live()
        s = self.settings
        return FileFeed(
            self.feed_path,
            pace=s.ingest_feed_pace,
            speed=s.ingest_feed_speed,
            loop=s.ingest_feed_loop,
            relabel=self.stream.relabel,
        )

    async def run(self, stop: asyncio.Event) -> None:
        self.health.wait_for(CONNECTED)
        async with contextlib.AsyncExitStack() as stack:
            producer = make_producer(self.settings, "ingest")
            await producer.start()
            stack.push_async_callback(producer.stop)
            publisher = Publisher(producer, self.settings.ingest_max_in_flight)
            source = self.source = await stack.enter_async_context(self._open())
            watcher = asyncio.create_task(self._watch(source, stop), name="source-watch")
            stack.push_async_callback(cancel_and_wait, watcher)
            self.health.started()
            log.info(
                "ingesting",
                extra={
                    "venue": self.venue.name,
                    "stream": self.stream.name,
                    "source": self.settings.ingest_source,
                    "feed": str(self.feed_path) if self.feed_path else None,
                },
            )
            async for message in until(stop, aiter(source)):
                await self._ingest(publisher, message)
            await publisher.flush()
            if self.feed_path is not None and not stop.is_set():
                FEED_FINISHED.set(1)
                self.feed_finished = True
                log.info("feed finished; waiting for stop")
                await stop.wait()

    async def _watch(self, source: MessageSource, stop: asyncio.Event) -> None:
        """Readiness follows the source: a disconnected ingest is alive but not ready."""
        gauge = SOURCE_CONNECTED.labels(self.venue.name, self.stream.name)
        while not stop.is_set():
            if source.connected:
                self.health.satisfied(CONNECTED)
            else:
                self.health.wait_for(CONNECTED)
            gauge.set(1 if source.connected else 0)
            await sleep_unless_stopped(stop, 0.5)

    def status(self) -> dict[str, Any]:
        return {
            "venue": self.venue.name,
            "stream": self.stream.name,
            "source": self.settings.ingest_source,
            "feed": str(self.feed_path) if self.feed_path else None,
            "connected": bool(self.source is not None and self.source.connected),
            "feed_finished": self.feed_finished,
            "messages": dict(sorted(self.counts.items())),
            "last_message_at": self.last_message_at.isoformat() if self.last_message_at else None,
        }

    async def _ingest(self, publisher: Publisher, message: ReceivedMessage) -> None:
        venue, raw_topic = self.venue.name, self.stream.raw_topic
        self.last_message_at = datetime.now(UTC)
        try:
            normalized = self.normalize(message, source=self.settings.ingest_source)
        except NormalizeError as exc:
            MESSAGES.labels("rejected").inc()
            self.counts["rejected"] += 1
            await publisher.send(rejected(exc, message, venue=venue, raw_topic=raw_topic))
            return
        except Exception as exc:  # a normaliser bug met by one frame: its dead letter, no crash
            MESSAGES.labels("rejected").inc()
            log.error("normaliser failed on a frame; dead-lettering it", exc_info=exc)
            error = NormalizeError("normalizer_error", f"{type(exc).__name__}: {exc}")
            await publisher.send(rejected(error, message, venue=venue, raw_topic=raw_topic))
            return
        if normalized is None:
            MESSAGES.labels("ignored").inc()  # acks, pings, statuses: not events
            self.counts["ignored"] += 1
            return
        for record in accepted(normalized, message, venue=venue, raw_topic=raw_topic):
            await publisher.send(record)
        MESSAGES.labels("accepted").inc()
        self.counts["accepted"] += 1
