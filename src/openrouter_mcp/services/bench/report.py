"""Benchmark reports: the summary table (shared by the CLI and Markdown), and the Markdown, CSV, JSON and
self-contained HTML (inline SVG charts: latency per call for each model, cost per call vs quality)
renderings of a stored run, written only under OPENROUTER_OUTPUT_DIR."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runner import inside, load
from .stats import Sample, percentile

if TYPE_CHECKING:
    from ...app import App

FORMATS = {"markdown": "md", "csv": "csv", "json": "json", "html": "html"}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
# The plot areas' fills: plain colours a screenshot test can find the charts by.
LATENCY_BG = "#eef3fa"
SCATTER_BG = "#faf3e8"
MAX_RESOURCE_BYTES = 5_000_000
HEADERS = ("rank", "model", "score", "TTFT p50/p90 ms", "latency p50/p90 ms", "tok/s p50", "ok", "quality", "$/call", "cost")


def money(value: str | Decimal | None) -> str:
    if value is None:
        return "-"
    d = Decimal(value)
    if d == 0:
        return "$0"
    text = f"{d.quantize(Decimal('1e-8')):f}".rstrip("0").rstrip(".")
    return f"${text}" if text not in ("0", "") else "<$0.00000001"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pair(stat: dict[str, Any]) -> str:
    return "-" if stat["n"] == 0 else f"{_num(stat['median'])} / {_num(stat['p90'])}"


def summary_rows(record: dict[str, Any]) -> list[list[str]]:
    rows = []
    for s in record["models"]:
        quality = s.get("quality")
        rows.append(
            [
                str(s["rank"]),
                s["model"],
                f"{s['scores']['overall']:.2f}",
                _pair(s["ttft_ms"]),
                _pair(s["latency_ms"]),
                _num(s["tokens_per_s"]["median"]),
                f"{s['ok']}/{s['calls']}",
                "-" if not quality or quality["mean"] is None else f"{quality['mean']:.2f}",
                money(s["cost_per_call_usd"]),
                money(s["cost_usd"]),
            ]
        )
    return rows


def text_table(record: dict[str, Any]) -> str:
    """The summary as an aligned plain-text table (the CLI prints it)."""
    rows = [list(HEADERS), *summary_rows(record)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) if i == 1 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


PARETO_LABEL = "Pareto front (cost vs quality)"


def pareto_line(record: dict[str, Any]) -> str:
    """The run's Pareto front as one line, as the tool and the CLI end their summary."""
    return f"{PARETO_LABEL}: {_pareto(record)}"


def _pareto(record: dict[str, Any]) -> str:
    return ", ".join(record["pareto_front"]) or "none (no quality measured)"


def _describe(record: dict[str, Any]) -> list[tuple[str, str]]:
    cfg = record["config"]
    weights = ", ".join(f"{k} {v:g}" for k, v in cfg["weights"].items())
    return [
        ("Started", f"{record['created_at']} ({record['duration_s']:.1f} s)"),
        (
            "Prompts",
            f"{cfg['source']} ({len(cfg['prompts'])} prompts) x {cfg['runs']} runs; warm-up {cfg['warmup']} per model; concurrency {cfg['concurrency']}; max_tokens {cfg['max_tokens']}",
        ),
        ("Weights", weights),
        (
            "Cost",
            f"{money(record['cost_usd'])} in {record['calls']} calls (jury {money(record['judge_cost_usd'])}; failed calls {money(record.get('wasted_usd') or '0')}"
            + (f"; {record['unknown_cost_calls']} of unknown cost" if record.get("unknown_cost_calls") else "")
            + f"); worst case estimated up front {money(record['estimate_usd'])}",
        ),
        (PARETO_LABEL, _pareto(record)),
    ]


def _errors(record: dict[str, Any]) -> list[str]:
    return [f"{s['model']}: " + ", ".join(f"{code} x{n}" for code, n in s["errors"].items()) for s in record["models"] if s["errors"]]


def markdown(record: dict[str, Any]) -> str:
    out = [f"# Benchmark {record['id']}", ""]
    out += [f"- **{k}**: {v}" for k, v in _describe(record)]
    out += ["", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in summary_rows(record)]
    out += ["", "Medians and p90s are over each model's successful measured calls (ok); score is 0..1 under the weights, times the success rate."]
    if errs := _errors(record):
        out += ["", "## Errors", "", *[f"- {e}" for e in errs]]
    return "\n".join(out) + "\n"


CSV_COLUMNS = (
    "model",
    "prompt_id",
    "run",
    "ok",
    "error_code",
    "ttft_ms",
    "latency_ms",
    "tokens_per_s",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "quality",
    "generation_id",
)


