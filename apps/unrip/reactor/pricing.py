"""Quote pricing from reference prices: integer arithmetic in base units, exact and fast.

We are the counterparty: the requester gives ``asset_in`` (we receive it) and gets
``asset_out`` (we give it). The spread always rounds in our favour.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from unrip.contracts import SwapDemandV1, SwapKind
from unrip.reactor.strategy import PRICE_SCALE, AssetPrice

_BPS = 10_000


class Quote(NamedTuple):
    # A NamedTuple, not a frozen dataclass: built once per demand on the reactor's hot path,
    # where a frozen dataclass's __init__ costs several times as much.
    amount_in: int  # what we receive, base units
    amount_out: int  # what we give, base units
    value_in_usd: Decimal
    value_out_usd: Decimal

    @property
    def notional_usd(self) -> Decimal:
        """The risk we take: the value of what we give away."""
        return self.value_out_usd

    @property
    def expected_pnl_usd(self) -> Decimal:
        return self.value_in_usd - self.value_out_usd


def usd_value(amount: int, asset: AssetPrice) -> Decimal:
    return Decimal(amount * asset.scaled_price) / Decimal(10**asset.decimals * PRICE_SCALE)


@dataclass(frozen=True, slots=True)
class _Pair:
    """The integers a pair's pricing needs, derived once per pair of reference prices."""

    in_num: int  # scaled price in x 10**decimals out
    out_num: int  # scaled price out x 10**decimals in
    in_scaled: int
    in_unit: Decimal  # 10**decimals x PRICE_SCALE: scaled price -> USD per base unit
    out_scaled: int
    out_unit: Decimal


@lru_cache(maxsize=4096)
def _pair(asset_in: AssetPrice, asset_out: AssetPrice) -> _Pair:
    # Keyed by the (frozen, hashable) price entries themselves, so an edited strategy can
    # never be priced with an old entry's numbers.
    return _Pair(
        asset_in.scaled_price * 10**asset_out.decimals,
        asset_out.scaled_price * 10**asset_in.decimals,
        asset_in.scaled_price,
        Decimal(10**asset_in.decimals * PRICE_SCALE),
        asset_out.scaled_price,
        Decimal(10**asset_out.decimals * PRICE_SCALE),
    )


def price_quote(
    demand: SwapDemandV1, asset_in: AssetPrice, asset_out: AssetPrice, spread_bps: int
) -> Quote:
    """Amounts for a quote at ``spread_bps`` from the reference mid (rounded our way)."""
    # value of one base unit = scaled_price / 10**decimals; cross-multiply to stay in integers.
    pair = _pair(asset_in, asset_out)
    in_num, out_num = pair.in_num, pair.out_num
    if demand.kind is SwapKind.EXACT_IN:
        amount_in = demand.exact_amount_in or 0
        # fair_out = amount_in * in_num / out_num; we give less: floor(fair * (1 - s))
        amount_out = amount_in * in_num * (_BPS - spread_bps) // (out_num * _BPS)
    else:
        amount_out = demand.exact_amount_out or 0
        # fair_in = amount_out * out_num / in_num; we ask more: ceil(fair * (1 + s))
        numerator = amount_out * out_num * (_BPS + spread_bps)
        denominator = in_num * _BPS
        amount_in = -(-numerator // denominator)
    return Quote(
        amount_in,
        amount_out,
        Decimal(amount_in * pair.in_scaled) / pair.in_unit,
        Decimal(amount_out * pair.out_scaled) / pair.out_unit,
    )
