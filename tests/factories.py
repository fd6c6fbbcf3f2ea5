"""Builders for valid events, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from unrip.contracts import (
    Envelope,
    ExecuteTradeV1,
    LimitsApplied,
    Pricing,
    SwapDemandV1,
    SwapKind,
    make_envelope,
)
from unrip.contracts.ids import client_order_id_for, command_id_for

WNEAR = "nep141:wrap.near"
USDT = "nep141:usdt.tether-token.near"
USDC = "nep141:17208628f84f5d6ad33f0da3bbbeb27ffcb398eac501a31bd6ad2011e36133a1"
ETH = "nep141:eth.omft.near"
VENUE = "near_intents"


def demand(
    quote_id: str = "q-1",
    *,
    asset_in: str = WNEAR,
    asset_out: str = USDT,
    exact_in: int | None = 10 * 10**24,
    exact_out: int | None = None,
    deadline: datetime | None = None,
    now: datetime | None = None,
    min_deadline_ms: int = 60_000,
) -> SwapDemandV1:
    now = now or datetime.now(UTC)
    return SwapDemandV1(
        quote_id=quote_id,
        asset_in=asset_in,
        asset_out=asset_out,
        exact_amount_in=exact_in if exact_out is None else None,
        exact_amount_out=exact_out,
        deadline=deadline or now + timedelta(seconds=5),
        min_deadline_ms=min_deadline_ms,
    )


def command(
    quote_id: str = "q-1",
    *,
    deadline: datetime | None = None,
    strategy_id: str = "test",
    **overrides: Any,
) -> ExecuteTradeV1:
    now = datetime.now(UTC)
    command_id = command_id_for(VENUE, quote_id, strategy_id)
    fields: dict[str, Any] = {
        "command_id": command_id,
        "client_order_id": client_order_id_for(command_id),
        "strategy_id": strategy_id,
        "quote_id": quote_id,
        "kind": SwapKind.EXACT_IN,
        "asset_in": WNEAR,
        "asset_out": USDT,
        "amount_in": 10 * 10**24,
        "amount_out": 24_925_000,
        "notional_usd": Decimal("24.925"),
        "expected_pnl_usd": Decimal("0.075"),
        "deadline": deadline or now + timedelta(minutes=10),
        "quote_validity_ms": 60_000,
        "demand_observed_at": now,
        "pricing": Pricing(
            price_in_usd=Decimal("2.50"),
            price_out_usd=Decimal("1.00"),
            decimals_in=24,
            decimals_out=6,
            spread_bps=30,
        ),
        "limits": LimitsApplied(
            max_notional_usd=Decimal(25000),
            max_open_exposure_usd=Decimal(250000),
            daily_loss_limit_usd=Decimal(5000),
            open_exposure_usd_before=Decimal(0),
            daily_pnl_usd_before=Decimal(0),
            kill_switch=False,
        ),
    }
    fields.update(overrides)
    return ExecuteTradeV1(**fields)


def envelope_of(payload: Any, **kwargs: Any) -> Envelope[Any]:
    kwargs.setdefault("venue", VENUE)
    kwargs.setdefault("observed_at", datetime.now(UTC))
    return make_envelope(payload, **kwargs)
