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