def csv_text(record: dict[str, Any], samples: list[Sample]) -> str:
    """One row per measured call (model replies are left out: they are untrusted text)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("benchmark_id", *CSV_COLUMNS))
    for s in samples:
        d = s.to_dict()
        writer.writerow((record["id"], *("" if d[c] is None else d[c] for c in CSV_COLUMNS)))
    return buf.getvalue()


def json_text(record: dict[str, Any], samples: list[Sample]) -> str:
    return json.dumps({"benchmark": record, "samples": [s.to_dict() for s in samples], "content_is_untrusted": True}, indent=2) + "\n"


# ---------- HTML ----------


def _ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = int(top / step + 0.999999)
    return [round(i * step, 12) for i in range(n + 1)]


def _latency_svg(record: dict[str, Any], samples: list[Sample], colors: dict[str, str]) -> str:
    models = [s["model"] for s in record["models"]]
    by_model = {m: sorted(x.latency_ms for x in samples if x.model == m and x.ok and x.latency_ms is not None) for m in models}
    top = max((v[-1] for v in by_model.values() if v), default=1.0)
    ticks = _ticks(top)
    left, width, row_h, top_pad = 210, 480, 34, 18
    height = top_pad + row_h * len(models) + 34
    scale = width / ticks[-1]
    parts = [
        f'<svg id="latency-chart" width="{left + width + 30}" height="{height}" role="img" aria-label="Latency per call, by model">',
        f'<rect x="{left}" y="{top_pad}" width="{width}" height="{row_h * len(models)}" fill="{LATENCY_BG}"/>',
    ]
    for t in ticks:
        x = left + t * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{top_pad + row_h * len(models)}" stroke="#c9d3e0" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 16}" font-size="11" text-anchor="middle" fill="#444">{t:g}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{height - 2}" font-size="11" text-anchor="middle" fill="#444">latency per call (ms)</text>')
    for i, m in enumerate(models):
        y = top_pad + row_h * i + row_h / 2
        color = colors[m]
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end" fill="#222">{escape(m)}</text>')
        values = by_model[m]
        if not values:
            parts.append(f'<text x="{left + 8}" y="{y + 4:.1f}" font-size="11" fill="#a00">no successful calls</text>')
            continue
        p25, p50, p75, p90 = (percentile(values, q) for q in (25, 50, 75, 90))
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


def _scatter_svg(record: dict[str, Any], colors: dict[str, str]) -> str:
    left, top_pad, width, height = 70, 12, 560, 280
    full_w, full_h = left + width + 200, top_pad + height + 46
    points = [
        (float(s["cost_per_call_usd"]), float(s["quality"]["mean"]), s["model"])
        for s in record["models"]
        if s.get("cost_per_call_usd") is not None and s.get("quality") and s["quality"]["mean"] is not None
    ]
    parts = [
        f'<svg id="cost-quality-chart" width="{full_w}" height="{full_h}" role="img" aria-label="Cost per call against quality">',
        f'<rect x="{left}" y="{top_pad}" width="{width}" height="{height}" fill="{SCATTER_BG}"/>',
    ]
    if not points:
        parts.append(
            f'<text x="{left + width / 2}" y="{top_pad + height / 2}" font-size="13" text-anchor="middle" fill="#555">No quality checks in this run\'s prompts.</text></svg>'
        )
        return "".join(parts)
    xticks = _ticks(max(p[0] for p in points) * 1.1 or 1.0)
    sx, sy = width / xticks[-1], height

    def at(cost: float, quality: float) -> tuple[float, float]:
        return left + cost * sx, top_pad + height - quality * sy

    for t in xticks:
        x = left + t * sx
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{top_pad + height}" stroke="#e3d5bf"/>')
        parts.append(f'<text x="{x:.1f}" y="{top_pad + height + 16}" font-size="10" text-anchor="middle" fill="#444">{t:.8g}</text>')
    for q in (0, 0.25, 0.5, 0.75, 1.0):
        y = top_pad + height - q * sy
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#e3d5bf"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#444">{q:g}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{full_h - 4}" font-size="11" text-anchor="middle" fill="#444">cost per call (USD)</text>')
    parts.append(
        f'<text x="14" y="{top_pad + height / 2}" font-size="11" text-anchor="middle" fill="#444" transform="rotate(-90 14 {top_pad + height / 2})">quality (0..1)</text>'
    )
    front = record.get("pareto_front") or []
    front_points = sorted((c, q) for c, q, m in points if m in front)
    if len(front_points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(c, q) for c, q in front_points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#555" stroke-width="1.5" stroke-dasharray="5 4"/>')
    for c, q, m in points:
        x, y = at(c, q)
        ring = ' stroke="#222" stroke-width="2"' if m in front else ""
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{colors[m]}"{ring}><title>{escape(m)}: {money(Decimal(str(c)))} per call, quality {q:.2f}</title></circle>'
        )
        parts.append(f'<text x="{x + 11:.1f}" y="{y + 4:.1f}" font-size="11" fill="#222">{escape(m)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html(record: dict[str, Any], samples: list[Sample]) -> str:
    """One self-contained page (no scripts, no external resources)."""
    colors = {s["model"]: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(record["models"], key=lambda s: record["config"]["models"].index(s["model"])))}
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in _describe(record))
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=m' if i == 1 else ''}>{'<span class=sw style=background:' + colors[row[1]] + '></span>' if i == 1 else ''}{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in summary_rows(record)
    )
    errors = "".join(f"<li>{escape(e)}</li>" for e in _errors(record))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Benchmark {escape(record["id"])}</title>
<style>
body{{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px;max-width:1000px}}
h1{{font-size:20px;margin:0 0 8px}} h2{{font-size:16px;margin:22px 0 6px}}
dl{{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}} dt{{color:#666}} dd{{margin:0}}
table{{border-collapse:collapse;margin-top:8px}} th,td{{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}}
td.m,th:nth-child(2){{text-align:left}} .sw{{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}}
.note{{color:#666;font-size:12px}}
</style></head><body>
<h1>Benchmark {escape(record["id"])}</h1>
<dl>{facts}</dl>
<h2>Latency per call</h2>
<p class="note">Box: p25 to p75; thick line: median; triangle: p90; dots: each successful measured call.</p>
{_latency_svg(record, samples, colors)}
<h2>Cost per call against quality</h2>
<p class="note">Ringed points are the Pareto front: no other model is both cheaper and better.</p>
{_scatter_svg(record, colors)}
<h2>Ranking</h2>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p class="note">Medians and p90s are over each model's successful measured calls; score is 0..1 under the weights, times the success rate.</p>
{"<h2>Errors</h2><ul>" + errors + "</ul>" if errors else ""}
</body></html>
"""


