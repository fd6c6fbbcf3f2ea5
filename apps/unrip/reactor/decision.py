"""The reactor's decision: pure (no I/O, no clock reads), so it is unit-tested and benchmarked.

Checks run in a fixed order and the first failing one names the skip reason; docs/reactor.md
lists them. Risk state, prices and positions are read here and updated by the caller once
the output is published. ``decide`` is the spread model; ``unrip.reactor.models`` names it
and the others behind one protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from unrip.contracts import (
    ExecuteTradeV1,
    LimitsApplied,
    Pricing,
    SkipReason,
    SwapDemandV1,
)
from unrip.contracts.ids import client_order_id_for, command_id_for
from unrip.contracts.payloads import RiskLimit
from unrip.reactor.guards import RiskGuard
from unrip.reactor.market import PriceBook
from unrip.reactor.positions import Positions
from unrip.reactor.pricing import Quote, price_quote
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import AssetPrice, Strategy


@dataclass(frozen=True, slots=True)
class Skip:
    reason: SkipReason
    detail: str
    notional_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    command: ExecuteTradeV1


Decision = Trade | Skip


@dataclass(slots=True)
class Market:
    """What a decision reads besides the demand: prices, our positions, tripped limits."""

    prices: PriceBook
    positions: Positions
    guard: RiskGuard = field(default_factory=RiskGuard)

    @classmethod
    def static(cls, strategy: Strategy, now: datetime) -> Market:
        """The strategy's static prices, start balances, nothing tripped (paper and tests)."""
        return cls(PriceBook.from_strategy(strategy), Positions(day=now.date()))


_BLOCKED_REASON = {
    RiskLimit.DAILY_LOSS: SkipReason.DAILY_LOSS_LIMIT,
    RiskLimit.LOSING_FILLS: SkipReason.CIRCUIT_BREAKER,
    RiskLimit.PRICE_JUMP: SkipReason.CIRCUIT_BREAKER,
}


@lru_cache(maxsize=4096)
def _pricing(asset_in: AssetPrice, asset_out: AssetPrice, spread_bps: int) -> Pricing:
    """The command's pricing record, validated once per (prices, spread), not per demand.

    Keyed by the frozen price entries themselves, so a reloaded strategy with new prices gets
    new records; a command accepts the shared immutable instance without re-validating it.
    """
    return Pricing(
        price_in_usd=asset_in.usd_price,
        price_out_usd=asset_out.usd_price,
        decimals_in=asset_in.decimals,
        decimals_out=asset_out.decimals,
        spread_bps=spread_bps,
    )


def decide(
    demand: SwapDemandV1,
    *,
    venue: str,
    demand_observed_at: datetime,
    strategy: Strategy,
    risk: RiskState,
    market: Market,
    now: datetime,
    spread_bps: int | None = None,
) -> Decision:
    """The spread model: quote ``spread_bps`` (default: the strategy's) around the reference."""
    limits = strategy.limits
    if limits.kill_switch:
        return Skip(SkipReason.KILL_SWITCH, "kill switch is on")
    if now >= demand.deadline:
        late_ms = (now - demand.deadline).total_seconds() * 1000
        return Skip(SkipReason.EXPIRED, f"deadline passed {late_ms:.0f} ms before the decision")
    guard = market.guard
    if guard.halted_at is not None or guard.paused_until is not None:
        blocked = guard.blocked(now)
        if blocked is not None:
            return Skip(_BLOCKED_REASON[blocked[0]], blocked[1])
    if demand.min_deadline_ms > strategy.max_quote_validity_ms:
        return Skip(
            SkipReason.QUOTE_VALIDITY_TOO_LONG,
            f"requester asks for {demand.min_deadline_ms} ms of validity, "
            f"above the {strategy.max_quote_validity_ms} ms maximum",
        )
    config_in = strategy.assets.get(demand.asset_in)
    config_out = strategy.assets.get(demand.asset_out)
    if config_in is None or config_out is None:
        missing = demand.asset_in if config_in is None else demand.asset_out
        return Skip(SkipReason.UNPRICED_ASSET, f"{missing} is not an asset of the strategy")
    latest_in = market.prices.get(demand.asset_in)
    latest_out = market.prices.get(demand.asset_out)
    bounds = strategy.price_age_bounds
    if (
        latest_in is None
        or latest_out is None
        or now - latest_in.observed_at > bounds[demand.asset_in]
        or now - latest_out.observed_at > bounds[demand.asset_out]
    ):
        return _stale(demand, strategy, market.prices, now)
    asset_in, asset_out = latest_in.price, latest_out.price
    spread = strategy.spread_bps if spread_bps is None else spread_bps
    quote = price_quote(demand, asset_in, asset_out, spread)
    notional = quote.notional_usd
    if quote.amount_in <= 0 or quote.amount_out <= 0 or notional < strategy.min_notional_usd:
        return Skip(
            SkipReason.BELOW_MIN_NOTIONAL,
            f"notional {notional:.2f} USD below {strategy.min_notional_usd} USD",
            notional,
        )
    if notional > limits.max_notional_usd:
        return Skip(
            SkipReason.MAX_NOTIONAL,
            f"notional {notional:.2f} USD above the {limits.max_notional_usd} USD limit",
            notional,
        )
    if risk.open_exposure_usd + notional > limits.max_open_exposure_usd:
        return Skip(
            SkipReason.MAX_OPEN_EXPOSURE,
            f"open exposure {risk.open_exposure_usd:.2f} + {notional:.2f} USD would exceed "
            f"{limits.max_open_exposure_usd} USD",
            notional,
        )
    if risk.daily_pnl_usd <= -limits.daily_loss_limit_usd:
        return Skip(
            SkipReason.DAILY_LOSS_LIMIT,
            f"UTC-day PnL {risk.daily_pnl_usd:.2f} USD has reached the "
            f"-{limits.daily_loss_limit_usd} USD limit",
            notional,
        )
    inventory_skip = _inventory_check(demand, strategy, market.positions, quote)
    if inventory_skip is not None:
        return inventory_skip
    command_id = command_id_for(venue, demand.quote_id, strategy.strategy_id)
    return Trade(
        ExecuteTradeV1(
            command_id=command_id,
            client_order_id=client_order_id_for(command_id),
            strategy_id=strategy.strategy_id,
            quote_id=demand.quote_id,
            kind=demand.kind,
            asset_in=demand.asset_in,
            asset_out=demand.asset_out,
            amount_in=quote.amount_in,
            amount_out=quote.amount_out,
            notional_usd=notional,
            expected_pnl_usd=quote.expected_pnl_usd,
            deadline=demand.deadline,
            quote_validity_ms=max(strategy.quote_validity_ms, demand.min_deadline_ms),
            demand_observed_at=demand_observed_at,
            pricing=_pricing(asset_in, asset_out, spread),
            limits=LimitsApplied(
                max_notional_usd=limits.max_notional_usd,
                max_open_exposure_usd=limits.max_open_exposure_usd,
                daily_loss_limit_usd=limits.daily_loss_limit_usd,
                open_exposure_usd_before=risk.open_exposure_usd,
                daily_pnl_usd_before=risk.daily_pnl_usd,
                kill_switch=False,
            ),
        )
    )


