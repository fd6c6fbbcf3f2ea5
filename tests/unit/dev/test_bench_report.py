"""Targets are judged from the measured figures, and say so when a figure is missing."""

from __future__ import annotations

from typing import Any

from unrip_dev.bench.report import assess, latency_ratios


def document(pipeline_p99: float, rates: tuple[float, ...] = (200.0, 1000.0)) -> dict[str, Any]:
    def step(rate: float, p99: float) -> dict[str, Any]:
        return {"rate_per_s": rate, "latency_ms": {"p50": p99 / 2, "p99": p99}}

    return {
        "baseline": {
            "latency": [
                {"rate_per_s": r, "three_hops_ms": {"p50": 10.0, "p99": 20.0}} for r in rates
            ],
            "relay_throughput": {"msgs_per_s": 20_000.0},
        },
        "pipeline": {
            "latency": [step(r, pipeline_p99) for r in rates],
            "throughput": {"max_sustained_per_s": 9_000.0},
        },
        "decision": {"trade_p99_us_best_group": 19.5},
        "footprint": {
            "steady": {
                "reactor": {"rss_mib": 60.0},
                "executor": {"rss_mib": 81.0},
                "broker (tansu)": {"rss_mib": 500.0},  # the broker is not a service of ours
            }
        },
    }


def test_each_target_is_its_ratio_or_value_against_its_limit() -> None:
    targets = assess(document(pipeline_p99=29.0))
    latency = targets["pipeline_p99_vs_three_hops_at_1000"]
    assert (latency["value"], latency["limit"], latency["met"]) == (1.45, 1.5, True)
    assert targets["throughput_vs_relay"]["value"] == 0.45
    assert targets["throughput_vs_relay"]["met"] is True
    assert targets["decision_p99_us"]["met"] is True
    assert targets["max_service_rss_mib"]["service"] == "executor"
    assert targets["max_service_rss_mib"]["met"] is False
    assert [r["p99_ratio"] for r in latency_ratios(document(pipeline_p99=40.0))] == [2.0, 2.0]


def test_a_target_without_its_measurement_is_neither_met_nor_missed() -> None:
    targets = assess(document(pipeline_p99=29.0, rates=(200.0,)))
    assert targets["pipeline_p99_vs_three_hops_at_1000"]["value"] is None
    assert targets["pipeline_p99_vs_three_hops_at_1000"]["met"] is None
