"""Static SVG drawings of the Vega-Lite specs in charts.py, for reports that must render with
no network and no script: a drift report opened from a mail, behind a firewall, in a CI
artifact viewer. Only the shapes charts.py makes are drawn (binned histograms, grouped bars,
horizontal bars); the specs stay in the page for tools that want them.
"""

from __future__ import annotations

import html
from typing import Any

WIDTH, HEIGHT = 560, 150
LEFT, BOTTOM, TOP = 48, 28, 22
COLORS = ("#4c78a8", "#f58518", "#e45756", "#72b7b2")


def render(spec: dict[str, Any]) -> str:
    """An `<svg>` element for a spec of charts.py (any other spec: its title only)."""
    encoding = spec.get("encoding", {})
    values = spec.get("data", {}).get("values", [])
    title = str(spec.get("title", ""))
    if "x2" in encoding:
        return _histogram(title, values, encoding)
    if encoding.get("y", {}).get("type") == "nominal":
        return _horizontal(title, values, encoding)
    if encoding.get("x", {}).get("type") == "nominal":
        return _grouped(title, values, encoding)
    return _frame(title, WIDTH, 40, "")


def _frame(title: str, width: float, height: float, body: str, legend: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{html.escape(title)}" font-family="sans-serif" font-size="10">'
        f'<text x="{LEFT}" y="14" font-size="12" font-weight="bold">{html.escape(title)}</text>'
        f"{legend}{body}</svg>"
    )


def _legend(names: list[str], width: float) -> str:
    items = []
    for i, name in enumerate(names):
        x = width - 90 * (len(names) - i)
        items.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{COLORS[i % len(COLORS)]}" '
            f'fill-opacity="0.7"/><text x="{x + 14}" y="15">{html.escape(name)}</text>'
        )
    return "".join(items)


def _axis(x0: float, y0: float, x1: float, y1: float) -> str:
    return (
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#888"/>'
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#888"/>'
    )


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _histogram(title: str, values: list[dict], encoding: dict) -> str:
    field = encoding["y"]["field"]
    datasets = list(dict.fromkeys(v.get("dataset", "") for v in values))
    low = min((v["start"] for v in values), default=0.0)
    high = max((v["end"] for v in values), default=1.0)
    top = max((v[field] for v in values), default=1.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    span = (high - low) or 1.0
    bars = []
    for v in values:
        x = LEFT + (v["start"] - low) / span * plot_w
        w = max((v["end"] - v["start"]) / span * plot_w - 1, 1)
        h = v[field] / top * plot_h
        color = COLORS[datasets.index(v.get("dataset", "")) % len(COLORS)]
        bars.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{color}" fill-opacity="0.55"><title>{html.escape(str(v))}</title></rect>'
        )
    labels = (
        f'<text x="{LEFT}" y="{base + 12}">{_fmt(low)}</text>'
        f'<text x="{LEFT + plot_w}" y="{base + 12}" text-anchor="end">{_fmt(high)}</text>'
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_fmt(top)}</text>'
    )
    legend = _legend(datasets, WIDTH) if datasets != [""] else ""
    body = "".join(bars) + _axis(LEFT, base, LEFT + plot_w, TOP) + labels
    return _frame(title, WIDTH, HEIGHT, body, legend)


def _grouped(title: str, values: list[dict], encoding: dict) -> str:
    field, key = encoding["y"]["field"], encoding["x"]["field"]
    datasets = list(dict.fromkeys(v.get("dataset", "") for v in values))
    groups = list(dict.fromkeys(str(v[key]) for v in values))
    top = max((v[field] for v in values), default=1.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    slot = plot_w / max(len(groups), 1)
    width = max(slot * 0.8 / max(len(datasets), 1), 1)
    parts = []
    for v in values:
        g, d = groups.index(str(v[key])), datasets.index(v.get("dataset", ""))
        x = LEFT + g * slot + slot * 0.1 + d * width
        h = v[field] / top * plot_h
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{COLORS[d % len(COLORS)]}"><title>{html.escape(str(v))}</title></rect>'
        )
    for g, name in enumerate(groups):
        parts.append(
            f'<text x="{LEFT + (g + 0.5) * slot:.1f}" y="{base + 12}" text-anchor="middle">'
            f"{html.escape(name[:14])}</text>"
        )
    body = "".join(parts) + _axis(LEFT, base, LEFT + plot_w, TOP)
    body += f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_fmt(top)}</text>'
    return _frame(title, WIDTH, HEIGHT, body, _legend(datasets, WIDTH))


def _horizontal(title: str, values: list[dict], encoding: dict) -> str:
    field, key = encoding["x"]["field"], encoding["y"]["field"]
    color = encoding.get("color", {})
    scale = color.get("scale", {})
    palette = dict(zip(scale.get("domain", []), scale.get("range", []), strict=False))
    rows = sorted(values, key=lambda v: -(v.get(field) or 0))
    top = max((v.get(field) or 0 for v in rows), default=1.0) or 1.0
    label_w, row_h = 140, 18
    height = TOP + row_h * len(rows) + BOTTOM
    plot_w = WIDTH - label_w - 60
    parts = []
    for i, v in enumerate(rows):
        y = TOP + i * row_h
        w = (v.get(field) or 0) / top * plot_w
        fill = palette.get(v.get(color.get("field")), COLORS[0])
        parts.append(
            f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end">'
            f"{html.escape(str(v[key])[:22])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
            f'fill="{fill}"><title>{html.escape(str(v))}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{_fmt(v.get(field) or 0)}</text>'
        )
    return _frame(title, WIDTH, height, "".join(parts))