def render(record: dict[str, Any], samples: list[Sample], fmt: str) -> str:
    if fmt == "markdown":
        return markdown(record)
    if fmt == "csv":
        return csv_text(record, samples)
    if fmt == "json":
        return json_text(record, samples)
    return html(record, samples)


URI_PREFIX = "bench://output/"


def uri_of(path: Path, output_dir: Path) -> str:
    """The `bench://output/...` resource URI of a report written under the output folder."""
    return URI_PREFIX + path.relative_to(output_dir.resolve()).as_posix()


def read_report(rel: str, output_dir: Path) -> str:
    """The text of the report a `bench://output/<rel>` URI names (UNSAFE_PATH outside the output folder)."""
    from ...errors import invalid

    path = inside(output_dir, rel, "uri")
    if not path.is_file():
        raise invalid("uri", f"{URI_PREFIX}{rel} does not exist", "Export the report again with export_benchmark_report")
    from ..media.inputs import open_inside

    with open_inside(path, (output_dir.resolve(),), "uri") as f:
        data = f.read(MAX_RESOURCE_BYTES + 1)
    if len(data) > MAX_RESOURCE_BYTES:
        raise invalid("uri", f"{URI_PREFIX}{rel} has more than {MAX_RESOURCE_BYTES} bytes, the most a resource may carry", f"Open it at {path}")
    return data.decode("utf-8", errors="replace")


def write_file(path: Path, text: str) -> int:
    """Write atomically (a reader never sees half a report); returns the size in bytes. The temporary
    file's name is short whatever the report's, so a name that fits is never refused for it."""
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".report-{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(data)


async def export(app: App, benchmark_id: Any, fmt: str, save_path: str | None) -> tuple[Path, int, dict[str, Any]]:
    """Render a stored run and save it under the output folder; returns (path, bytes, record)."""
    from ...errors import invalid

    if fmt not in FORMATS:
        raise invalid("format", f"{fmt!r} is not a report format", f"Use one of {', '.join(FORMATS)}")
    from ..media.output import check_path, output_limits

    record, samples = await load(app, benchmark_id)
    ext = FORMATS[fmt]
    path = inside(app.settings.output_dir, save_path or f"benchmarks/{record['id']}.{ext}", "save_path")
    limits = output_limits(app.settings)
    check_path(path, "save_path", limits)  # a name too long is refused before it is looked up
    if path.is_dir():
        raise invalid("save_path", f"{save_path!r} is a folder", f"Name a file in it, e.g. {record['id']}.{ext}")
    if path.suffix.lower() != f".{ext}":
        # The extension says what the file is (and which report resource serves it).
        path = path.with_name(f"{path.stem if path.suffix else path.name}.{ext}")
        check_path(path, "save_path", limits)
    text = render(record, samples, fmt)
    try:
        size = write_file(path, text)
    except OSError as exc:  # a race or a permission: the run is stored, so exporting again loses nothing
        raise invalid("save_path", f"{path} could not be written ({exc.strerror or type(exc).__name__})", "Pick another save_path, or leave it out") from None
    return path, size, record
