"""The reactor service: demands in, commands or skips out, risk state kept across restarts.

Prices come from ``norm.reference_price`` (``price_feed``, every partition, outside the
group) or, as a paper/test option, from the strategy. Results move inventory and PnL
(``positions``); the daily loss limit and the circuit breakers (``guards``) trip on them and
on price moves, and every trip is published on ``audit.risk_trip``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Any

from aiokafka.structs import ConsumerRecord, TopicPartition
from prometheus_client import Counter, Gauge
from pydantic import Field

from unrip.contracts import (
    ContractError,
    Envelope,
    ExecuteTradeV1,
    ReactorSkipV1,
    ReferencePriceV1,
    RiskTripV1,
    SwapDemandV1,
    TradeResultV1,
    TradeStatus,
    decode,
    make_envelope,
    utc_now,
)
from unrip.contracts.envelope import P
from unrip.reactor import price_feed, snapshot, status
from unrip.reactor.configmap import (
    InClusterConfigMapReader,
    StrategyConfigMap,
    service_account_namespace,
)
from unrip.reactor.decision import Market, Skip, Trade
from unrip.reactor.guards import RiskGuard
from unrip.reactor.market import PriceBook
from unrip.reactor.models import model_for
from unrip.reactor.positions import Positions, fill_pnl_usd, legs
from unrip.reactor.risk import RiskState
from unrip.reactor.settled import SettledWindow
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, AssetPrice, Strategy, StrategyFile
from unrip.runtime.consumer import Batch, ConsumerLoop
from unrip.runtime.dlq import failed_record
from unrip.runtime.kafka import Outgoing, make_consumer, make_producer, publish_all
from unrip.runtime.replay import read_to_end
from unrip.runtime.service import Service
from unrip.runtime.settings import CommandSigningSettings
from unrip.runtime.window import KeyWindow
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    AUDIT_RISK_TRIP,
    CMD_EXECUTE_TRADE,
    EXEC_TRADE_RESULT,
    NORM_SWAP_DEMAND,
    STATE_REACTOR,
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
STRATEGY_STALE = Gauge(
    "unrip_reactor_strategy_stale",
    "1 while the strategy ConfigMap is older than its max staleness (kill switch forced)",
)
DAILY_LOSS_LIMIT = Gauge(
    "unrip_reactor_daily_loss_limit_usd", "The strategy's daily_loss_limit_usd in force"
)
CONFIG_RELOADS = Counter("unrip_reactor_strategy_reloads_total", "Strategy reloads applied")
RISK_TRIPS = Counter("unrip_reactor_risk_trips_total", "Risk limits tripped", ["limit"])
INVENTORY_NOTIONAL = Gauge(
    "unrip_reactor_inventory_notional_usd", "Sum of |inventory - start| at the latest prices"
)
PAST_WINDOW = Counter(
    "unrip_reactor_results_past_window_total",
    "Results dated before the settled window whose command was not pending: not counted",
)
SETTLED_HELD = Gauge("unrip_reactor_settled_ids", "Result ids held in the settled window")
PRICES_HELD = Gauge("unrip_reactor_reference_prices", "Assets with a reference price")


class ReactorSettings(CommandSigningSettings):
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
    # Commands and skips are read back this far at start-up (results: all retained), which
    # bounds the rebuild by a window instead of the day so far: it must cover the decided
    # window, and commands older than this without a result are past any deadline.
    reactor_rebuild_lookback_s: int = Field(default=3600, ge=0)
    # Prices are read from this long before the start (the latest per asset survives
    # compaction; anything older than the staleness bound cannot be quoted from anyway).
    reactor_price_lookback_s: int = Field(default=900, ge=0)
    # The de-duplication window of decided demands (unrip.runtime.window): a key is kept this
    # long, and at most this many (~250 B each: 200k is ~50 MiB of the 384 Mi limit). Demand
    # deadlines are seconds, so an hour is far more than a redelivery can need.
    reactor_decided_window_s: float = Field(default=3600.0, gt=0)
    reactor_decided_max_keys: int = Field(default=200_000, ge=1)
    # Results counted (unrip.reactor.settled): ids kept per partition for this long after the
    # newest result there, at most this many (~250 B each, held twice: ~50 MiB at the bound).
    # An hour at 20 results/s is 72,000; past it, a result counts only through its reservation.
    reactor_settled_window_s: float = Field(default=3600.0, gt=0)
    reactor_settled_max_keys: int = Field(default=100_000, ge=1)
    # How often the inventory snapshot is written to state.reactor (unrip.reactor.snapshot).
    reactor_state_interval_s: float = Field(default=10.0, gt=0)


class ReactorService(Service):
    name = "reactor"

    def __init__(self, settings: ReactorSettings) -> None:
        super().__init__(settings)
        self.settings: ReactorSettings = settings
        self.signer = settings.command_signer()
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
        # The one clock the decisions read: replay and backtests set a simulated one.
        self.clock: Callable[[], datetime] = utc_now
        now = self.clock()
        self.risk = RiskState(
            day=now.date(),
            decided=KeyWindow(
                ttl_s=settings.reactor_decided_window_s,
                max_keys=settings.reactor_decided_max_keys,
            ),
            settled=self._settled_window(),
        )
        self.bus_prices = PriceBook()
        positions = Positions(day=now.date(), settled=self._settled_window())
        self.market = Market(self.bus_prices, positions, RiskGuard())
        self._priced_by: Strategy | None = None
        self._trips: list[Outgoing] = []
        self.consumer_loop: ConsumerLoop | None = None
        # Per results partition, the next offset the state holds (rebuild and live): what the
        # snapshot covers, and what a live record below it already was (skipped, not refolded).
        self._covered: dict[int, int] = {}
        self._last_state = monotonic()
        # Read on every scrape: the ConfigMap poller flips it even when no batch arrives.
        STRATEGY_STALE.set_function(lambda: 1.0 if self.strategy_stale else 0.0)

    def _settled_window(self) -> SettledWindow:
        return SettledWindow(
            window_s=self.settings.reactor_settled_window_s,
            max_keys=self.settings.reactor_settled_max_keys,
        )

    async def run(self, stop: asyncio.Event) -> None:
        # aiokafka clients bind to the running loop, so they are made here, not in __init__.
        self.producer = make_producer(self.settings, "reactor")
        consumer = make_consumer(self.settings, "reactor", self.settings.reactor_group_id)
        prices = make_consumer(self.settings, "reactor-prices", None, fetch_max_wait_ms=100)
        poller: asyncio.Task[None] | None = None
        follower: asyncio.Task[None] | None = None
        if self.configmap is not None:
            # No last good strategy yet: an unreadable or invalid ConfigMap stops the start.
            await self.configmap.start()
        await self.producer.start()
        try:
            if self.configmap is not None:
                poller = asyncio.create_task(self.configmap.poll(stop), name="strategy-configmap")
            await prices.start()
            lookback_ms = self.settings.reactor_price_lookback_s * 1000
            since_ms = int(utc_now().timestamp() * 1000) - lookback_ms
            partitions = await price_feed.assign_from(prices, since_ms)
            await self.rebuild(utc_now())
            # Every price already on the bus is known before the first decision.
            known = await price_feed.catch_up_prices(prices, partitions, self._on_price)
            log.info(
                "reference prices read", extra={"events": known, "assets": len(self.bus_prices)}
            )
            follower = asyncio.create_task(
                price_feed.follow(prices, self._on_price, self._publish_trips, stop),
                name="reference-prices",
            )
            follower.add_done_callback(lambda task: _stop_on_failure(task, stop))
            await consumer.start()
            self.health.started()
            self.consumer_loop = ConsumerLoop(
                consumer,
                [NORM_SWAP_DEMAND, EXEC_TRADE_RESULT],
                self,
                self.health,
                commit_interval_ms=self.settings.kafka_commit_interval_ms,
            )
            await self.consumer_loop.run(stop)
            await self._save_state()
        finally:
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
            await prices.stop()
            await consumer.stop()
            await self.producer.stop()
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            if self.configmap is not None:
                await self.configmap.reader.aclose()

    async def rebuild(self, now: datetime) -> dict[str, int]:
        """Fold recent decisions, every retained result and today's trips into the risk state.

        Commands and skips come first, so every command of the lookback is pending before any
        result is read: a result then finds its reservation even when its id has left the
        settled window (unrip.reactor.settled), and a copy of one cannot count twice. With a
        snapshot (unrip.reactor.snapshot) only the results of the lookback and those after
        the snapshot are read; results dated before the lookback then count only through a
        reservation. Returns the records folded per topic.
        """
        midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
        async for record in read_to_end(
            self.settings.kafka_bootstrap_servers,
            [AUDIT_RISK_TRIP],
            since_ms=int(midnight.timestamp() * 1000),
            client_id=f"unrip-reactor-trips-{self.settings.instance_id}",
        ):
            try:
                trip = decode(record.value, record.headers, accept=(RiskTripV1,))
            except ContractError:
                continue
            self.market.guard.restore_trip(trip.payload, trip.observed_at, now)
        since = now - timedelta(seconds=self.settings.reactor_rebuild_lookback_s)
        counts = {CMD_EXECUTE_TRADE: 0, AUDIT_REACTOR_SKIP: 0, EXEC_TRADE_RESULT: 0}
        async for record in read_to_end(
            self.settings.kafka_bootstrap_servers,
            [CMD_EXECUTE_TRADE, AUDIT_REACTOR_SKIP],
            since_ms=int(since.timestamp() * 1000),
            client_id=f"unrip-reactor-rebuild-{self.settings.instance_id}",
        ):
            try:
                envelope = decode(record.value, record.headers, accept=_REBUILD_TYPES)
            except ContractError:
                continue  # the consumers of those topics dead-letter it; state ignores it
            self._fold(envelope, record.partition)
            counts[record.topic] += 1
        # Inventory is every fill since the start balances: the snapshot's, then every result
        # after the offsets it covers; without one, every retained result.
        saved = await snapshot.load(
            self.settings.kafka_bootstrap_servers,
            self.settings.reactor_group_id,
            client_id=f"unrip-reactor-state-{self.settings.instance_id}",
        )
        covered: dict[int, int] = {}
        if saved is not None:
            covered = snapshot.restore(self.market.positions, saved.payload, now)
            # Dated before both the snapshot and the lookback, and not re-read into the window:
            # a copy of a result the snapshot holds, unless its reservation is still pending.
            self._close_settled_before(min(since, saved.observed_at))
        results_since = since - _CLOCK_SKEW  # every result dated in the lookback is re-read
        async for record in read_to_end(
            self.settings.kafka_bootstrap_servers,
            [EXEC_TRADE_RESULT],
            since_ms=int(results_since.timestamp() * 1000) if saved else None,
            no_later_than=snapshot.start_offsets(covered) if saved else None,
            client_id=f"unrip-reactor-inventory-{self.settings.instance_id}",
        ):
            p = record.partition
            self._covered[p] = max(self._covered.get(p, 0), record.offset + 1)
            try:
                result = decode(record.value, record.headers, accept=(TradeResultV1,))
            except ContractError:
                continue
            in_inventory = record.offset < covered.get(p, 0)
            self._fold(result, p)
            self._fold_result(result, p, live=False, in_inventory=in_inventory)
            counts[record.topic] += 1
        for p, offset in covered.items():
            self._covered[p] = max(self._covered.get(p, 0), offset)
        self._close_settled_before(since)
        self._update_gauges()
        log.info(
            "risk state rebuilt",
            extra={
                "since": since.isoformat(),
                "snapshot": saved is not None,
                "commands": counts[CMD_EXECUTE_TRADE],
                "skips": counts[AUDIT_REACTOR_SKIP],
                "results": counts[EXEC_TRADE_RESULT],
                "open_exposure_usd": str(self.risk.open_exposure_usd),
                "daily_pnl_usd": str(self.risk.daily_pnl_usd),
                "halted": self.market.guard.halted_at is not None,
            },
        )
        return counts

    def _close_settled_before(self, when: datetime) -> None:
        self.risk.settled.close_before(when)
        self.market.positions.settled.close_before(when)

    def _fold(self, envelope: Envelope[Any], partition: int = 0) -> None:
        payload = envelope.payload
        if isinstance(payload, ExecuteTradeV1):
            key = demand_key(envelope.venue, payload.quote_id)
            self.risk.record_command(key, payload.command_id, payload.notional_usd)
            self._reserve(payload)
        elif isinstance(payload, ReactorSkipV1):
            self.risk.record_skip(demand_key(envelope.venue, payload.quote_id))
        elif isinstance(payload, TradeResultV1):
            at = payload.executed_at or envelope.observed_at
            self.risk.record_result(payload.command_id, payload.pnl_usd, at, partition)

    def _reserve(self, command: ExecuteTradeV1) -> None:
        self.market.positions.record_command(
            command.command_id,
            command.asset_in,
            command.amount_in,
            command.asset_out,
            command.amount_out,
        )

    def _fold_result(
        self, envelope: Envelope[Any], partition: int, *, live: bool, in_inventory: bool = False
    ) -> None:
        """Apply a result to inventory; live fills also feed the losing-fills breaker."""
        result: TradeResultV1 = envelope.payload
        filled = None
        if result.status is TradeStatus.FILLED and result.amount_in and result.amount_out:
            filled = legs(result.asset_in, result.amount_in, result.asset_out, result.amount_out)
        at = result.executed_at or envelope.observed_at
        positions = self.market.positions
        ignored = positions.settled.ignored_past_window
        counted = positions.record_result(
            result.command_id, filled=filled, at=at, partition=partition, in_inventory=in_inventory
        )
        if positions.settled.ignored_past_window > ignored:
            PAST_WINDOW.inc()
            log.warning(
                "result past the settled window without a pending command: not counted",
                extra={"command_id": result.command_id, "executed_at": at.isoformat()},
            )
        if not counted or not live:
            return
        if filled is None:
            return
        value = fill_pnl_usd(filled, self.market.prices)
        if value is not None:
            positions.mark(self.market.prices)
            trip = self.market.guard.record_fill(
                self.strategy.current, value, positions.daily_pnl_usd, self.clock()
            )
            self._trip(trip)

    def _mark(self, now: datetime) -> None:
        """Revalue inventory at the latest prices; the daily loss limit trips on the result."""
        positions = self.market.positions
        positions.roll(now)
        positions.mark(self.market.prices)
        self.risk.daily_pnl_usd = positions.daily_pnl_usd
        strategy = self.strategy.current
        self.market.guard.apply_reset(strategy, positions.daily_pnl_usd)
        self._trip(self.market.guard.check_daily_loss(strategy, positions.daily_pnl_usd, now))

    def _trip(self, trip: RiskTripV1 | None) -> None:
        if trip is None:
            return
        RISK_TRIPS.labels(trip.limit.value).inc()
        log.warning("risk limit tripped", extra={"limit": trip.limit.value, "detail": trip.detail})
        envelope = make_envelope(trip, venue=self.name, observed_at=self.clock())
        self._trips.append(Outgoing(AUDIT_RISK_TRIP, trip.limit.value, envelope))

    async def _publish_trips(self) -> None:
        trips, self._trips = self._trips, []
        if trips:
            await publish_all(self.producer, trips)

    def _on_price(self, envelope: Envelope[Any]) -> None:
        price: ReferencePriceV1 = envelope.payload
        asset = AssetPrice(symbol=price.symbol, decimals=price.decimals, usd_price=price.usd_price)
        if not self.bus_prices.update(price.asset_id, asset, envelope.observed_at):
            return
        now = self.clock()
        strategy = self.strategy.current
        if strategy.prices.source == "bus":
            guard, positions = self.market.guard, self.market.positions
            self._trip(
                guard.record_price(
                    strategy,
                    price.asset_id,
                    price.usd_price,
                    envelope.observed_at,
                    positions.daily_pnl_usd,
                    now,
                )
            )
            self._mark(now)
        PRICES_HELD.set(len(self.bus_prices))

    def _sync_price_source(self) -> None:
        """Bus prices, or the strategy's static ones (re-read when the strategy changes)."""
        strategy = self.strategy.current
        if strategy is self._priced_by:
            return
        self._priced_by = strategy
        static = strategy.prices.source == "static"
        self.market.prices = PriceBook.from_strategy(strategy) if static else self.bus_prices

    async def on_assigned(self, partitions: set[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(map(str, partitions))})

    async def on_revoked(self, partitions: set[TopicPartition]) -> None:
        log.info("partitions revoked", extra={"partitions": sorted(map(str, partitions))})

    async def handle(self, batch: Batch) -> None:
        now = self.clock()
        if self.strategy.refresh():
            CONFIG_RELOADS.inc()
        self._sync_price_source()
        self.risk.roll(now)
        outgoing: list[Outgoing] = []
        demands: list[ConsumerRecord] = []
        # Results first: they free exposure for the demands in the same batch.
        for tp, records in batch.items():
            if tp.topic == NORM_SWAP_DEMAND:
                demands.extend(records)
                continue
            for record in records:
                # Below the covered offset: folded by the rebuild already (still decoded, so an
                # unreadable one is dead-lettered, which the rebuild does not do).
                folded = record.offset < self._covered.get(tp.partition, 0)
                if not folded:
                    self._covered[tp.partition] = record.offset + 1
                try:
                    envelope = decode(record.value, record.headers, accept=(TradeResultV1,))
                    if folded:
                        continue
                    self._fold(envelope, record.partition)
                    self._fold_result(envelope, record.partition, live=True)
                except Exception as exc:  # one bad record is a dead letter, never a crash
                    outgoing.append(failed_record(record, exc, consumer="reactor"))
        self._mark(now)
        outgoing.extend(self._trips)
        self._trips = []
        for record in demands:
            try:
                outgoing.extend(self._decide(record, now))
            except Exception as exc:
                outgoing.append(failed_record(record, exc, consumer="reactor"))
        await publish_all(self.producer, outgoing)
        self._update_gauges()
        if monotonic() - self._last_state >= self.settings.reactor_state_interval_s:
            await self._save_state()  # acknowledged before this batch's offsets are committed

    async def _save_state(self) -> None:
        state = snapshot.state_of(
            self.settings.reactor_group_id, self.market.positions, self._covered
        )
        envelope = make_envelope(state, venue=self.name, observed_at=utc_now())
        key = self.settings.reactor_group_id
        await publish_all(self.producer, [Outgoing(STATE_REACTOR, key, envelope)])
        self._last_state = monotonic()

    def _decide(self, record: ConsumerRecord, now: datetime) -> list[Outgoing]:
        demand = decode(record.value, record.headers, accept=(SwapDemandV1,))
        payload: SwapDemandV1 = demand.payload
        key = demand_key(demand.venue, payload.quote_id)
        if key in self.risk.decided:
            DUPLICATES.inc()
            return []
        strategy = self.strategy.current
        decision = model_for(strategy).decide(
            payload,
            venue=demand.venue,
            demand_observed_at=demand.observed_at,
            strategy=strategy,
            risk=self.risk,
            market=self.market,
            now=now,
        )
        DEMANDS.inc()
        if isinstance(decision, Trade):
            command = decision.command
            self.risk.record_command(key, command.command_id, command.notional_usd)
            self._reserve(command)
            COMMANDS.inc()
            signed = _caused_by(demand, command, now)
            return [
                Outgoing(
                    CMD_EXECUTE_TRADE,
                    command.command_id,
                    signed,
                    headers=self.signer.headers(signed),
                )
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
        limits = self.strategy.current.limits
        KILL_SWITCH.set(1 if limits.kill_switch else 0)
        DAILY_LOSS_LIMIT.set(float(limits.daily_loss_limit_usd))
        INVENTORY_NOTIONAL.set(float(self.market.positions.gross_usd))
        SETTLED_HELD.set(len(self.market.positions.settled))

    def status(self) -> dict[str, Any]:
        if self.configmap is not None and not self.configmap.loaded:
            return {"strategy": {"source": status.origin(self.strategy)}, "kill_switch": None}
        strategy = self.strategy.current
        loop = self.consumer_loop
        return {
            "kill_switch": status.kill_switch(strategy, self.strategy),
            "strategy": status.strategy_status(strategy, self.strategy),
            "risk": status.risk_status(strategy, self.risk),
            "consumer": {
                "group": self.settings.reactor_group_id,
                **(loop.status() if loop else {}),
            },
        }

    @property
    def strategy_stale(self) -> bool:
        """True while the kill switch is forced on because the strategy source is too old."""
        return self.configmap is not None and self.configmap.stale


_REBUILD_TYPES = (ExecuteTradeV1, ReactorSkipV1, TradeResultV1)
# Results are found by their record's time, dated by the executor's clock: read a little more.
_CLOCK_SKEW = timedelta(minutes=5)


def _stop_on_failure(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    # Without its price follower the reactor would only skip (stale prices): stop instead, so
    # the failure is visible and the pod is restarted.
    if not task.cancelled() and task.exception() is not None:
        log.error("reference price follower failed; stopping", exc_info=task.exception())
        stop.set()


def _caused_by(demand: Envelope[Any], payload: P, now: datetime) -> Envelope[P]:
    """An event the demand caused: same venue and correlation, the demand as its cause."""
    return make_envelope(
        payload,
        venue=demand.venue,
        observed_at=now,
        correlation_id=demand.correlation_id or demand.event_id,
        causation_id=demand.event_id,
    )
