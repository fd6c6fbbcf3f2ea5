"""Summaries of what a benchmark step observed: latency distributions and whether a rate held.

A rate is *sustained* when the pipeline keeps up with it: every event came out, the input
really arrived at that rate, and the backlog (events in, not yet out: the sum of every
stage's consumer lag) did not grow over the step. The backlog is computed from the events'
own timestamps, not from broker offsets, because Tansu's ListOffsets under-reports the log
end (docs/decisions.md) and would make offset-based lag unreliable.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from unrip.monitor.stats import percentile

# A step is sustained when its backlog grows by less than this share of the offered rate per
# second (or by fewer than _MIN_SLOPE events/s, so that jitter at low rates is not "growth").
_SLOPE_SHARE = 0.02
_MIN_SLOPE = 5.0
# ... and when the input arrived at no less than this share of the offered rate.
_INPUT_SHARE = 0.95
_BACKLOG_POINTS = 50


@dataclass(frozen=True, slots=True)
class Distribution:
    """Nearest-rank percentiles of a sample (None when there is no sample)."""

    samples: int
    p50: float | None
    p99: float | None
    max: float | None
    mean: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        ordered = sorted(values)
        if not ordered:
            return cls(0, None, None, None, None)
        return cls(
            len(ordered),
            percentile(ordered, 50),
            percentile(ordered, 99),
            ordered[-1],
            statistics.fmean(ordered),
        )

    def rounded(self, digits: int = 3) -> dict[str, Any]:
        def r(value: float | None) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "samples": self.samples,
            "p50": r(self.p50),
            "p99": r(self.p99),
            "max": r(self.max),
            "mean": r(self.mean),
        }


def rate_over(times: Sequence[float]) -> float | None:
    """Events per second between the first and the last of ``times`` (sorted or not)."""
    if len(times) < 2:
        return None
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else None


def middle_rate(times: Sequence[float], share: float = 0.8) -> float | None:
    """Events per second over the middle ``share`` of ``times`` (start-up and tail excluded)."""
    ordered = sorted(times)
    if len(ordered) < 10:
        return None
    low = int(len(ordered) * (1 - share) / 2)
    high = len(ordered) - 1 - low
    span = ordered[high] - ordered[low]
    return (high - low) / span if span > 0 else None


def backlog_slope(arrivals: Sequence[float], completions: Sequence[float]) -> float:
    """Growth of the backlog (arrived minus completed) over the arrival window, events/s.

    Sampled at evenly spaced instants from the first to the last arrival and fitted with a
    least-squares line; a pipeline that keeps up has a flat backlog (slope near zero), one
    that falls behind has a backlog growing by (offered - capacity) events every second.
    """
    if len(arrivals) < 2:
        return 0.0
    ins, outs = sorted(arrivals), sorted(completions)
    start, end = ins[0], ins[-1]
    if end <= start:
        return 0.0
    instants = [start + (end - start) * i / (_BACKLOG_POINTS - 1) for i in range(_BACKLOG_POINTS)]
    backlog = [float(bisect.bisect_right(ins, t) - bisect.bisect_right(outs, t)) for t in instants]
    return float(statistics.linear_regression(instants, backlog).slope)


@dataclass(frozen=True, slots=True)
class RateVerdict:
    offered_per_s: float
    expected: int
    completed: int
    input_per_s: float | None
    output_per_s: float | None
    backlog_slope_per_s: float
    sustained: bool

    def as_dict(self) -> dict[str, Any]:
        def r(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {
            "offered_per_s": r(self.offered_per_s),
            "expected": self.expected,
            "completed": self.completed,
            "input_per_s": r(self.input_per_s),
            "output_per_s": r(self.output_per_s),
            "backlog_slope_per_s": r(self.backlog_slope_per_s),
            "sustained": self.sustained,
        }


def judge_rate(
    offered_per_s: float, expected: int, arrivals: Sequence[float], completions: Sequence[float]
) -> RateVerdict:
    """Did the pipeline sustain ``offered_per_s``? (``arrivals``/``completions``: seconds.)"""
    input_rate = rate_over(arrivals)
    slope = backlog_slope(arrivals, completions)
    sustained = (
        expected > 1
        and len(completions) >= expected
        and input_rate is not None
        and input_rate >= _INPUT_SHARE * offered_per_s
        and slope <= max(_SLOPE_SHARE * offered_per_s, _MIN_SLOPE)
    )
    return RateVerdict(
        offered_per_s,
        expected,
        len(completions),
        input_rate,
        rate_over(completions),
        slope,
        sustained,
    )
