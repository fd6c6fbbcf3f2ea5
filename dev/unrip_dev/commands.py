"""Synthetic execute-trade commands for the chaos run and the benchmarks (valid, deterministic)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from unrip.contracts import (
    Envelope,
    ExecuteTradeV1,
    LimitsApplied,
    Pricing,
    SwapKind,
    make_envelope,
)
from unrip.contracts.ids import client_order_id_for, command_id_for

WNEAR = "nep141:wrap.near"
USDT = "nep141:usdt.tether-token.near"


def synthetic_command(
    n: int,
    *,
    now: datetime,
    deadline: timedelta,
    run_id: str,
    venue: str = "near_intents",
    quote_validity_ms: int = 60_000,
) -> Envelope[ExecuteTradeV1]:
    """Command number ``n`` of a run: 1-50 wNEAR for USDT at 2.50 USD less 30 bps."""
    quote_id = f"{run_id}-{n}"
    command_id = command_id_for(venue, quote_id, "chaos")
    near = 1 + n % 50
    usdt_out = near * 2_492_500  # 2.4925 USDT per wNEAR, base units (6 decimals)
    command = ExecuteTradeV1(
        command_id=command_id,
        client_order_id=client_order_id_for(command_id),
        strategy_id="chaos",
        quote_id=quote_id,
        kind=SwapKind.EXACT_IN,
        asset_in=WNEAR,
        asset_out=USDT,
        amount_in=near * 10**24,
        amount_out=usdt_out,
        notional_usd=Decimal(usdt_out) / 10**6,
        expected_pnl_usd=Decimal(near) * Decimal("0.0075"),
        deadline=now + deadline,
        quote_validity_ms=quote_validity_ms,
        demand_observed_at=now,
        pricing=Pricing(
            price_in_usd=Decimal("2.50"),
            price_out_usd=Decimal("1.00"),
            decimals_in=24,
            decimals_out=6,
            spread_bps=30,
        ),
        limits=LimitsApplied(
            max_notional_usd=Decimal(25000),
            max_open_exposure_usd=Decimal(250000),
            daily_loss_limit_usd=Decimal(5000),
            open_exposure_usd_before=Decimal(0),
            daily_pnl_usd_before=Decimal(0),
            kill_switch=False,
        ),
    )
    return make_envelope(command, venue=venue, observed_at=now, correlation_id=quote_id)
