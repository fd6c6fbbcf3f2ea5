"""One strategy over recorded demands, on a simulated clock: the reactor's decision code and
risk state, the paper venue's book, the executor's PnL.

The clock is the recording's: each demand is decided at the moment it reached the bus
(its ``ingested_at``), and its order reaches the paper book then too, so a run depends only
on the archive and the strategy; the same input gives the same command ids, byte for byte.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from unrip.contracts import ContractError, ReferencePriceV1, SwapDemandV1, decode
from unrip.executor.plan import order_for
from unrip.executor.results import realised_pnl
from unrip.reactor.decision import Market, Skip, Trade, decide
from unrip.reactor.market import PriceBook
from unrip.reactor.positions import Positions
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import AssetPrice, Strategy
from unrip.topics import NORM_REFERENCE_PRICE, NORM_SWAP_DEMAND, demand_key
from unrip.venues.base import OrderStatus
from unrip.venues.paper.book import PaperBook

from unrip_dev.archive import ArchivedRecord

# Skips that are the risk limits refusing a trade (the others are about the demand itself).
RISK_TRIPS = frozenset({"kill_switch", "max_notional", "max_open_exposure", "daily_loss_limit"})


@dataclass
class BacktestRun:
    strategy_id: str
    demands: int = 0
    unreadable: int = 0
    command_ids: list[str] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    pnl_usd: Decimal = Decimal(0)
    notional_usd: Decimal = Decimal(0)
    pnl_curve: list[tuple[datetime, Decimal]] = field(default_factory=list)

    @property
    def fill_rate(self) -> float | None:
        results = sum(self.statuses.values())
        return self.statuses["filled"] / results if results else None

    def summary(self) -> dict[str, Any]:
        return {
            "strategy_id": self.strategy_id,
            "demands": self.demands,
            "unreadable_demands": self.unreadable,
            "commands": len(self.command_ids),
            "skips": sum(self.skip_reasons.values()),
            "skip_reasons": dict(sorted(self.skip_reasons.items())),
            "risk_trips": sum(n for r, n in self.skip_reasons.items() if r in RISK_TRIPS),
            "results": sum(self.statuses.values()),
            "results_by_status": dict(sorted(self.statuses.items())),
            "fill_rate": None if self.fill_rate is None else round(self.fill_rate, 4),
            "pnl_usd": str(self.pnl_usd),
            "notional_usd": str(self.notional_usd),
        }


def run_backtest(
    records: Sequence[ArchivedRecord], strategy: Strategy, *, fill_probability: float = 0.85
) -> BacktestRun:
    """Decide every recorded demand once, in recorded order, and settle trades on a fresh book."""
    run = BacktestRun(strategy.strategy_id)
    book = PaperBook(":memory:", fill_probability=fill_probability)
    risk: RiskState | None = None
    market: Market | None = None
    bus_prices = PriceBook()  # the archive's reference prices, as the reactor follows them
    try:
        for record in records:
            if record.topic == NORM_REFERENCE_PRICE:
                _follow_price(bus_prices, record)
                continue
            if record.topic != NORM_SWAP_DEMAND:
                continue
            try:
                demand = decode(record.value, record.headers, accept=(SwapDemandV1,))
            except ContractError:
                run.unreadable += 1
                continue
            payload: SwapDemandV1 = demand.payload
            now = demand.ingested_at
            if risk is None:
                risk = RiskState(day=now.date())
            if market is None:
                market = (
                    Market.static(strategy, now)
                    if strategy.prices.source == "static"
                    else Market(bus_prices, Positions(day=now.date()))
                )
            risk.roll(now)
            key = demand_key(demand.venue, payload.quote_id)
            if key in risk.decided:
                continue  # a redelivered demand: the reactor decides each once
            run.demands += 1
            decision = decide(
                payload,
                venue=demand.venue,
                demand_observed_at=demand.observed_at,
                strategy=strategy,
                risk=risk,
                market=market,
                now=now,
            )
            if isinstance(decision, Skip):
                risk.record_skip(key)
                run.skip_reasons[decision.reason.value] += 1
                continue
            assert isinstance(decision, Trade)
            command = decision.command
            risk.record_command(key, command.command_id, command.notional_usd)
            run.command_ids.append(command.command_id)
            (outcome,) = book.submit([order_for(command)], now)
            pnl = realised_pnl(command, outcome.amount_in, outcome.amount_out)
            if outcome.status is OrderStatus.FILLED:
                run.notional_usd += command.notional_usd
            run.statuses[outcome.status.value] += 1
            run.pnl_usd += pnl
            run.pnl_curve.append((outcome.executed_at, run.pnl_usd))
            risk.record_result(command.command_id, pnl, outcome.executed_at)
    finally:
        book.close()
    return run


def _follow_price(prices: PriceBook, record: ArchivedRecord) -> None:
    """Keep the latest reference price per asset, as the reactor's price follower does."""
    try:
        envelope = decode(record.value, record.headers, accept=(ReferencePriceV1,))
    except ContractError:
        return
    price: ReferencePriceV1 = envelope.payload
    asset = AssetPrice(symbol=price.symbol, decimals=price.decimals, usd_price=price.usd_price)
    prices.update(price.asset_id, asset, envelope.observed_at)