def _stale(demand: SwapDemandV1, strategy: Strategy, prices: PriceBook, now: datetime) -> Skip:
    # Off the hot path: which leg is stale, and by how much.
    for asset_id in (demand.asset_in, demand.asset_out):
        latest = prices.get(asset_id)
        if latest is None:
            return Skip(SkipReason.STALE_PRICE, f"no reference price for {asset_id} yet")
        bound = strategy.price_age_bounds[asset_id]
        if now - latest.observed_at > bound:
            age = (now - latest.observed_at).total_seconds()
            return Skip(
                SkipReason.STALE_PRICE,
                f"reference price of {asset_id} is {age:.1f} s old "
                f"(bound {bound.total_seconds():g} s)",
            )
    raise AssertionError("_stale called with fresh prices")


def _inventory_check(
    demand: SwapDemandV1, strategy: Strategy, positions: Positions, quote: Quote
) -> Skip | None:
    """Can we give ``amount_out`` and hold ``amount_in``, and stay within total notional?"""
    out_id, in_id = demand.asset_out, demand.asset_in
    config_out, config_in = strategy.assets[out_id], strategy.assets[in_id]
    available = config_out.start_balance + positions.net[out_id] - positions.reserved_out[out_id]
    if available - quote.amount_out < config_out.min_inventory:
        return Skip(
            SkipReason.INSUFFICIENT_INVENTORY,
            f"giving {quote.amount_out} of {out_id} would leave {available - quote.amount_out} "
            f"base units, below the minimum {config_out.min_inventory}",
            quote.notional_usd,
        )
    if config_in.max_position is not None:
        held = config_in.start_balance + positions.net[in_id] + positions.pending_in[in_id]
        if held + quote.amount_in > config_in.max_position:
            return Skip(
                SkipReason.MAX_POSITION,
                f"receiving {quote.amount_in} of {in_id} would hold {held + quote.amount_in} "
                f"base units, above the maximum position {config_in.max_position}",
                quote.notional_usd,
            )
    cap = strategy.inventory_cap_usd
    if cap is not None:
        # Floats are precise enough for a risk bound and several times cheaper than Decimal.
        # A trade grows sum |net| x price by at most its two legs (value in <= 2 x value out
        # at any allowed spread): within that margin the exact change is not needed.
        notional = float(quote.notional_usd)
        gross = positions.gross_usd_float
        if gross + 3 * notional > cap:
            net_in, net_out = positions.net[in_id], positions.net[out_id]
            in_share = (abs(net_in + quote.amount_in) - abs(net_in)) / quote.amount_in
            out_share = (abs(net_out - quote.amount_out) - abs(net_out)) / quote.amount_out
            grows = in_share * float(quote.value_in_usd) + out_share * notional
            if grows > 0 and gross + grows > cap:
                return Skip(
                    SkipReason.MAX_INVENTORY_NOTIONAL,
                    f"inventory notional {gross:.2f} + {grows:.2f} USD would exceed "
                    f"{strategy.limits.max_inventory_notional_usd} USD",
                    quote.notional_usd,
                )
    return None
