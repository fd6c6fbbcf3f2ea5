"""The monitor service: consumes every stage's topic and serves /stats and Prometheus metrics."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiokafka.structs import ConsumerRecord, TopicPartition
from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram

from unrip.contracts import (
    ContractError,
    ExecuteTradeV1,
    ReactorSkipV1,
    SwapDemandV1,
    TradeResultV1,
    decode,
    utc_now,
)
from unrip.monitor.stats import PipelineStats
from unrip.runtime.consumer import Batch, ConsumerLoop
from unrip.runtime.dlq import failed_record
from unrip.runtime.kafka import make_consumer, make_producer, publish_all
from unrip.runtime.service import Service
from unrip.runtime.settings import ServiceSettings
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    CMD_EXECUTE_TRADE,
    DLQ_TOPICS,
    EXEC_TRADE_RESULT,
    NORM_SWAP_DEMAND,
    demand_key,
)

RESULTS = Counter("unrip_monitor_results_total", "Distinct trade results", ["status"])
PNL = Gauge("unrip_monitor_pnl_usd", "Realised PnL of results seen since start")
LATENCY = Histogram(
    "unrip_monitor_end_to_end_seconds",
    "From a demand being observed to its result reaching the monitor",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
)
FILL_RATE = Gauge("unrip_monitor_fill_rate", "Filled results / all results")


class MonitorSettings(ServiceSettings):
    monitor_group_id: str = "monitor"


class MonitorService(Service):
    name = "monitor"

    def __init__(self, settings: MonitorSettings) -> None:
        super().__init__(settings)
        self.settings: MonitorSettings = settings
        self.stats = PipelineStats()

    async def run(self, stop: asyncio.Event) -> None:
        self.producer = make_producer(self.settings, "monitor")
        consumer = make_consumer(self.settings, "monitor", self.settings.monitor_group_id)
        await self.producer.start()
        try:
            await consumer.start()
            self.health.started()
            topics = [
                NORM_SWAP_DEMAND,
                CMD_EXECUTE_TRADE,
                AUDIT_REACTOR_SKIP,
                EXEC_TRADE_RESULT,
                *DLQ_TOPICS,
            ]
            await ConsumerLoop(
                consumer,
                topics,
                self,
                self.health,
                commit_interval_ms=self.settings.kafka_commit_interval_ms,
            ).run(stop)
        finally:
            await consumer.stop()
            await self.producer.stop()

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/stats")
        async def stats() -> dict[str, Any]:
            return self.stats.snapshot()

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        return None

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        return None

    async def handle(self, batch: Batch) -> None:
        now = utc_now()
        rejects = []
        for tp, records in batch.items():
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
                PNL.set(float(self.stats.pnl_usd))
                FILL_RATE.set(self.stats.fill_rate or 0.0)
