"""The reactor service: demands in, commands or skips out, risk state kept across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord, TopicPartition
from prometheus_client import Counter, Gauge
from pydantic import Field

from unrip.contracts import (
    ContractError,
    Envelope,
    ExecuteTradeV1,
    ReactorSkipV1,
    SwapDemandV1,
    TradeResultV1,
    decode,
    make_envelope,
    utc_now,
)
from unrip.contracts.envelope import P
from unrip.reactor.configmap import (
    InClusterConfigMapReader,
    StrategyConfigMap,
    service_account_namespace,
)
from unrip.reactor.decision import Skip, Trade, decide
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, StrategyFile
from unrip.runtime.consumer import Batch, ConsumerLoop
from unrip.runtime.dlq import failed_record
from unrip.runtime.kafka import Outgoing, make_consumer, make_producer, publish_all
from unrip.runtime.replay import read_to_end
from unrip.runtime.service import Service
from unrip.runtime.settings import ServiceSettings
from unrip.runtime.window import KeyWindow
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    CMD_EXECUTE_TRADE,
    EXEC_TRADE_RESULT,
    NORM_SWAP_DEMAND,
    demand_key,
)

log = logging.getLogger(__name__)

DEMANDS = Counter("unrip_reactor_demands_total", "Demands decided")
COMMANDS = Counter("unrip_reactor_commands_total", "Execute-trade commands emitted")
SKIPS = Counter("unrip_reactor_skips_total", "Demands skipped", ["reason"])
DUPLICATES = Counter("unrip_reactor_duplicate_demands_total", "Demands already decided, ignored")
OPEN_EXPOSURE = Gauge("unrip_reactor_open_exposure_usd", "Notional of commands without a result")
DAILY_PNL = Gauge("unrip_reactor_daily_pnl_usd", "Realised PnL of the current UTC day")
KILL_SWITCH = Gauge("unrip_reactor_kill_switch", "1 when the kill switch is on")
CONFIG_RELOADS = Counter("unrip_reactor_strategy_reloads_total", "Strategy reloads applied")


class ReactorSettings(ServiceSettings):
    reactor_strategy_file: Path = Field(default=DEFAULT_STRATEGY_PATH)
    # In the cluster: read the strategy from this ConfigMap through the Kubernetes API instead
    # of the file (edits apply within a second; see unrip.reactor.configmap).
    reactor_strategy_configmap: str | None = None
    reactor_strategy_configmap_key: str = "strategy.yaml"
    # Default: the pod's own namespace (from its service-account mount).
    reactor_strategy_configmap_namespace: str | None = None
    reactor_strategy_poll_interval_s: float = Field(default=1.0, gt=0)
    # Unreadable for longer than this: the kill switch is forced on (0: never).
    reactor_strategy_max_staleness_s: float = Field(default=30.0, ge=0)
    reactor_group_id: str = "reactor"
    # The risk state is rebuilt from this long before the start of the UTC day, so demands
    # decided just before midnight are still recognised as decided.
    reactor_rebuild_margin_s: int = Field(default=3600, ge=0)
    # The de-duplication window of decided demands (unrip.runtime.window): a key is kept this
    # long, and at most this many (~250 B each: 200k is ~50 MiB of the 384 Mi limit). Demand
    # deadlines are seconds, so an hour is far more than a redelivery can need.
    reactor_decided_window_s: float = Field(default=3600.0, gt=0)
    reactor_decided_max_keys: int = Field(default=200_000, ge=1)


class ReactorService(Service):
    name = "reactor"

    def __init__(self, settings: ReactorSettings) -> None:
        super().__init__(settings)
        self.settings: ReactorSettings = settings
        self.configmap: StrategyConfigMap | None = None
        self.strategy: StrategyFile | StrategyConfigMap
        if settings.reactor_strategy_configmap:
            namespace = settings.reactor_strategy_configmap_namespace or service_account_namespace()
            self.configmap = StrategyConfigMap(
                InClusterConfigMapReader(),
                namespace,
                settings.reactor_strategy_configmap,
                settings.reactor_strategy_configmap_key,
                poll_interval_s=settings.reactor_strategy_poll_interval_s,
                max_staleness_s=settings.reactor_strategy_max_staleness_s,
            )
            self.strategy = self.configmap
        else:
            self.strategy = StrategyFile(settings.reactor_strategy_file)
        self.risk = RiskState(
            day=utc_now().date(),
            decided=KeyWindow(
                ttl_s=settings.reactor_decided_window_s,
                max_keys=settings.reactor_decided_max_keys,
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        # aiokafka clients bind to the running loop, so they are made here, not in __init__.
        self.producer = make_producer(self.settings, "reactor")
        consumer = make_consumer(self.settings, "reactor", self.settings.reactor_group_id)
        poller: asyncio.Task[None] | None = None
        if self.configmap is not None:
            # No last good strategy yet: an unreadable or invalid ConfigMap stops the start.
            await self.configmap.start()
        await self.producer.start()
        try:
            if self.configmap is not None:
                poller = asyncio.create_task(self.configmap.poll(stop), name="strategy-configmap")
            await self.rebuild(utc_now())
            await consumer.start()
            self.health.started()
            loop = ConsumerLoop(
                consumer,
                [NORM_SWAP_DEMAND, EXEC_TRADE_RESULT],
                self,
                self.health,
                commit_interval_ms=self.settings.kafka_commit_interval_ms,
            )
            await loop.run(stop)
        finally:
            await consumer.stop()
            await self.producer.stop()
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            if self.configmap is not None:
                await self.configmap.reader.aclose()

    async def rebuild(self, now: datetime) -> None:
        """Fold today's commands, skips and results into the risk state."""
        midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
        since = midnight - timedelta(seconds=self.settings.reactor_rebuild_margin_s)
        counts = {CMD_EXECUTE_TRADE: 0, AUDIT_REACTOR_SKIP: 0, EXEC_TRADE_RESULT: 0}
        async for record in read_to_end(
            self.settings.kafka_bootstrap_servers,
            list(counts),
            since_ms=int(since.timestamp() * 1000),
            client_id=f"unrip-reactor-rebuild-{self.settings.instance_id}",
        ):
            try:
                envelope = decode(record.value, record.headers, accept=_REBUILD_TYPES)
            except ContractError:
                continue  # the consumers of those topics dead-letter it; state ignores it
            self._fold(envelope)
            counts[record.topic] += 1
        self._update_gauges()
        log.info(
            "risk state rebuilt",
            extra={
                "since": since.isoformat(),
                "commands": counts[CMD_EXECUTE_TRADE],
                "skips": counts[AUDIT_REACTOR_SKIP],
                "results": counts[EXEC_TRADE_RESULT],
                "open_exposure_usd": str(self.risk.open_exposure_usd),
                "daily_pnl_usd": str(self.risk.daily_pnl_usd),
            },
        )

    def _fold(self, envelope: Envelope[Any]) -> None:
        payload = envelope.payload
        if isinstance(payload, ExecuteTradeV1):
            key = demand_key(envelope.venue, payload.quote_id)
            self.risk.record_command(key, payload.command_id, payload.notional_usd)
        elif isinstance(payload, ReactorSkipV1):
            self.risk.record_skip(demand_key(envelope.venue, payload.quote_id))
        elif isinstance(payload, TradeResultV1):
            at = payload.executed_at or envelope.observed_at
            self.risk.record_result(payload.command_id, payload.pnl_usd, at)

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(map(str, partitions))})

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        log.info("partitions revoked", extra={"partitions": sorted(map(str, partitions))})

    async def handle(self, batch: Batch) -> None:
        now = utc_now()
        if self.strategy.refresh():
            CONFIG_RELOADS.inc()
        self.risk.roll(now)
        outgoing: list[Outgoing] = []
        demands: list[ConsumerRecord] = []
        # Results first: they free exposure for the demands in the same batch.
        for tp, records in batch.items():
            if tp.topic == NORM_SWAP_DEMAND:
                demands.extend(records)
                continue
            for record in records:
                try:
                    self._fold(decode(record.value, record.headers, accept=(TradeResultV1,)))
                except Exception as exc:  # one bad record is a dead letter, never a crash
                    outgoing.append(failed_record(record, exc, consumer="reactor"))
        for record in demands:
            try:
                outgoing.extend(self._decide(record, now))
            except Exception as exc:
                outgoing.append(failed_record(record, exc, consumer="reactor"))
        await publish_all(self.producer, outgoing)
        self._update_gauges()

    def _decide(self, record: ConsumerRecord, now: datetime) -> list[Outgoing]:
        demand = decode(record.value, record.headers, accept=(SwapDemandV1,))
        payload: SwapDemandV1 = demand.payload
        key = demand_key(demand.venue, payload.quote_id)
        if key in self.risk.decided:
            DUPLICATES.inc()
            return []
        strategy = self.strategy.current
        decision = decide(
            payload,
            venue=demand.venue,
            demand_observed_at=demand.observed_at,
            strategy=strategy,
            risk=self.risk,
            now=now,
        )
        DEMANDS.inc()
        if isinstance(decision, Trade):
            command = decision.command
            self.risk.record_command(key, command.command_id, command.notional_usd)
            COMMANDS.inc()
            return [
                Outgoing(CMD_EXECUTE_TRADE, command.command_id, _caused_by(demand, command, now))
            ]
        assert isinstance(decision, Skip)
        self.risk.record_skip(key)
        SKIPS.labels(decision.reason.value).inc()
        skip = ReactorSkipV1(
            quote_id=payload.quote_id,
            reason=decision.reason,
            detail=decision.detail,
            notional_usd=decision.notional_usd,
            strategy_id=strategy.strategy_id,
        )
        return [Outgoing(AUDIT_REACTOR_SKIP, key, _caused_by(demand, skip, now))]

    def _update_gauges(self) -> None:
        OPEN_EXPOSURE.set(float(self.risk.open_exposure_usd))
        DAILY_PNL.set(float(self.risk.daily_pnl_usd))
        KILL_SWITCH.set(1 if self.strategy.current.limits.kill_switch else 0)


_REBUILD_TYPES = (ExecuteTradeV1, ReactorSkipV1, TradeResultV1)


def _caused_by(demand: Envelope[Any], payload: P, now: datetime) -> Envelope[P]:
    """An event the demand caused: same venue and correlation, the demand as its cause."""
    return make_envelope(
        payload,
        venue=demand.venue,
        observed_at=now,
        correlation_id=demand.correlation_id or demand.event_id,
        causation_id=demand.event_id,
    )
