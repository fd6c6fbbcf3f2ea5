"""Quote pricing: decimals respected, spread always in our favour, exact integers."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from unrip.reactor.pricing import price_quote, usd_value
from unrip.reactor.strategy import AssetPrice

from tests.factories import ETH, USDT, demand

NEAR = AssetPrice(symbol="wNEAR", decimals=24, usd_price=Decimal("2.50"))
TETHER = AssetPrice(symbol="USDT", decimals=6, usd_price=Decimal("1.00"))
ETHER = AssetPrice(symbol="ETH", decimals=18, usd_price=Decimal("3200"))


def test_exact_in_gives_the_mid_less_the_spread() -> None:
    quote = price_quote(demand(exact_in=100 * 10**24), NEAR, TETHER, spread_bps=30)
    assert quote.amount_in == 100 * 10**24
    assert quote.amount_out == 249_250_000  # 250 USDT less 0.30%
    assert quote.notional_usd == Decimal("249.25")
    assert quote.expected_pnl_usd == Decimal("0.75")


def test_exact_out_asks_the_mid_plus_the_spread() -> None:
    quote = price_quote(
        demand(asset_in=USDT, asset_out=ETH, exact_in=None, exact_out=10**18), TETHER, ETHER, 50
    )
    assert quote.amount_out == 10**18
    assert quote.amount_in == 3_216_000_000  # 3200 USDT plus 0.50%
    assert quote.expected_pnl_usd == Decimal("16")


def test_zero_spread_is_the_reference_mid() -> None:
    quote = price_quote(demand(asset_in=ETH, asset_out=USDT, exact_in=10**18), ETHER, TETHER, 0)
    assert quote.amount_out == 3_200_000_000
    assert quote.expected_pnl_usd == 0


@given(
    amount=st.integers(min_value=1, max_value=10**30),
    spread=st.integers(min_value=0, max_value=500),
    exact_in=st.booleans(),
)
def test_rounding_never_gives_away_value(amount: int, spread: int, exact_in: bool) -> None:
    d = demand(exact_in=amount) if exact_in else demand(exact_in=None, exact_out=amount)
    quote = price_quote(d, NEAR, TETHER, spread)
    # Whatever the amounts and rounding, what we receive is worth at least what we give.
    assert usd_value(quote.amount_in, NEAR) >= usd_value(quote.amount_out, TETHER)


def test_a_changed_reference_price_changes_the_quote_at_once() -> None:
    # Pair arithmetic is cached; the cache must follow the prices, not the asset's identity.
    before = price_quote(demand(exact_in=100 * 10**24), NEAR, TETHER, spread_bps=0)
    repriced = NEAR.model_copy(update={"usd_price": Decimal("3.00")})
    after = price_quote(demand(exact_in=100 * 10**24), repriced, TETHER, spread_bps=0)
    assert before.amount_out == 250_000_000 and after.amount_out == 300_000_000
    assert after.notional_usd == usd_value(after.amount_out, TETHER) == Decimal(300)
