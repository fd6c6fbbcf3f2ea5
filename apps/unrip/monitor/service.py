"""The monitor service: consumes every stage's topic and serves /stats and Prometheus metrics.

Its counts, fill rate and PnL survive a restart: every ``monitor_state_interval_s`` (and when
it stops or loses partitions) it writes them to the compacted ``state.monitor`` with the next
offset of every partition they cover, acknowledged before the offsets are committed. A
restarted monitor loads the latest one and seeks each partition to its offset, so it neither
counts a record twice nor misses one, whatever the group had committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from aiokafka.structs import ConsumerRecord, TopicPartition
from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram
from pydantic import Field

from unrip.contracts import (
    ContractError,
    ExecuteTradeV1,
    MonitorStateV1,
    ReactorSkipV1,
    SwapDemandV1,
    TradeResultV1,
    decode,
    make_envelope,
    utc_now,
)
from unrip.monitor.stats import PipelineStats
from unrip.runtime.consumer import Batch, ConsumerLoop
from unrip.runtime.dlq import failed_record
from unrip.runtime.kafka import Outgoing, make_consumer, make_producer, publish_all
from unrip.runtime.replay import read_to_end
from unrip.runtime.service import Service
from unrip.runtime.settings import ServiceSettings
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    CMD_EXECUTE_TRADE,
    DLQ_TOPICS,
    EXEC_TRADE_RESULT,
    NORM_SWAP_DEMAND,
    STATE_MONITOR,
    demand_key,
)

log = logging.getLogger(__name__)

RESULTS = Counter("unrip_monitor_results_total", "Distinct trade results", ["status"])
PNL = Gauge("unrip_monitor_pnl_usd", "Realised PnL of all results counted (across restarts)")
LATENCY = Histogram(
    "unrip_monitor_end_to_end_seconds",
    "From a demand being observed to its result reaching the monitor",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
)
FILL_RATE = Gauge("unrip_monitor_fill_rate", "Filled results / all results")


class MonitorSettings(ServiceSettings):
    monitor_group_id: str = "monitor"
    # The monitor watches; it is on no trade's path, so it fetches less often than the
    # trading consumers (UNRIP_KAFKA_FETCH_MAX_WAIT_MS): a broker pays for every fetch, and
    # an idle one that waits 10 ms costs as much as one that returns records
    # (docs/benchmarks.md). On a broker that answers as soon as records arrive (Kafka,
    # Redpanda) this bounds only idle polls; Tansu answers at the end of the wait, so its
    # end-to-end histogram reads up to this much late there.
    monitor_fetch_max_wait_ms: int = Field(default=100, ge=0)
    # How often the counts are written to state.monitor (a restart recounts nothing).
    monitor_state_interval_s: float = Field(default=5.0, gt=0)
    # De-duplication windows (unrip.runtime.window): five of them, ~250 B a key, so the default
    # 100k keys each is ~125 MiB at most of the manifest's 256 Mi; an hour is far more than
    # any redelivery needs.
    monitor_window_s: float = Field(default=3600.0, gt=0)
    monitor_window_keys: int = Field(default=100_000, ge=1)


class MonitorService(Service):
    name = "monitor"

    def __init__(self, settings: MonitorSettings) -> None:
        super().__init__(settings)
        self.settings: MonitorSettings = settings
        self.stats = PipelineStats(
            window_s=settings.monitor_window_s, window_keys=settings.monitor_window_keys
        )
        self.consumer_loop: ConsumerLoop | None = None
        self._resume: dict[str, int] = {}  # "topic:partition" -> offset, from state.monitor
        self._positions: dict[str, int] = {}  # next offset the counts cover
        self._last_state = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        self.producer = make_producer(self.settings, "monitor")
        consumer = make_consumer(
            self.settings,
            "monitor",
            self.settings.monitor_group_id,
            fetch_max_wait_ms=self.settings.monitor_fetch_max_wait_ms,
        )
        self._consumer = consumer
        await self.producer.start()
        try:
            await self._load_state()
            await consumer.start()
            self.health.started()
            topics = [
                NORM_SWAP_DEMAND,
                CMD_EXECUTE_TRADE,
                AUDIT_REACTOR_SKIP,
                EXEC_TRADE_RESULT,
                *DLQ_TOPICS,
            ]
            self.consumer_loop = ConsumerLoop(
                consumer,
                topics,
                self,
                self.health,
                commit_interval_ms=self.settings.kafka_commit_interval_ms,
            )
            await self.consumer_loop.run(stop)
            await self._save_state()
        finally:
            await consumer.stop()
            await self.producer.stop()

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/stats")
        async def stats() -> dict[str, Any]:
            return self.stats.snapshot()

    def status(self) -> dict[str, Any]:
        stats = self.stats.snapshot()
        loop = self.consumer_loop
        return {
            "pipeline": {
                key: stats[key]
                for key in (
                    "demands",
                    "commands",
                    "skips",
                    "results",
                    "awaiting_result",
                    "fill_rate",
                    "pnl_usd",
                    "dead_letters",
                    "dead_letters_total",
                )
            },
            "consumer": {
                "group": self.settings.monitor_group_id,
                **(loop.status() if loop else {}),
            },
        }

    async def _load_state(self) -> None:
        """The latest counts this group saved, and where they end (nothing saved: zeros)."""
        latest: MonitorStateV1 | None = None
        async for record in read_to_end(
            self.settings.kafka_bootstrap_servers,
            [STATE_MONITOR],
            client_id=f"unrip-monitor-state-{self.settings.instance_id}",
        ):
            try:
                state = decode(record.value, record.headers, accept=(MonitorStateV1,)).payload
            except ContractError as exc:
                log.error("unreadable monitor state skipped", extra={"reason_code": exc.code})
                continue
            if state.group_id == self.settings.monitor_group_id:
                latest = state
        if latest is None:
            return
        self.stats.load_state(latest.stats)
        self._resume = dict(latest.offsets)
        self._positions = dict(latest.offsets)
        self._update_gauges()
        log.info("monitor state loaded", extra={"counts": latest.stats.get("counts")})

    async def _save_state(self) -> None:
        state = MonitorStateV1(
            group_id=self.settings.monitor_group_id,
            stats=self.stats.to_state(),
            offsets=dict(self._positions),
        )
        envelope = make_envelope(state, venue="unrip", observed_at=utc_now())
        await publish_all(
            self.producer, [Outgoing(STATE_MONITOR, self.settings.monitor_group_id, envelope)]
        )
        self._last_state = time.monotonic()

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        # Resume where the saved counts end, not where the group committed.
        consumer = self._consumer
        for tp in partitions:
            offset = self._resume.pop(f"{tp.topic}:{tp.partition}", None)
            if offset is not None:
                consumer.seek(tp, offset)

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        await self._save_state()

    async def handle(self, batch: Batch) -> None:
        now = utc_now()
        rejects = []
        for tp, records in batch.items():
            self._positions[f"{tp.topic}:{tp.partition}"] = records[-1].offset + 1
            for record in records:
                if tp.topic.startswith("dlq."):
                    self.stats.dead_letter(tp.topic)
                    continue
                try:
                    self._observe(record, now)
                except Exception as exc:  # one bad record is a dead letter, never a crash
                    # Only results are the monitor's own input; the other stages' consumers
                    # dead-letter their topics' bad records themselves.
                    if tp.topic == EXEC_TRADE_RESULT or not isinstance(exc, ContractError):
                        rejects.append(failed_record(record, exc, consumer="monitor"))
        await publish_all(self.producer, rejects)
        if time.monotonic() - self._last_state >= self.settings.monitor_state_interval_s:
            await self._save_state()  # acknowledged before these offsets are committed

    def _observe(self, record: ConsumerRecord, now: datetime) -> None:
        envelope = decode(record.value, record.headers)
        payload = envelope.payload
        if isinstance(payload, SwapDemandV1):
            self.stats.demand(demand_key(envelope.venue, payload.quote_id))
        elif isinstance(payload, ExecuteTradeV1):
            self.stats.command(demand_key(envelope.venue, payload.quote_id), payload.command_id)
        elif isinstance(payload, ReactorSkipV1):
            self.stats.skip(demand_key(envelope.venue, payload.quote_id), payload.reason.value)
        elif isinstance(payload, TradeResultV1):
            latency_ms = (now - payload.demand_observed_at).total_seconds() * 1000
            counted = self.stats.result(
                payload.command_id,
                payload.status.value,
                payload.pnl_usd,
                payload.notional_usd,
                latency_ms,
                payload.reconciled,
            )
            if counted:
                RESULTS.labels(payload.status.value).inc()
                LATENCY.observe(latency_ms / 1000)
                self._update_gauges()

    def _update_gauges(self) -> None:
        PNL.set(float(self.stats.pnl_usd))
        FILL_RATE.set(self.stats.fill_rate or 0.0)
