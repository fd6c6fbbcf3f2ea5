"""The reactor's decision: pure (no I/O, no clock reads), so it is unit-tested and benchmarked.

Checks run in a fixed order and the first failing one names the skip reason; docs/reactor.md
lists them. Risk state is read here and updated by the caller once the output is published.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from unrip.reactor.pricing import price_quote
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
    now: datetime,
) -> Decision:
    limits = strategy.limits
    if limits.kill_switch:
        return Skip(SkipReason.KILL_SWITCH, "kill switch is on")
    if now >= demand.deadline:
        late_ms = (now - demand.deadline).total_seconds() * 1000
        return Skip(SkipReason.EXPIRED, f"deadline passed {late_ms:.0f} ms before the decision")
    if demand.min_deadline_ms > strategy.max_quote_validity_ms:
        return Skip(
            SkipReason.QUOTE_VALIDITY_TOO_LONG,
            f"requester asks for {demand.min_deadline_ms} ms of validity, "
            f"above the {strategy.max_quote_validity_ms} ms maximum",
        )
    asset_in = strategy.assets.get(demand.asset_in)
    asset_out = strategy.assets.get(demand.asset_out)
    if asset_in is None or asset_out is None:
        missing = demand.asset_in if asset_in is None else demand.asset_out
        return Skip(SkipReason.UNPRICED_ASSET, f"no reference price for {missing}")
    quote = price_quote(demand, asset_in, asset_out, strategy.spread_bps)
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
            pricing=_pricing(asset_in, asset_out, strategy.spread_bps),
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
