"""Reactor decisions: a command when every check passes, otherwise the documented reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from unrip.contracts import SkipReason
from unrip.contracts.ids import client_order_id_for, command_id_for
from unrip.reactor.decision import Market, Skip, Trade, decide
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, Strategy, load_strategy

from tests.factories import USDT, VENUE, WNEAR, demand

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def strategy() -> Strategy:
    return load_strategy(DEFAULT_STRATEGY_PATH)


def with_limits(strategy: Strategy, **limits: object) -> Strategy:
    return strategy.model_copy(update={"limits": strategy.limits.model_copy(update=limits)})


def run(
    strategy: Strategy,
    risk: RiskState | None = None,
    market: Market | None = None,
    **demand_args: object,
) -> Trade | Skip:
    return decide(
        demand(now=NOW, **demand_args),  # type: ignore[arg-type]
        venue=VENUE,
        demand_observed_at=NOW,
        strategy=strategy,
        risk=risk or RiskState(day=NOW.date()),
        market=market or Market.static(strategy, NOW),
        now=NOW,
    )


def test_a_priced_demand_within_limits_becomes_a_deterministic_command(strategy: Strategy) -> None:
    decision = run(strategy, quote_id="q-7", exact_in=100 * 10**24)
    assert isinstance(decision, Trade)
    command = decision.command
    assert command.command_id == command_id_for(VENUE, "q-7", strategy.strategy_id)
    assert command.client_order_id == client_order_id_for(command.command_id)
    assert command.amount_out == 249_250_000
    assert command.limits.max_notional_usd == strategy.limits.max_notional_usd
    assert command.pricing.spread_bps == strategy.spread_bps
    assert command.deadline == NOW + timedelta(seconds=5)
    again = run(strategy, quote_id="q-7", exact_in=100 * 10**24)
    assert isinstance(again, Trade) and again.command.command_id == command.command_id


def test_kill_switch_skips_everything(strategy: Strategy) -> None:
    decision = run(with_limits(strategy, kill_switch=True))
    assert isinstance(decision, Skip) and decision.reason is SkipReason.KILL_SWITCH


def test_expired_demand_is_skipped(strategy: Strategy) -> None:
    decision = run(strategy, deadline=NOW - timedelta(milliseconds=1))
    assert isinstance(decision, Skip) and decision.reason is SkipReason.EXPIRED


def test_unpriced_asset_is_skipped(strategy: Strategy) -> None:
    decision = run(strategy, asset_out="nep141:unknown.near")
    assert isinstance(decision, Skip) and decision.reason is SkipReason.UNPRICED_ASSET
    assert "nep141:unknown.near" in decision.detail


def test_dust_is_below_min_notional(strategy: Strategy) -> None:
    decision = run(strategy, exact_in=10**20)  # 0.0001 wNEAR
    assert isinstance(decision, Skip) and decision.reason is SkipReason.BELOW_MIN_NOTIONAL


def test_max_notional_per_trade(strategy: Strategy) -> None:
    limited = with_limits(strategy, max_notional_usd=Decimal(100))
    assert isinstance(run(limited, exact_in=39 * 10**24), Trade)  # ~97 USD
    decision = run(limited, exact_in=41 * 10**24)  # ~102 USD
    assert isinstance(decision, Skip) and decision.reason is SkipReason.MAX_NOTIONAL


def test_max_open_exposure_counts_commands_without_results(strategy: Strategy) -> None:
    limited = with_limits(strategy, max_open_exposure_usd=Decimal(1000))
    risk = RiskState(day=NOW.date())
    risk.record_command("k1", "c1", Decimal(900))
    decision = run(limited, risk, exact_in=100 * 10**24)  # ~249 USD more
    assert isinstance(decision, Skip) and decision.reason is SkipReason.MAX_OPEN_EXPOSURE
    risk.record_result("c1", Decimal(0), NOW)  # the result frees the exposure
    assert isinstance(run(limited, risk, exact_in=100 * 10**24), Trade)


def test_daily_loss_limit_stops_trading_for_the_day(strategy: Strategy) -> None:
    limited = with_limits(strategy, daily_loss_limit_usd=Decimal(50))
    risk = RiskState(day=NOW.date())
    risk.record_command("k1", "c1", Decimal(10))
    risk.record_result("c1", Decimal(-50), NOW)
    decision = run(limited, risk)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.DAILY_LOSS_LIMIT
    risk.roll(NOW + timedelta(days=1))  # a new UTC day is a new budget
    assert isinstance(run(limited, risk), Trade)


def test_checks_run_in_the_documented_order(strategy: Strategy) -> None:
    # Expired *and* kill switch: the kill switch is reported (it is checked first).
    decision = run(with_limits(strategy, kill_switch=True), deadline=NOW - timedelta(seconds=1))
    assert isinstance(decision, Skip) and decision.reason is SkipReason.KILL_SWITCH


def test_both_directions_of_a_pair_are_priced(strategy: Strategy) -> None:
    forward = run(strategy, asset_in=WNEAR, asset_out=USDT, exact_in=10 * 10**24)
    backward = run(strategy, asset_in=USDT, asset_out=WNEAR, exact_in=25 * 10**6)
    assert isinstance(forward, Trade) and isinstance(backward, Trade)
    assert backward.command.amount_out < 10 * 10**24  # 25 USDT buys a little under 10 wNEAR


def test_a_requester_asking_for_more_validity_than_the_maximum_is_skipped(
    strategy: Strategy,
) -> None:
    decision = run(strategy, min_deadline_ms=strategy.max_quote_validity_ms + 1)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.QUOTE_VALIDITY_TOO_LONG


def test_an_absurd_min_deadline_is_refused_or_skipped_never_a_crash(strategy: Strategy) -> None:
    # Beyond a day the demand is not even valid (the contract's bound); up to it, a skip.
    with pytest.raises(ValueError, match="min_deadline_ms"):
        run(strategy, min_deadline_ms=10**18)
    decision = run(strategy, min_deadline_ms=86_400_000)
    assert isinstance(decision, Skip) and decision.reason is SkipReason.QUOTE_VALIDITY_TOO_LONG


def test_a_requester_within_the_maximum_gets_the_validity_it_asked_for(
    strategy: Strategy,
) -> None:
    decision = run(strategy, min_deadline_ms=strategy.max_quote_validity_ms)
    assert isinstance(decision, Trade)
    assert decision.command.quote_validity_ms == strategy.max_quote_validity_ms


def test_a_strategy_whose_validity_exceeds_its_maximum_is_refused(strategy: Strategy) -> None:
    document = strategy.model_dump() | {"quote_validity_ms": 200_000}
    with pytest.raises(ValueError, match="max_quote_validity_ms"):
        Strategy.model_validate(document)
