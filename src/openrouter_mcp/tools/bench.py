"""The `bench` toolset: `benchmark_models`, `get_benchmark_history` and `export_benchmark_report`."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ResourceLink, ToolAnnotations
from pydantic import Field

from ..core.progress import ProgressFn
from ..core.protocol_errors import resource_failure
from ..core.results import ok, tool_args
from ..core.templates import add_templates_by_extension
from ..errors import ToolFailure
from ..render.apps import TOOL_META, wants_view, with_view
from ..services import files as saved_files
from ..services.bench import report as bench_report
from ..services.bench import runner as bench
from ..shapes import Shape
from ._common import PAID_CALL, READ_ONLY_LOCAL, run_job

if TYPE_CHECKING:
    from ..app import App

# Overwrites the report file it names (inside the output folder), and the same call writes the same file.
WRITES_REPORT = ToolAnnotations(idempotent_hint=True, open_world_hint=False)  # may overwrite its own report: destructive (the default)
MIME = {"markdown": "text/markdown", "csv": "text/csv", "json": "application/json", "html": "text/html"}


class Stat(Shape):
    median: float | None
    p90: float | None
    mean: float | None
    n: int = Field(description="Samples behind the figures.")


class Scores(Shape):
    speed: float | None
    cost: float | None
    quality: float | None
    overall: float


class ModelResult(Shape):
    model: str
    rank: int
    scores: Scores
    calls: int
    ok: int
    success_rate: float
    errors: dict[str, int] = Field(description="Failed calls by error code.")
    ttft_ms: Stat
    latency_ms: Stat
    tokens_per_s: Stat = Field(description="Completion tokens over the time after the first token.")
    quality: Stat | None = Field(description="0..1 over scored answers; null when no prompt says how to score.")
    cost_usd: float = Field(description="All of this model's calls, warm-up included.")
    cost_usd_exact: str
    cost_per_call_usd: float | None


class Usage(Shape):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class BenchOutput(Shape):
    benchmark_id: str
    models: list[ModelResult] = Field(description="Best first.")
    ranking: list[str]
    pareto_front: list[str] = Field(description="Models no other beats on both cost per call and quality, cheapest first.")
    weights: dict[str, float]
    prompts: str = Field(description="suite:NAME, list or file:NAME.")
    prompt_count: int
    runs: int
    calls: int
    duration_s: float
    estimate_usd: float = Field(description="Worst case checked before the first call.")
    judge_cost_usd: float
    judge_errors: int
    usage: Usage
    cost_usd: float = Field(description="Everything billed, failed calls included.")
    cost_usd_exact: str
    wasted_usd: float = Field(0.0, description="Part of cost_usd billed for calls that failed: it bought no answer.")
    unknown_cost_calls: int = Field(0, description="Calls that may have been billed but whose cost OpenRouter had not reported yet: not in cost_usd.")


class HistoryItem(Shape):
    benchmark_id: str
    created_at: str
    models: list[str]
    prompts: str
    runs: int
    ranking: list[str]
    calls: int
    cost_usd: float


class HistoryOutput(Shape):
    runs: list[HistoryItem] = Field(description="Newest first.")
    total: int = Field(description="Runs that matched the filters.")


class ExportOutput(Shape):
    benchmark_id: str
    format: str
    path: str
    uri: str = Field(description="bench://output/... resource with the report.")
    bytes: int


def bench_output(record: dict[str, Any]) -> BenchOutput:
    cfg = record["config"]
    usage = record["usage"]
    return BenchOutput(
        benchmark_id=record["id"],
        models=[
            ModelResult(
                **{k: v for k, v in s.items() if k not in ("cost_usd", "cost_per_call_usd", "prompt_tokens", "completion_tokens")},
                cost_usd=float(s["cost_usd"]),
                cost_usd_exact=s["cost_usd"],
                cost_per_call_usd=None if s["cost_per_call_usd"] is None else float(s["cost_per_call_usd"]),
            )
            for s in record["models"]
        ],
        ranking=record["ranking"],
        pareto_front=record["pareto_front"],
        weights=cfg["weights"],
        prompts=cfg["source"],
        prompt_count=len(cfg["prompts"]),
        runs=cfg["runs"],
        calls=record["calls"],
        duration_s=record["duration_s"],
        estimate_usd=float(record["estimate_usd"]),
        judge_cost_usd=float(record["judge_cost_usd"]),
        judge_errors=record["judge_errors"],
        usage=Usage(
            prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"], total_tokens=usage["prompt_tokens"] + usage["completion_tokens"]
        ),
        cost_usd=float(record["cost_usd"]),
        cost_usd_exact=record["cost_usd"],
        wasted_usd=float(record.get("wasted_usd") or 0),
        unknown_cost_calls=record.get("unknown_cost_calls") or 0,
    )


def summary_text(record: dict[str, Any]) -> str:
    cost = bench_report.money(Decimal(record["cost_usd"]))
    if Decimal(record.get("wasted_usd") or 0):
        cost += f" ({bench_report.money(Decimal(record['wasted_usd']))} of it on failed calls)"
    if record.get("unknown_cost_calls"):
        cost += f" + {record['unknown_cost_calls']} call(s) of unknown cost"
    return (
        f"Benchmark {record['id']}: {record['calls']} calls, {cost}.\n"
        f"{bench_report.text_table(record)}\n"
        f"{bench_report.pareto_line(record)}. Export with export_benchmark_report."
    )


def register(server: MCPServer[Any], app: App) -> None:
    @server.tool(
        annotations=PAID_CALL,
        meta=TOOL_META,
        description=(
            "Benchmark 2-10 models on prompts or a suite (reasoning, json, coding): TTFT, latency, tokens/s, success, cost, quality; ranked by weights."
        ),
    )
    async def benchmark_models(
        models: Annotated[list[str], Field(min_length=2, max_length=10)],
        prompts: Annotated[
            Annotated[list[str | dict[str, Any]], Field(max_length=200)] | str | None,
            Field(description="[str | {prompt, expected?, schema?, judge_criteria?}], a suite name or a .jsonl file"),
        ] = None,
        runs: Annotated[int | None, Field(ge=1, le=20, description="Per prompt; default 3")] = None,
        warmup: Annotated[int | None, Field(ge=0, le=5, description="Default 1")] = None,
        concurrency: Annotated[int | None, Field(ge=1, le=16, description="Default 4")] = None,
        max_tokens: Annotated[int | None, Field(ge=16, le=32768, description="Default 512")] = None,
        temperature: Annotated[float | None, Field(ge=0, le=2)] = None,
        weights: Annotated[dict[str, Annotated[float, Field(ge=0, le=100)]] | None, Field(description="{speed, cost, quality}; default 1 each")] = None,
        judges: Annotated[list[str] | None, Field(min_length=1, max_length=5, description="Jury for judge_criteria")] = None,
        max_cost_usd: Annotated[float | None, Field(gt=0, description="Worst-case cap; default 1")] = None,
        wait_seconds: Annotated[float | None, Field(ge=0)] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, BenchOutput]:
        args = tool_args(locals())
        cfg = bench.build_config(args, app.settings)
        plan = await bench.prepare(app, cfg)

        async def run(progress: ProgressFn) -> tuple[BenchOutput, str]:
            record = await bench.run_benchmark(app, plan, on_progress=progress)
            return bench_output(record), summary_text(record)

        return await _with_report_view(app, ctx, await run_job(app, "benchmark_models", args, wait_seconds, ctx, run))

    @server.tool(annotations=READ_ONLY_LOCAL, description="Stored benchmark runs, newest first, by model, suite and date.")
    async def get_benchmark_history(
        model: str | None = None,
        suite: str | None = None,
        since: Annotated[str | None, Field(description="YYYY-MM-DD")] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
    ) -> Annotated[CallToolResult, HistoryOutput]:
        records, total = await bench.history(app, model=model, suite=suite, since=since, limit=limit)
        items = [
            HistoryItem(
                benchmark_id=r["id"],
                created_at=r["created_at"],
                models=r["config"]["models"],
                prompts=r["config"]["source"],
                runs=r["config"]["runs"],
                ranking=r["ranking"],
                calls=r["calls"],
                cost_usd=float(r["cost_usd"]),
            )
            for r in records
        ]
        lines = [f"{i.benchmark_id}  {i.created_at[:19]}  {i.prompts} x{i.runs}  best: {i.ranking[0] if i.ranking else '-'}  ${i.cost_usd:.6f}" for i in items]
        text = "\n".join(lines) if lines else "No stored benchmark runs match."
        if total > len(items):
            text += f"\n({total - len(items)} more; raise limit or narrow the filters)"
        return ok(HistoryOutput(runs=items, total=total), text)

    @server.tool(
        annotations=WRITES_REPORT,
        meta=TOOL_META,
        description="Write a benchmark as markdown, csv, json or html (charts) to the output folder, as a resource_link.",
    )
    async def export_benchmark_report(
        benchmark_id: str,
        format: Annotated[str, Field(description="markdown, csv, json or html.")] = "html",
        save_path: Annotated[str | None, Field(description="Default benchmarks/<id>.<ext>")] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, ExportOutput]:
        path, size, record, samples = await bench_report.export(app, benchmark_id, format, save_path)
        out = ExportOutput(benchmark_id=record["id"], format=format, path=str(path), uri=bench_report.uri_of(path, app.settings.output_dir), bytes=size)
        result = ok(out, f"Wrote the {format} report of {record['id']} to {path} ({size} bytes).")
        result.content.append(ResourceLink(type="resource_link", uri=out.uri, name=path.name, mime_type=MIME[format], size=size))
        await saved_files.keep(app, out.uri, path, MIME[format])
        return with_view(result, ctx, lambda _: bench_report.body(record, samples))

    async def read_report(path: str, ext: str) -> str:
        return await _read_report(app, path, ext)

    kinds = [(ext, MIME[fmt]) for fmt, ext in bench_report.FORMATS.items()]
    add_templates_by_extension(
        server, uri_prefix=bench_report.URI_PREFIX, kinds=kinds, name="benchmark-report-{ext}", description="A benchmark report (.{ext})", read=read_report
    )


async def _with_report_view(app: App, ctx: Context | None, result: CallToolResult) -> CallToolResult:
    """The result with the run's report (charts and ranking) as its MCP Apps view; a job still running has none."""
    if not wants_view(result, ctx) or "benchmark_id" not in (result.structured_content or {}):
        return result
    record, samples = await bench.load(app, (result.structured_content or {})["benchmark_id"])
    return with_view(result, ctx, lambda _: bench_report.body(record, samples))


async def _read_report(app: App, path: str, ext: str) -> str:
    """An exported report, read through the benchmark-report-<ext> templates."""
    try:
        return bench_report.read_report(f"{path}.{ext}", app.settings.output_dir)
    except ToolFailure as failure:
        # Exported through another replica: its text is in the shared database.
        if (kept := await saved_files.read(app, f"{bench_report.URI_PREFIX}{path}.{ext}")) is not None:
            return kept.decode("utf-8", errors="replace")
        raise resource_failure(failure) from None  # "Resource not found" for a missing or outside path
