"""Small inline-SVG charts (histogram, bars, lines): the report stays one self-contained file.

No plotting library: the report has four kinds of picture, each a few dozen SVG elements, and
a dependency would be one more thing to pin for the same result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 720, 270
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 40, 40
PALETTE = ("#2f6fde", "#e07b00", "#2a9d55", "#c23b6b", "#7b55c2", "#6b7b8c")


def _frame(title: str, body: list[str], height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        f'<text x="{LEFT}" y="16" class="title">{escape(title)}</text>' + "".join(body) + "</svg>"
    )


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _axes(x_max: float, y_min: float, y_max: float, x_label: str, y_label: str) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#8a96a3"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#8a96a3"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" class="label" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text x="12" y="{TOP + plot_h / 2}" class="label" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2})">{escape(y_label)}</text>',
    ]
    for i in range(5):
        fraction = i / 4
        y = TOP + plot_h * (1 - fraction)
        x = LEFT + plot_w * fraction
        out.append(
            f'<text x="{LEFT - 4}" y="{y + 4}" class="tick" text-anchor="end">'
            f"{_fmt(y_min + (y_max - y_min) * fraction)}</text>"
        )
        out.append(
            f'<text x="{x}" y="{TOP + plot_h + 14}" class="tick" text-anchor="middle">'
            f"{_fmt(x_max * fraction)}</text>"
        )
    return out


def empty(title: str) -> str:
    return _frame(title, [f'<text x="{LEFT}" y="60" class="label">no data in this run</text>'])


def histogram(values: Sequence[float], *, title: str, unit: str, bins: int = 40) -> str:
    """Counts per bin up to the 99th percentile; what lies beyond is one labelled bar."""
    if not values:
        return empty(title)
    ordered = sorted(values)
    top = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] or ordered[-1] or 1.0
    width = top / bins
    counts = [0] * (bins + 1)
    for value in ordered:
        counts[min(bins, int(value / width)) if width else 0] += 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max(counts)
    bar_w = plot_w / (bins + 1)
    body = _axes(top * (bins + 1) / bins, 0, peak, unit, "results")
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        fill = PALETTE[3] if i == bins else PALETTE[0]
        label = (
            f"≥ {_fmt(top)} {unit}"
            if i == bins
            else f"{_fmt(i * width)} to {_fmt((i + 1) * width)}"
        )
        body.append(
            f'<rect x="{LEFT + i * bar_w:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
            f'height="{h:.1f}" fill="{fill}"><title>{escape(label)}: {count}</title></rect>'
        )
    return _frame(title, body)


def bars(items: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> str:
    """Horizontal bars, one per labelled value, largest first."""
    if not items:
        return empty(title)
    items = sorted(items, key=lambda item: -item[1])
    row, label_w = 24, 200
    height = TOP + row * len(items) + 12
    peak = max(value for _, value in items) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = TOP + i * row
        w = (WIDTH - label_w - 90) * value / peak
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" class="label" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="tick">{_fmt(value)}{unit}</text>'
        )
    return _frame(title, body, height)


def lines(
    series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, x_label: str, y_label: str
) -> str:
    """One polyline per named series over a shared x axis, with a legend."""
    points = [p for values in series.values() for p in values]
    if not points:
        return empty(title)
    x_max = max(x for x, _ in points) or 1.0
    y_min = min(0.0, min(y for _, y in points))
    y_max = max(y for _, y in points)
    if y_max == y_min:
        y_max = y_min + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _axes(x_max, y_min, y_max, x_label, y_label)
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        span = y_max - y_min
        path = " ".join(
            f"{LEFT + plot_w * x / x_max:.1f},{TOP + plot_h * (1 - (y - y_min) / span):.1f}"
            for x, y in values
        )
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        body.append(
            f'<text x="{LEFT + 8 + 110 * i}" y="{TOP - 2}" class="tick" '
            f'fill="{colour}">— {escape(name)}</text>'
        )
    return _frame(title, body)
