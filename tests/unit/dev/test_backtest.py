"""The backtest: recorded demands decided once each, deterministically, risk trips counted,
and a self-contained report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, load_strategy
from unrip.topics import NORM_SWAP_DEMAND
from unrip_dev.archive import ArchivedRecord
from unrip_dev.backtest.engine import run_backtest
from unrip_dev.backtest.report import render_html

from tests.factories import demand, envelope_of

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)
# The recordings here carry no reference prices: the strategy's own (static) prices.
STRATEGY = load_strategy(DEFAULT_STRATEGY_PATH)
STRATEGY = STRATEGY.model_copy(
    update={"prices": STRATEGY.prices.model_copy(update={"source": "static"})}
)


def recorded(count: int, *, repeat_first: bool = False) -> list[ArchivedRecord]:
    records = []
    for n in range(count):
        at = T0 + timedelta(seconds=n)
        envelope = envelope_of(demand(f"q-{n}", now=at), observed_at=at, ingested_at=at)
        value, headers = envelope.to_bytes(), envelope.header_pairs()
        records.append(
            ArchivedRecord(
                topic=NORM_SWAP_DEMAND,
                partition=0,
                offset=n,
                key=None,
                value=value,
                headers=headers,
                at=at,
            )
        )
    if repeat_first:
        records.append(records[0])  # redelivered: the reactor decides a demand once
    return records


def test_the_same_recording_gives_the_same_command_ids_and_pnl() -> None:
    records = recorded(20)
    first, second = run_backtest(records, STRATEGY), run_backtest(records, STRATEGY)
    assert first.command_ids == second.command_ids and len(first.command_ids) == 20
    assert first.pnl_usd == second.pnl_usd
    assert first.summary()["results"] == 20


def test_a_redelivered_demand_is_decided_once() -> None:
    run = run_backtest(recorded(5, repeat_first=True), STRATEGY)
    assert run.demands == 5 and len(run.command_ids) == 5


def test_the_kill_switch_skips_every_demand_and_counts_as_a_risk_trip() -> None:
    halted = STRATEGY.model_copy(
        update={"limits": STRATEGY.limits.model_copy(update={"kill_switch": True})}
    )
    summary = run_backtest(recorded(4), halted).summary()
    assert summary["commands"] == 0 and summary["skips"] == 4
    assert summary["skip_reasons"] == {"kill_switch": 4} and summary["risk_trips"] == 4
    assert summary["fill_rate"] is None


def test_the_report_is_one_page_with_a_pnl_plot_per_strategy() -> None:
    wide = STRATEGY.model_copy(update={"strategy_id": "wide", "spread_bps": 90})
    runs = [run_backtest(recorded(10), STRATEGY), run_backtest(recorded(10), wide)]
    page = render_html(runs, "all", deterministic=True)
    assert page.count("<polyline") == 2 and "spread-v1" in page and "wide" in page
    assert "<script" not in page and "http" not in page.replace('xmlns="http', "")
