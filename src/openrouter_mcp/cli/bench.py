"""`openrouter-mcp bench`: benchmark models from the command line with a live progress bar on stderr
and the summary table on stdout; the run is stored like one made through the tool. Heavy imports
wait until the command runs, so `openrouter-mcp --help` stays fast."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", required=True, help="comma-separated model ids (2-10), e.g. openai/gpt-4o-mini,anthropic/claude-haiku-4.5")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--suite", help="a built-in suite: reasoning (default), json, coding")
    source.add_argument("--prompts", metavar="FILE", help="a JSONL file: one {prompt, expected?, schema?, judge_criteria?} per line")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per prompt (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured calls per model before measuring (default 1)")
    parser.add_argument("--concurrency", type=int, default=4, help="calls at a time (default 4)")
    parser.add_argument("--max-tokens", type=int, default=512, help="cap per answer (default 512)")
    parser.add_argument("--weights", default="speed=1,cost=1,quality=1", help="ranking weights (default speed=1,cost=1,quality=1)")
    parser.add_argument("--judges", help="comma-separated jury for judge_criteria prompts (default: the configured collective jury)")
    parser.add_argument("--max-cost", type=float, default=1.0, help="refuse if the run's worst case could cost more (USD, default 1)")
    parser.add_argument("--html", metavar="FILE", help="also write the HTML report (with charts) to FILE")
    parser.add_argument("--simulate", action="store_true", help="run against the built-in OpenRouter simulator (no key, no network)")


def _csv(text: str | None) -> list[str] | None:
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def _weights(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in _csv(text) or []:
        key, _, value = part.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value
    return out


class Bar:
    """Progress on stderr: rich's live bar on a terminal; elsewhere (a log, a pipe) a plain line per quarter."""

    def __init__(self, stream: Any = sys.stderr, width: int = 28) -> None:
        self.stream = stream
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._live: Progress | None = None  # started at the first update on a terminal
        self._quarter = -1

    async def update(self, done: int, total: int, label: str) -> None:
        if self.tty:
            self._draw(done, total, label)
        elif (quarter := 4 * done // max(total, 1)) != self._quarter:
            self._quarter = quarter
            filled = int(self.width * done / total) if total else self.width
            self.stream.write(f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {label}\n")
            self.stream.flush()

    def _draw(self, done: int, total: int, label: str) -> None:
        if self._live is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._live = Progress(
                BarColumn(bar_width=self.width), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"), console=Console(file=self.stream)
            )
            self._live.start()
            self._live.add_task(label, total=total)
        self._live.update(self._live.task_ids[0], completed=done, total=total, description=label)

    def close(self) -> None:
        """Stop the live bar (and give the terminal its cursor back); closing twice is harmless."""
        if self._live is not None:
            self._live.stop()
            self._live = None


def summary_table(record: dict[str, Any]) -> str:
    """The run's summary for stdout: the columns the report's tables have, right-aligned but for the model."""
    from rich.table import Column

    from ..services.bench import report as bench_report
    from .tables import draw, table

    grid = table(*(Column(h, style="cyan") if h == "model" else Column(h, justify="right") for h in bench_report.HEADERS))
    for row in bench_report.summary_rows(record):
        grid.add_row(*row)
    return draw(grid)


async def _run(args: argparse.Namespace) -> int:
    from ..app import App
    from ..errors import ToolFailure
    from ..services.bench import report as bench_report
    from ..services.bench import runner as bench
    from .common import settings_or_exit, setup_logging, simulated

    settings = settings_or_exit(simulate=args.simulate)
    setup_logging("WARNING")
    if args.simulate:
        settings = simulated(settings)
    app = App(settings)
    bar = Bar()
    try:
        cfg = bench.build_config(
            {
                "models": _csv(args.models),
                "prompts": args.prompts or args.suite,
                "runs": args.runs,
                "warmup": args.warmup,
                "concurrency": args.concurrency,
                "max_tokens": args.max_tokens,
                "weights": _weights(args.weights),
                "judges": _csv(args.judges),
                "max_cost_usd": args.max_cost,
            },
            settings,
            sandbox=False,  # the person at the terminal names their own file
        )
        plan = await bench.prepare(app, cfg)
        print(
            f"Benchmarking {len(cfg.models)} models on {cfg.source} ({len(cfg.prompts)} prompts x {cfg.runs} runs); "
            f"worst case {bench_report.money(plan.estimate_usd)}",
            file=sys.stderr,
        )
        record = await bench.run_benchmark(app, plan, on_progress=bar.update)
        html_path = None
        if args.html:
            from pathlib import Path

            _, samples = await bench.load(app, record["id"])
            html_path = Path(args.html).expanduser().resolve()
            bench_report.write_file(html_path, bench_report.html(record, samples))
    except ToolFailure as failure:
        bar.close()  # before the message, so it does not land inside the live bar
        print(f"openrouter-mcp bench: {failure.code.value}: {failure.message}", file=sys.stderr)
        return 1
    finally:
        bar.close()  # also when interrupted
        await app.aclose()
    print(summary_table(record))
    print()
    print(f"{record['id']}: {record['calls']} calls in {record['duration_s']:.1f} s, {bench_report.money(record['cost_usd'])}")
    print(bench_report.pareto_line(record))
    if html_path is not None:
        print(f"HTML report: {html_path}")
    return 0


def run(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_run(args))
