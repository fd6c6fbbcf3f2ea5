"""The dev run's HTML report: one self-contained file whose pictures are drawn from the run's
events (stage latencies from envelope timestamps, results counted once)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from unrip_dev.report.html import write_report
from unrip_dev.report.timeline import Command, Demand, Result, Timeline

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def a_run(commands: int = 30) -> Timeline:
    timeline = Timeline()
    for i in range(commands):
        start = i * 100.0
        timeline.demands[f"d{i}"] = Demand(at(start), at(start + 1))
        timeline.commands[f"c{i}"] = Command(f"d{i}", at(start + 6))
        timeline.results[f"c{i}"] = Result(
            at(start + 26), "filled" if i % 4 else "not_filled", Decimal("1.5"), 26.0 + i, 12.0
        )
    timeline.demands["skipped"] = Demand(at(50), at(51))
    timeline.skips.append(at(55))
    timeline.skip_reasons["max_notional"] += 1
    return timeline


def test_stage_latencies_come_from_the_envelopes_timestamps() -> None:
    stages = a_run().stage_latencies_ms()
    assert set(stages["ingest"]) == {1.0}
    assert set(stages["reactor"]) == {5.0}
    assert set(stages["executor"]) == {20.0}
    assert set(stages["venue"]) == {12.0}
    assert len(stages["executor"]) == 30  # one per command with a result; the skip has none


def test_pnl_accumulates_in_the_order_results_were_produced() -> None:
    points = a_run(4).pnl_over_time()
    assert points[0] == (0.0, 0.0)
    assert [y for _, y in points] == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert [x for x, _ in points] == sorted(x for x, _ in points)


def test_throughput_counts_each_stage_per_second_of_the_run() -> None:
    per_second = a_run(30).per_second()  # one demand every 100 ms for 3 s
    assert [count for _, count in per_second["demands"]] == [11, 10, 10]
    assert sum(count for _, count in per_second["results"]) == 30


def test_the_report_is_one_self_contained_file_with_every_picture(tmp_path: Path) -> None:
    summary = {"ok": True, "seconds": 3.0, "demands": 31, "run_dir": "/runs/x"}
    path = write_report(tmp_path / "out" / "report.html", summary, a_run())
    html = path.read_text()
    for section in ("End-to-end latency", "Latency per stage", "Throughput", "PnL", "Skip reasons"):
        assert f"<h2>{section}</h2>" in html
    assert html.count("<svg") == 6
    assert not re.search(r"<(script|link|img)\b", html)  # nothing fetched when opened
    assert "max_notional" in html and "OK: nothing lost" in html
    assert "30 results; p50 40.0, p90 52.0, p99 55.0, max 55.0 ms" in html  # 26..55 ms
    # The histogram has a bar per bin plus the overflow bar, and counts every result once.
    histogram = html.split("<h2>End-to-end latency</h2>")[1].split("</svg>")[0]
    counts = [int(n) for n in re.findall(r": (\d+)</title>", histogram)]
    assert sum(counts) == 30


def test_a_run_without_data_still_renders(tmp_path: Path) -> None:
    html = write_report(tmp_path / "r.html", {"ok": False}, Timeline()).read_text()
    assert html.count("no data in this run") == 6
    assert "NOT OK" in html
