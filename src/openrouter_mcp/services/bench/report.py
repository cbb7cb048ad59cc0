"""Benchmark reports: the summary table (shared by the CLI and Markdown), and the Markdown, CSV, JSON and
self-contained HTML (inline SVG charts: latency per call for each model, cost per call vs quality)
renderings of a stored run, written only under OPENROUTER_OUTPUT_DIR. The charts and the page come from
the shared rendering layer (`openrouter_mcp.render`)."""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...render import charts, page
from .runner import inside, load
from .stats import Sample, percentile

if TYPE_CHECKING:
    from ...app import App

FORMATS = {"markdown": "md", "csv": "csv", "json": "json", "html": "html"}
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


def _latency_svg(record: dict[str, Any], samples: list[Sample], colors: dict[str, str]) -> str:
    rows: list[tuple[str, list[float], charts.Box | None]] = []
    for s in record["models"]:
        values = sorted(x.latency_ms for x in samples if x.model == s["model"] and x.ok and x.latency_ms is not None)
        box = (percentile(values, 25), percentile(values, 50), percentile(values, 75), percentile(values, 90)) if values else None
        rows.append((s["model"], values, box))
    return charts.latency(rows, colors)


def _scatter_svg(record: dict[str, Any], colors: dict[str, str]) -> str:
    points = [
        (float(s["cost_per_call_usd"]), float(s["quality"]["mean"]), s["model"])
        for s in record["models"]
        if s.get("cost_per_call_usd") is not None and s.get("quality") and s["quality"]["mean"] is not None
    ]
    return charts.scatter(
        points,
        record.get("pareto_front") or [],
        colors,
        x_label="cost per call (USD)",
        y_label="quality (0..1)",
        describe=lambda c, q, m: f"{m}: {money(Decimal(str(c)))} per call, quality {q:.2f}",
        empty="No quality checks in this run's prompts.",
    )


def body(record: dict[str, Any], samples: list[Sample]) -> str:
    """The report without its page: facts, both charts, the ranking and the errors (the MCP Apps view of a
    run shows the same)."""
    colors = charts.colors_for(sorted((s["model"] for s in record["models"]), key=record["config"]["models"].index))
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in _describe(record))
    rows = [
        [f'<span class="sw" style="background:{colors[row[1]]}"></span>{escape(c)}' if i == 1 else escape(c) for i, c in enumerate(row)]
        for row in summary_rows(record)
    ]
    errors = "".join(f"<li>{escape(e)}</li>" for e in _errors(record))
    return f"""<h1>Benchmark {escape(record["id"])}</h1>
<dl>{facts}</dl>
<h2>Latency per call</h2>
<p class="note">Box: p25 to p75; thick line: median; triangle: p90; dots: each successful measured call.</p>
{_latency_svg(record, samples, colors)}
<h2>Cost per call against quality</h2>
<p class="note">Ringed points are the Pareto front: no other model is both cheaper and better.</p>
{_scatter_svg(record, colors)}
<h2>Ranking</h2>
{page.table(HEADERS, rows, left=(1,), table_id="ranking")}
<p class="note">Medians and p90s are over each model's successful measured calls; score is 0..1 under the weights, times the success rate.</p>
{"<h2>Errors</h2><ul>" + errors + "</ul>" if errors else ""}"""


def html(record: dict[str, Any], samples: list[Sample]) -> str:
    """One self-contained page (no scripts, no external resources)."""
    return page.document(f"Benchmark {record['id']}", body(record, samples))


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


async def export(app: App, benchmark_id: Any, fmt: str, save_path: str | None) -> tuple[Path, int, dict[str, Any], list[Sample]]:
    """Render a stored run and save it under the output folder; returns (path, bytes, record, samples)."""
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
    return path, size, record, samples
