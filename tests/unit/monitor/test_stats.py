"""Monitor statistics count identities, not records."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from unrip.monitor.stats import PipelineStats, percentile

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def test_copies_and_redeliveries_do_not_inflate_counts() -> None:
    stats = PipelineStats()
    for _ in range(2):
        stats.demand("v:q1")
        stats.demand("v:q2")
        stats.command("v:q1", "c1")
        stats.skip("v:q2", "max_notional")
    assert stats.result("c1", "filled", Decimal("0.5"), Decimal(10), 12.0, False)
    assert not stats.result("c1", "filled", Decimal("0.5"), Decimal(10), 99.0, False)
    snap = stats.snapshot()
    assert snap["demands"] == 2 and snap["commands"] == 1 and snap["skips"] == 1
    assert snap["skip_reasons"] == {"max_notional": 1}
    assert snap["results"] == 1 and snap["result_copies"] == 2
    assert snap["pnl_usd"] == "0.5" and snap["fill_rate"] == 1.0
    assert snap["undecided_demands"] == 0 and snap["awaiting_result"] == 0
    assert snap["latency_ms"]["samples"] == 1 and snap["latency_ms"]["max"] == 12.0


def test_undecided_and_awaiting_are_reported() -> None:
    stats = PipelineStats()
    stats.demand("v:q1")
    stats.demand("v:q2")
    stats.command("v:q1", "c1")
    snap = stats.snapshot()
    assert snap["undecided_demands"] == 1 and snap["awaiting_result"] == 1


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0


def test_counts_and_pnl_continue_from_a_saved_state() -> None:
    before = PipelineStats()
    before.demand("v:q1")
    before.command("v:q1", "c1")
    before.result("c1", "filled", Decimal("1.25"), Decimal(10), 5.0, False)
    before.dead_letter("dlq.norm.swap_demand")
    after = PipelineStats()
    after.load_state(before.to_state())
    after.demand("v:q2")
    after.command("v:q2", "c2")
    after.result("c2", "not_filled", Decimal(0), Decimal(0), 5.0, False)
    snap = after.snapshot()
    assert snap["demands"] == 2 and snap["commands"] == 2 and snap["results"] == 2
    assert snap["pnl_usd"] == "1.25" and snap["fill_rate"] == 0.5
    assert snap["dead_letters"] == {"dlq.norm.swap_demand": 1}


def test_memory_stays_bounded_however_many_identities_are_counted() -> None:
    stats = PipelineStats(window_keys=500)
    for n in range(20_000):
        stats.demand(f"v:q{n}")
        stats.command(f"v:q{n}", f"c{n}")
        stats.result(f"c{n}", "filled", Decimal(0), Decimal(0), 1.0, False)
    assert all(size <= 500 for size in stats.window_sizes().values())
    snap = stats.snapshot()
    assert snap["demands"] == 20_000 and snap["results"] == 20_000
    assert snap["undecided_demands"] == 0 and snap["awaiting_result"] == 0
