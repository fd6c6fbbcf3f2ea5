"""The backtest report: one self-contained HTML page (inline SVG plots) and a JSON summary."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from unrip_dev.backtest.engine import RISK_TRIPS, BacktestRun

_W, _H, _PAD = 560, 220, 40
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _pnl_svg(runs: Sequence[BacktestRun]) -> str:
    points = [p for run in runs for p in run.pnl_curve]
    if not points:
        return "<p>No trades: no PnL curve.</p>"
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()
    lo = min(min(v for _, v in points), Decimal(0))
    hi = max(max(v for _, v in points), Decimal(0))
    span_t = (t1 - t0) or 1.0
    span_v = float(hi - lo) or 1.0

    def xy(at: datetime, value: Decimal) -> str:
        x = _PAD + (at.timestamp() - t0) / span_t * (_W - 2 * _PAD)
        y = _H - _PAD - float(value - lo) / span_v * (_H - 2 * _PAD)
        return f"{x:.1f},{y:.1f}"

    zero = _H - _PAD - float(-lo) / span_v * (_H - 2 * _PAD)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" role="img" '
        'aria-label="cumulative PnL in USD over time">',
        f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999"/>',
        f'<text x="4" y="{_PAD}" font-size="11">{hi:.2f}</text>',
        f'<text x="4" y="{_H - _PAD}" font-size="11">{lo:.2f}</text>',
        f'<text x="{_PAD}" y="{_H - 8}" font-size="11">{html.escape(str(points[0][0]))}</text>',
    ]
    for index, run in enumerate(runs):
        if not run.pnl_curve:
            continue
        colour = _COLOURS[index % len(_COLOURS)]
        line = " ".join(xy(t, v) for t, v in run.pnl_curve)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{line}"/>'
        )
        parts.append(
            f'<text x="{_W - _PAD - 150}" y="{16 + 14 * index}" font-size="12" fill="{colour}">'
            f"{html.escape(run.strategy_id)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars_svg(counts: dict[str, int]) -> str:
    if not counts:
        return "<p>No skips.</p>"
    top = max(counts.values())
    rows = []
    for index, (reason, n) in enumerate(sorted(counts.items())):
        width = n / top * 300
        colour = "#d62728" if reason in RISK_TRIPS else "#7f7f7f"
        y = 6 + index * 22
        rows.append(
            f'<text x="0" y="{y + 13}" font-size="12">{html.escape(reason)}</text>'
            f'<rect x="150" y="{y}" width="{width:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{156 + width:.1f}" y="{y + 13}" font-size="12">{n}</text>'
        )
    height = 12 + 22 * len(counts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="520" height="{height}" role="img" '
        f'aria-label="skip reasons">{"".join(rows)}</svg>'
    )


def _table(summary: dict[str, object]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
    )
    return f"<table>{rows}</table>"


def render_html(runs: Sequence[BacktestRun], window: str, deterministic: bool) -> str:
    columns = "".join(
        f"<section><h2>{html.escape(run.strategy_id)}</h2>{_table(run.summary())}"
        f"<h3>Skip reasons (red: risk trips)</h3>{_bars_svg(dict(run.skip_reasons))}</section>"
        for run in runs
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>unrip backtest</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
.side {{ display: flex; gap: 3em; flex-wrap: wrap; }}
table {{ border-collapse: collapse; }} th, td {{ padding: 2px 8px; text-align: left; }}
th {{ font-weight: normal; color: #555; }}
</style></head><body>
<h1>unrip backtest</h1>
<p>Window: {html.escape(window)}. Deterministic (two runs, same command ids): {deterministic}.</p>
<h2>Cumulative PnL (USD)</h2>
{_pnl_svg(runs)}
<div class="side">{columns}</div>
</body></html>
"""
