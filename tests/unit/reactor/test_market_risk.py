"""Prices from the bus, inventory, mark-to-market PnL and the limits that trip on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from unrip.contracts import RiskLimit, SkipReason
from unrip.reactor.decision import Market, Skip, Trade, decide
from unrip.reactor.guards import RiskGuard
from unrip.reactor.market import PriceBook
from unrip.reactor.models import InventorySkewModel, model_for
from unrip.reactor.positions import Positions, legs
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, AssetPrice, Strategy, load_strategy

from tests.factories import USDT, VENUE, WNEAR, demand

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
WNEAR_UNIT = 10**24
USDT_UNIT = 10**6


@pytest.fixture
def strategy() -> Strategy:
    return load_strategy(DEFAULT_STRATEGY_PATH)


def bus_market(strategy: Strategy, *, age_s: float = 1.0, wnear: str = "2.50") -> Market:
    prices = PriceBook()
    for asset_id, config in strategy.assets.items():
        assert config.price is not None
        price = config.price
        if asset_id == WNEAR:
            price = AssetPrice(symbol="wNEAR", decimals=24, usd_price=Decimal(wnear))
        prices.update(asset_id, price, NOW - timedelta(seconds=age_s))
    return Market(prices, Positions(day=NOW.date()))


def run(strategy: Strategy, market: Market, **demand_args: object) -> Trade | Skip:
    return decide(
        demand(now=NOW, **demand_args),  # type: ignore[arg-type]
        venue=VENUE,
        demand_observed_at=NOW,
        strategy=strategy,
        risk=RiskState(day=NOW.date()),
        market=market,
        now=NOW,
    )


def test_a_fresh_bus_price_is_quoted_from(strategy: Strategy) -> None:
    decision = run(strategy, bus_market(strategy, wnear="2.00"), exact_in=100 * WNEAR_UNIT)
    assert isinstance(decision, Trade)
    # 100 wNEAR at the bus's 2.00 (not the strategy's static 2.50), less 30 bps: 199.4 USDT.
    assert decision.command.amount_out == 199_400_000


def test_a_price_older_than_its_bound_skips_as_stale(strategy: Strategy) -> None:
    decision = run(strategy, bus_market(strategy, age_s=31))
    assert isinstance(decision, Skip) and decision.reason is SkipReason.STALE_PRICE
    assert "31.0 s old (bound 30 s)" in decision.detail


def test_an_asset_never_priced_skips_as_stale(strategy: Strategy) -> None:
    market = Market(PriceBook(), Positions(day=NOW.date()))
    decision = run(strategy, market)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.STALE_PRICE
    assert "no reference price" in decision.detail


def test_stablecoins_have_their_own_staleness_bound(strategy: Strategy) -> None:
    # USDT tolerates 120 s; wNEAR only 30 s: a 60 s old book is stale because of wNEAR.
    decision = run(strategy, bus_market(strategy, age_s=60))
    assert isinstance(decision, Skip) and WNEAR in decision.detail


def test_static_prices_never_go_stale(strategy: Strategy) -> None:
    assert isinstance(run(strategy, Market.static(strategy, NOW - timedelta(days=3))), Trade)


def test_we_cannot_give_what_we_do_not_hold(strategy: Strategy) -> None:
    market = bus_market(strategy)
    # Start: 100,000 USDT, floor 10,000. A demand for ~24,925 USDT after 70,000 given away:
    market.positions.record_result(
        "c0", filled=legs(WNEAR, 28_000 * WNEAR_UNIT, USDT, 70_000 * USDT_UNIT), at=NOW
    )
    decision = run(strategy, market, exact_in=10_000 * WNEAR_UNIT)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.INSUFFICIENT_INVENTORY


def test_open_commands_reserve_what_they_would_give(strategy: Strategy) -> None:
    market = bus_market(strategy)
    market.positions.record_command("c1", WNEAR, 0, USDT, 80_000 * USDT_UNIT)
    decision = run(strategy, market, exact_in=10_000 * WNEAR_UNIT)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.INSUFFICIENT_INVENTORY
    market.positions.record_result("c1", filled=None, at=NOW)  # not filled: released
    assert isinstance(run(strategy, market, exact_in=10_000 * WNEAR_UNIT), Trade)


def test_a_position_limit_caps_what_we_accumulate(strategy: Strategy) -> None:
    market = bus_market(strategy)
    market.positions.record_result(
        "c0", filled=legs(WNEAR, 39_990 * WNEAR_UNIT, USDT, 0), at=NOW
    )  # 79,990 wNEAR held, maximum 80,000
    decision = run(strategy, market, exact_in=100 * WNEAR_UNIT)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.MAX_POSITION


def test_total_inventory_notional_is_capped(strategy: Strategy) -> None:
    capped = strategy.model_copy(
        update={"limits": strategy.limits.model_copy(update={"max_inventory_notional_usd": 1000})}
    )
    market = bus_market(capped)
    market.positions.record_result("c0", filled=legs(WNEAR, 300 * WNEAR_UNIT, USDT, 0), at=NOW)
    market.positions.mark(market.prices)
    assert market.positions.gross_usd == Decimal(750)
    decision = run(capped, market, exact_in=200 * WNEAR_UNIT)  # +500 wNEAR-side, +~499 USDT-side
    assert isinstance(decision, Skip) and decision.reason is SkipReason.MAX_INVENTORY_NOTIONAL
    # Unwinding (we give wNEAR back for USDT) shrinks the total and is allowed.
    unwind = run(capped, market, asset_in=USDT, asset_out=WNEAR, exact_in=100 * USDT_UNIT)
    assert isinstance(unwind, Trade)


def test_pnl_is_marked_to_the_latest_price_and_can_be_negative(strategy: Strategy) -> None:
    market = bus_market(strategy)
    positions = market.positions
    # We bought 1,000 wNEAR for 2,490 USDT (2.50 less 40 bps): +10 USD at 2.50.
    positions.record_result(
        "c1", filled=legs(WNEAR, 1000 * WNEAR_UNIT, USDT, 2490 * USDT_UNIT), at=NOW
    )
    positions.mark(market.prices)
    assert positions.daily_pnl_usd == Decimal("10")
    market.prices.update(WNEAR, AssetPrice(symbol="wNEAR", decimals=24, usd_price=2), NOW)
    positions.mark(market.prices)
    assert positions.daily_pnl_usd == Decimal("-490")
    # The same result again (rebuild overlapping the live stream) changes nothing.
    positions.record_result(
        "c1", filled=legs(WNEAR, 1000 * WNEAR_UNIT, USDT, 2490 * USDT_UNIT), at=NOW
    )
    positions.mark(market.prices)
    assert positions.daily_pnl_usd == Decimal("-490")


def test_the_daily_loss_limit_trips_once_and_skips_until_the_next_utc_day(
    strategy: Strategy,
) -> None:
    guard = RiskGuard()
    trip = guard.check_daily_loss(strategy, Decimal("-5000.01"), NOW)
    assert trip is not None and trip.limit is RiskLimit.DAILY_LOSS
    assert trip.observed == Decimal("-5000.01") and trip.threshold == Decimal(-5000)
    assert trip.until == datetime(2026, 11, 22, tzinfo=UTC)
    assert guard.check_daily_loss(strategy, Decimal(-6000), NOW) is None  # one trip, not many
    market = bus_market(strategy)
    market.guard = guard
    decision = run(strategy, market)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.DAILY_LOSS_LIMIT
    assert guard.blocked(NOW + timedelta(hours=12)) is None  # a new UTC day


def test_an_operator_reset_rearms_the_daily_loss_limit_from_the_current_pnl(
    strategy: Strategy,
) -> None:
    guard = RiskGuard()
    assert guard.check_daily_loss(strategy, Decimal(-5000), NOW) is not None
    reset = strategy.model_copy(
        update={
            "limits": strategy.limits.model_copy(
                update={"daily_loss_reset_at": NOW + timedelta(minutes=5)}
            )
        }
    )
    guard.apply_reset(reset, Decimal(-5000))
    assert guard.blocked(NOW + timedelta(minutes=6)) is None
    # A fresh 5,000 USD budget from -5,000: -9,000 is within it, -10,000 trips again.
    assert guard.check_daily_loss(reset, Decimal(-9000), NOW) is None
    assert guard.check_daily_loss(reset, Decimal(-10000), NOW) is not None


def test_losing_fills_in_a_row_pause_quoting_for_the_cooldown(strategy: Strategy) -> None:
    guard = RiskGuard()
    for n in range(4):
        assert guard.record_fill(strategy, Decimal(-1), Decimal(-n), NOW) is None
    guard.record_fill(strategy, Decimal(1), Decimal(0), NOW)  # a winner resets the streak
    trips = [guard.record_fill(strategy, Decimal(-1), Decimal(0), NOW) for _ in range(5)]
    trip = trips[-1]
    assert trips[:4] == [None] * 4 and trip is not None
    assert trip.limit is RiskLimit.LOSING_FILLS and trip.observed == 5
    market = bus_market(strategy)
    market.guard = guard
    decision = run(strategy, market)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.CIRCUIT_BREAKER
    assert guard.blocked(NOW + timedelta(seconds=60)) is None  # cooled down: quoting resumes


def test_a_price_jump_within_the_window_trips_but_a_slow_drift_does_not(
    strategy: Strategy,
) -> None:
    guard = RiskGuard()
    for second in range(0, 60, 5):  # -1 % every 5 s: 2 % per 10 s window, below 3 %
        price = Decimal("2.50") * (1 - Decimal("0.01") * second / 5)
        at = NOW + timedelta(seconds=second)
        assert guard.record_price(strategy, WNEAR, price, at, Decimal(0), at) is None
    at = NOW + timedelta(seconds=62)
    trip = guard.record_price(strategy, WNEAR, Decimal("2.10"), at, Decimal(0), at)
    assert trip is not None and trip.limit is RiskLimit.PRICE_JUMP and trip.asset_id == WNEAR
    assert trip.observed > 3 and trip.until == at + timedelta(seconds=60)


def test_the_inventory_skewed_model_charges_more_for_what_we_are_long(strategy: Strategy) -> None:
    skewed = strategy.model_copy(update={"model": "inventory_skew"})
    assert isinstance(model_for(skewed), InventorySkewModel)
    market = bus_market(skewed)

    def spread_of(asset_in: str, asset_out: str, amount: int) -> int:
        decision = model_for(skewed).decide(
            demand(now=NOW, asset_in=asset_in, asset_out=asset_out, exact_in=amount),
            venue=VENUE,
            demand_observed_at=NOW,
            strategy=skewed,
            risk=RiskState(day=NOW.date()),
            market=market,
            now=NOW,
        )
        assert isinstance(decision, Trade)
        return decision.command.pricing.spread_bps

    assert spread_of(WNEAR, USDT, 10 * WNEAR_UNIT) == 30  # flat: the plain spread
    # Long 20,000 wNEAR (half the room to the 80,000 maximum): a taker selling us more wNEAR
    # pays 30 + 20 x 0.5 / 2 = 35 bps; one buying wNEAR from us pays 25 bps.
    market.positions.record_result("c0", filled=legs(WNEAR, 20_000 * WNEAR_UNIT, USDT, 0), at=NOW)
    assert spread_of(WNEAR, USDT, 10 * WNEAR_UNIT) == 35
    assert spread_of(USDT, WNEAR, 10 * USDT_UNIT) == 25


def test_an_unknown_model_name_is_an_invalid_strategy() -> None:
    with pytest.raises(ValueError, match="model 'magic' is not one of spread, inventory_skew"):
        Strategy.model_validate(
            {**load_strategy(DEFAULT_STRATEGY_PATH).model_dump(), "model": "magic"}
        )


def test_static_prices_must_be_given_for_every_asset() -> None:
    document = load_strategy(DEFAULT_STRATEGY_PATH).model_dump()
    document["prices"] = {"source": "static"}
    document["assets"][WNEAR]["usd_price"] = None
    with pytest.raises(ValueError, match="needs usd_price"):
        Strategy.model_validate(document)


def test_a_result_redelivered_after_midnight_is_not_counted_twice(strategy: Strategy) -> None:
    positions = Positions(day=NOW.date())
    fill = legs(WNEAR, 10 * WNEAR_UNIT, USDT, 25 * USDT_UNIT)
    assert positions.record_result("c1", filled=fill, at=NOW) is True
    positions.roll(NOW + timedelta(days=1))
    assert positions.record_result("c1", filled=fill, at=NOW) is False
    assert positions.net[WNEAR] == 10 * WNEAR_UNIT
    assert positions.day_net == {}  # a new day's PnL starts from zero


def test_a_copied_strategy_derives_its_bounds_from_its_own_fields(strategy: Strategy) -> None:
    assert strategy.inventory_cap_usd == 250_000.0
    assert strategy.price_age_bounds[WNEAR] == timedelta(seconds=30)
    limits = strategy.limits.model_copy(update={"max_inventory_notional_usd": Decimal(10)})
    prices = strategy.prices.model_copy(update={"max_age_s": 5.0})
    copied = strategy.model_copy(update={"limits": limits, "prices": prices})
    assert copied.inventory_cap_usd == 10.0
    assert copied.price_age_bounds[WNEAR] == timedelta(seconds=5)
