"""The benchmark's verdicts: percentiles, rates and whether a rate was sustained."""

from __future__ import annotations

import pytest
from unrip_dev.bench.runner import next_search_rate
from unrip_dev.bench.stats import (
    Distribution,
    backlog_slope,
    judge_rate,
    middle_rate,
    rate_over,
)


def steady(rate: float, seconds: float, delay: float) -> tuple[list[float], list[float]]:
    """Arrivals at ``rate`` for ``seconds``, each completed ``delay`` later."""
    arrivals = [i / rate for i in range(int(rate * seconds))]
    return arrivals, [t + delay for t in arrivals]


def test_distribution_uses_nearest_rank_percentiles() -> None:
    d = Distribution.of([float(v) for v in range(100, 0, -1)])
    assert (d.samples, d.p50, d.p99, d.max, d.mean) == (100, 50.0, 99.0, 100.0, 50.5)
    assert Distribution.of([]) == Distribution(0, None, None, None, None)


def test_rates_count_intervals_not_points() -> None:
    assert rate_over([0.0, 0.5, 1.0]) == pytest.approx(2.0)
    assert rate_over([1.0]) is None
    # The middle 80 % ignores a slow start and a straggler at the end.
    times = [0.0] + [10 + i / 100 for i in range(98)] + [50.0]
    assert middle_rate(times) == pytest.approx(100.0, rel=0.02)


def test_a_pipeline_that_keeps_up_has_a_flat_backlog_and_sustains_its_rate() -> None:
    arrivals, completions = steady(500, 4, delay=0.02)
    assert abs(backlog_slope(arrivals, completions)) < 1
    verdict = judge_rate(500, len(arrivals), arrivals, completions)
    assert verdict.sustained
    assert verdict.input_per_s == pytest.approx(500, rel=0.01)


def test_falling_behind_shows_as_backlog_growth_at_the_rate_difference() -> None:
    arrivals = [i / 500 for i in range(2000)]  # 500/s in ...
    completions = [0.05 + i / 400 for i in range(2000)]  # ... 400/s out
    assert backlog_slope(arrivals, completions) == pytest.approx(100, rel=0.1)
    assert not judge_rate(500, 2000, arrivals, completions).sustained


def test_missing_results_or_a_slow_input_are_not_sustained() -> None:
    arrivals, completions = steady(500, 2, delay=0.01)
    assert not judge_rate(500, len(arrivals) + 1, arrivals, completions).sustained
    # The events came in at 500/s although 1,000/s was offered: the input fell behind.
    assert not judge_rate(1000, len(arrivals), arrivals, completions).sustained


def test_the_throughput_search_narrows_between_sustained_and_unsustained_rates() -> None:
    # The drain estimate is tried first when it lies between what held and what did not.
    assert next_search_rate(200.0, 1000.0, guess=630.0) == 650.0
    # Otherwise the middle; with no failure yet, above the best.
    assert next_search_rate(200.0, 1000.0, guess=1100.0) == 600.0
    assert next_search_rate(1000.0, None, guess=None) == 1300.0
    assert next_search_rate(0.0, 200.0, guess=None) == 100.0
    # Nothing left between them at the search's resolution.
    assert next_search_rate(600.0, 650.0, guess=None) is None
