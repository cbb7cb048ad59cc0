"""Inline SVG charts: stacked daily spend with budget lines, a budget meter, latency per call (box, median,
p90, dots) and a labelled scatter. Each plot area has a plain fill of its own, so a screenshot test can find
the chart by colour. Every label is escaped here."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
LATENCY_BG = "#eef3fa"
SCATTER_BG = "#faf3e8"
SPEND_BG = "#f1f6ee"
BUDGET_LINE = "#b00020"
METER_USED = "#3465a4"
METER_OVER = "#b00020"
METER_BG = "#e4e7eb"
BUDGET_SCALE_MAX = 5.0  # a budget line is drawn when it is at most this many times the highest day's spend


def colors_for(names: Sequence[str]) -> dict[str, str]:
    """A colour per name, in order, the palette repeating after ten."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = int(top / step + 0.999999)
    return [round(i * step, 12) for i in range(n + 1)]


def legend(colors: dict[str, str]) -> str:
    items = "".join(f'<li><span class="sw" style="background:{c}"></span>{escape(name)}</li>' for name, c in colors.items())
    return f'<ul class="legend">{items}</ul>'


def stacked_days(
    chart_id: str,
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    colors: dict[str, str],
    lines: Sequence[tuple[str, float]] = (),
    *,
    unit: str = "USD",
) -> str:
    """One bar per day, each stacked from `series` (name, a value per day), with dashed horizontal lines
    (a daily budget, say) that the axis always reaches."""
    left, top_pad, width, height = 74, 14, 640, 220
    full_w, full_h = left + width + 20, top_pad + height + 52
    totals = [sum(values[i] for _, values in series) for i in range(len(days))]
    spent = max(totals, default=0.0)
    # A budget far above the spend would flatten every bar: it is named at the top instead of drawn.
    near = [(label, value) for label, value in lines if not spent or value <= spent * BUDGET_SCALE_MAX]
    far = [(label, value) for label, value in lines if (label, value) not in near]
    top = max([spent, *(value for _, value in near)])
    axis = ticks(top * 1.05 if top else 0.0)
    scale = height / axis[-1]
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" width="{full_w}" height="{full_h}" viewBox="0 0 {full_w} {full_h}" role="img" aria-label="Spend per day">',
        f'<rect x="{left}" y="{top_pad}" width="{width}" height="{height}" fill="{SPEND_BG}"/>',
    ]
    for t in axis:
        y = top_pad + height - t * scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#d3dccd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#444">{t:.6g}</text>')
    parts.append(
        f'<text x="12" y="{top_pad + height / 2}" font-size="11" text-anchor="middle" fill="#444" transform="rotate(-90 12 {top_pad + height / 2})">{escape(unit)}</text>'
    )
    if not any(totals):
        parts.append(f'<text x="{left + width / 2}" y="{top_pad + height / 2}" font-size="13" text-anchor="middle" fill="#555">No calls in this range.</text>')
    slot = width / max(1, len(days))
    bar_w = max(2.0, min(40.0, slot * 0.7))
    label_every = max(1, math.ceil(len(days) / 12))
    for i, day in enumerate(days):
        x = left + slot * i + (slot - bar_w) / 2
        base = float(top_pad + height)
        for name, values in series:
            value = values[i]
            if value <= 0:
                continue
            h = value * scale
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" fill="{colors[name]}"><title>{escape(day)} {escape(name)}: {value:.6f}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top_pad + height + 14}" font-size="10" text-anchor="middle" fill="#444">{escape(day[5:])}</text>')
    for i, (label, value) in enumerate(far):
        parts.append(
            f'<text class="budget" x="{left + width - 4}" y="{top_pad + 12 + 13 * i}" font-size="10" text-anchor="end" fill="{BUDGET_LINE}">{escape(label)} ${value:g}: above this scale</text>'
        )
    for label, value in near:
        y = top_pad + height - value * scale
        parts.append(
            f'<line class="budget" x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="{BUDGET_LINE}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        parts.append(f'<text x="{left + width - 4}" y="{y - 4:.1f}" font-size="10" text-anchor="end" fill="{BUDGET_LINE}">{escape(label)} ${value:g}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{full_h - 6}" font-size="11" text-anchor="middle" fill="#444">day (UTC)</text>')
    parts.append("</svg>")
    return "".join(parts)


def meter(used: float, cap: float | None, *, width: int = 120) -> str:
    """A bar showing `used` against `cap` (full and red when over it; a thin grey bar when there is no cap)."""
    if cap is None:
        return f'<svg class="meter" width="{width}" height="10" role="img" aria-label="no budget"><rect width="{width}" height="10" rx="3" fill="{METER_BG}"/></svg>'
    share = 1.0 if cap <= 0 else min(1.0, used / cap)
    fill = METER_OVER if used >= cap else METER_USED
    return (
        f'<svg class="meter" width="{width}" height="10" role="img" aria-label="{share * 100:.0f}% used">'
        f'<rect width="{width}" height="10" rx="3" fill="{METER_BG}"/><rect width="{max(share * width, 1):.1f}" height="10" rx="3" fill="{fill}"/></svg>'
    )


Box = tuple[float, float, float, float]  # p25, p50, p75, p90


def latency(rows: Sequence[tuple[str, Sequence[float], Box | None]], colors: dict[str, str]) -> str:
    """Per row (a model, its sorted latencies in ms, their p25/p50/p75/p90): a box from p25 to p75, a thick
    median line, a p90 triangle and a dot per call."""
    top = max((values[-1] for _, values, _ in rows if values), default=1.0)
    axis = ticks(top)
    left, width, row_h, top_pad = 210, 480, 34, 18
    height = top_pad + row_h * len(rows) + 34
    scale = width / axis[-1]
    parts = [
        f'<svg id="latency-chart" class="chart" width="{left + width + 30}" height="{height}" role="img" aria-label="Latency per call, by model">',
        f'<rect x="{left}" y="{top_pad}" width="{width}" height="{row_h * len(rows)}" fill="{LATENCY_BG}"/>',
    ]
    for t in axis:
        x = left + t * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{top_pad + row_h * len(rows)}" stroke="#c9d3e0" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 16}" font-size="11" text-anchor="middle" fill="#444">{t:g}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{height - 2}" font-size="11" text-anchor="middle" fill="#444">latency per call (ms)</text>')
    for i, (name, values, box) in enumerate(rows):
        y = top_pad + row_h * i + row_h / 2
        color = colors[name]
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end" fill="#222">{escape(name)}</text>')
        if not values or box is None:
            parts.append(f'<text x="{left + 8}" y="{y + 4:.1f}" font-size="11" fill="#a00">no successful calls</text>')
            continue
        p25, p50, p75, p90 = box
        parts.append(
            f'<line x1="{left + values[0] * scale:.1f}" y1="{y:.1f}" x2="{left + values[-1] * scale:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="2"/>'
        )
        parts.append(
            f'<rect x="{left + p25 * scale:.1f}" y="{y - 10:.1f}" width="{max(2.0, (p75 - p25) * scale):.1f}" height="20" fill="{color}" fill-opacity="0.35" stroke="{color}" stroke-width="1.5"/>'
        )
        parts.append(
            f'<line x1="{left + p50 * scale:.1f}" y1="{y - 12:.1f}" x2="{left + p50 * scale:.1f}" y2="{y + 12:.1f}" stroke="{color}" stroke-width="4"/>'
        )
        parts.append(f'<path d="M{left + p90 * scale:.1f},{y - 15:.1f} l-5,-6 h10 z" fill="{color}"><title>p90 {p90:.0f} ms</title></path>')
        for j, v in enumerate(values):
            jitter = ((j * 7) % 11 - 5) * 1.2
            parts.append(f'<circle cx="{left + v * scale:.1f}" cy="{y + jitter:.1f}" r="3" fill="{color}"><title>{v:.0f} ms</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def scatter(
    points: Sequence[tuple[float, float, str]],
    front: Sequence[str],
    colors: dict[str, str],
    *,
    x_label: str,
    y_label: str,
    describe: Callable[[float, float, str], str],
    empty: str,
) -> str:
    """Points (x >= 0, y in 0..1, name), the `front` ones ringed and joined by a dashed line."""
    left, top_pad, width, height = 70, 12, 560, 280
    full_w, full_h = left + width + 200, top_pad + height + 46
    parts = [
        f'<svg id="cost-quality-chart" class="chart" width="{full_w}" height="{full_h}" role="img" aria-label="{escape(x_label)} against {escape(y_label)}">',
        f'<rect x="{left}" y="{top_pad}" width="{width}" height="{height}" fill="{SCATTER_BG}"/>',
    ]
    if not points:
        parts.append(f'<text x="{left + width / 2}" y="{top_pad + height / 2}" font-size="13" text-anchor="middle" fill="#555">{escape(empty)}</text></svg>')
        return "".join(parts)
    xticks = ticks(max(p[0] for p in points) * 1.1 or 1.0)
    sx, sy = width / xticks[-1], height

    def at(x: float, y: float) -> tuple[float, float]:
        return left + x * sx, top_pad + height - y * sy

    for t in xticks:
        x = left + t * sx
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{top_pad + height}" stroke="#e3d5bf"/>')
        parts.append(f'<text x="{x:.1f}" y="{top_pad + height + 16}" font-size="10" text-anchor="middle" fill="#444">{t:.8g}</text>')
    for q in (0, 0.25, 0.5, 0.75, 1.0):
        y = top_pad + height - q * sy
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#e3d5bf"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#444">{q:g}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{full_h - 4}" font-size="11" text-anchor="middle" fill="#444">{escape(x_label)}</text>')
    parts.append(
        f'<text x="14" y="{top_pad + height / 2}" font-size="11" text-anchor="middle" fill="#444" transform="rotate(-90 14 {top_pad + height / 2})">{escape(y_label)}</text>'
    )
    front_points = sorted((x, y) for x, y, name in points if name in front)
    if len(front_points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in (at(x, y) for x, y in front_points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#555" stroke-width="1.5" stroke-dasharray="5 4"/>')
    for x, y, name in points:
        px, py = at(x, y)
        ring = ' stroke="#222" stroke-width="2"' if name in front else ""
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="8" fill="{colors[name]}"{ring}><title>{escape(describe(x, y, name))}</title></circle>')
        parts.append(f'<text x="{px + 11:.1f}" y="{py + 4:.1f}" font-size="11" fill="#222">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
