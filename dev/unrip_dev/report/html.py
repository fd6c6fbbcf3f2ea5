"""Compose the run's report: the summary the terminal printed, then the pictures."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from unrip.monitor.stats import percentile

from unrip_dev.report import svg
from unrip_dev.report.timeline import STAGES, Timeline

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:760px;color:#1d2733}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0} td,th{padding:2px 10px;text-align:right}
td:first-child,th:first-child{text-align:left} tr:nth-child(even){background:#f3f5f8}
.title{font-weight:600;font-size:13px} .label{font-size:12px} .tick{font-size:10px;fill:#4a5663}
.ok{color:#2a9d55}
.bad{color:#c23b6b}
"""

_SUMMARY_KEYS = (
    "seconds",
    "raw_quote_events",
    "demands",
    "commands",
    "skips",
    "results",
    "results_by_status",
    "fill_rate",
    "pnl_usd",
    "dead_letters",
    "lost_demands",
    "commands_without_result",
    "conflicting_results",
)


def _stage_table(stages: dict[str, list[float]]) -> str:
    rows = [
        "<tr><th>stage</th><th>samples</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th>"
        "<th>max ms</th></tr>"
    ]
    for name in STAGES:
        values = sorted(stages[name])
        cells = [percentile(values, q) for q in (50, 90, 99)] + [values[-1] if values else None]
        shown = "".join(f"<td>{'-' if v is None else f'{v:.2f}'}</td>" for v in cells)
        rows.append(f"<tr><td>{name}</td><td>{len(values)}</td>{shown}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _stage_percentile(stages: dict[str, list[float]], q: float) -> list[tuple[str, float]]:
    found = {name: percentile(sorted(stages[name]), q) for name in STAGES}
    return [(name, value) for name, value in found.items() if value is not None]


def render(summary: dict[str, Any], timeline: Timeline) -> str:
    verdict = (
        '<p class="ok">OK: nothing lost, nothing executed twice</p>'
        if summary.get("ok")
        else '<p class="bad">NOT OK: see the summary and the logs</p>'
    )
    table = "".join(
        f"<tr><td>{escape(key)}</td><td>{escape(str(summary.get(key)))}</td></tr>"
        for key in _SUMMARY_KEYS
    )
    stages = timeline.stage_latencies_ms()
    stage_p = _stage_percentile(stages, 50)
    stage_p99 = _stage_percentile(stages, 99)
    e2e = sorted(timeline.end_to_end_ms())
    e2e_text = (
        f"<p>{len(e2e)} results; p50 {_ms(percentile(e2e, 50))}, p90 {_ms(percentile(e2e, 90))}, "
        f"p99 {_ms(percentile(e2e, 99))}, max {_ms(e2e[-1] if e2e else None)} ms</p>"
    )
    pictures = [
        (
            "End-to-end latency",
            e2e_text
            + svg.histogram(
                timeline.end_to_end_ms(),
                title="demand observed → result produced (ms), per command",
                unit="ms",
            ),
        ),
        (
            "Latency per stage",
            _stage_table(stages)
            + svg.bars(stage_p, title="p50 per stage (ms)", unit=" ms")
            + svg.bars(stage_p99, title="p99 per stage (ms)", unit=" ms"),
        ),
        (
            "Throughput",
            svg.lines(
                timeline.per_second(),
                title="events produced per second",
                x_label="seconds since the first demand",
                y_label="events/s",
            ),
        ),
        (
            "PnL",
            svg.lines(
                {"realised PnL": timeline.pnl_over_time()},
                title="cumulative realised PnL (USD)",
                x_label="seconds since the first demand",
                y_label="USD",
            ),
        ),
        (
            "Skip reasons",
            svg.bars(list(timeline.skip_reasons.items()), title="demands skipped, by reason"),
        ),
    ]
    sections = "".join(f"<h2>{escape(name)}</h2>{body}" for name, body in pictures)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>unrip dev run {escape(str(summary.get('run_dir', '')))}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>unrip dev — {escape(str(summary.get('seconds')))} s run</h1>{verdict}"
        f"<table>{table}</table>"
        "<p>Stages: <b>ingest</b> venue message received → demand produced; <b>reactor</b> "
        "demand produced → command produced; <b>executor</b> command produced → result "
        "produced (ledger writes and the venue call); <b>venue</b> the venue call alone.</p>"
        f"{sections}"
        f"<p>Logs: {escape(str(summary.get('run_dir', '')))}</p></body></html>"
    )


def write_report(path: Path, summary: dict[str, Any], timeline: Timeline) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(summary, timeline))
    return path
