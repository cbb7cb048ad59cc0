"""The `collective` toolset: several models answer together. Voting and synthesis
(`collective_chat_completion`), Mixture-of-Agents (`ensemble_reasoning`), a jury of judges
(`cross_model_validation`), debate (`collaborative_problem_solving`) and evidence-based model choice
(`adaptive_model_selection`). Handlers validate, then run the service as a job-capable work unit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from ..core.results import ok, tool_args
from ..services import collective as svc
from ..services.collective.selection import SelectionResult, check_constraints, select_models
from ._common import PAID_CALL, READ_ONLY_LOCAL, run_job

if TYPE_CHECKING:
    from ..app import App

Models = Annotated[list[str] | None, Field(min_length=1, max_length=16)]
MaxCost = Annotated[float | None, Field(gt=0)]
Wait = Annotated[float | None, Field(ge=0)]
AnswerType = Literal["auto", "choice", "number", "text"] | None
MaxTokens = Annotated[int | None, Field(ge=1, le=32_000)]
TimeoutS = Annotated[float | None, Field(gt=0, le=3600)]


Result = svc.ConsensusResult | svc.EnsembleResult | svc.ValidationResult | svc.DebateResult


def _failures(failures: list[svc.Failure]) -> str:
    return "" if not failures else "\nFailed: " + "; ".join(f"{f.model} ({f.code})" for f in failures)


def _cost(out: svc.RunTotals) -> str:
    cost = f"${out.cost_usd:.6f}"
    if out.wasted_usd:
        cost += f" (${out.wasted_usd:.6f} of it on failed calls)"
    if out.unknown_cost_calls:
        cost += f" + {out.unknown_cost_calls} call(s) of unknown cost"
    return f"{out.usage.calls} calls · {cost} · {out.wall_time_ms / 1000:.2f} s"


def _job(
    app: App, tool: str, args: dict[str, Any], wait_seconds: float | None, ctx: Any, run: Callable[[svc.ProgressFn], Awaitable[tuple[Result, str]]]
) -> Awaitable[CallToolResult]:
    """Run as a job; the text ends with the run's calls, cost, time and failures."""

    async def with_footer(progress: svc.ProgressFn) -> tuple[Result, str]:
        out, text = await run(progress)
        return out, f"{text}\n— {_cost(out)}{_failures(out.failures)}"

    return run_job(app, tool, args, wait_seconds, ctx, with_footer)


def register(server: MCPServer[Any], app: App) -> None:
    @server.tool(
        annotations=PAID_CALL,
        description=("Ask several models (or samples of one) in parallel: consensus with agreement, each answer, failures. Stops early once decided."),
    )
    async def collective_chat_completion(
        prompt: str,
        models: Models = None,
        strategy: Literal["majority_vote", "weighted", "synthesis"] | None = None,
        max_cost_usd: MaxCost = None,
        wait_seconds: Wait = None,
        weights: Annotated[
            dict[str, Annotated[float, Field(gt=0, le=1_000_000)]] | None, Field(description="{model: weight}; default: measured accuracy")
        ] = None,
        aggregator: Annotated[str | None, Field(description="synthesis: writes the answer")] = None,
        answer_type: AnswerType = None,
        early_stop: Annotated[bool | None, Field(description="Default true")] = None,
        temperature: Annotated[float | None, Field(ge=0, le=2)] = None,
        max_tokens: MaxTokens = None,
        timeout_s: TimeoutS = None,
        concurrency: Annotated[int | None, Field(ge=1, le=32)] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, svc.ConsensusResult]:
        args = tool_args(locals())
        plan = svc.plan_consensus(app, args)

        async def run(progress: svc.ProgressFn) -> tuple[svc.ConsensusResult, str]:
            out = await svc.consensus(app, plan, progress=progress)
            head = f"{out.strategy}: {out.final_answer or out.answer[:300]} (agreement {out.agreement:.0%}"
            head += f", {out.calls_saved} calls saved by early stop)" if out.early_stopped else ")"
            return out, f"{head}\n{out.answer[:2000]}"

        return await _job(app, "collective_chat_completion", args, wait_seconds, ctx, run)

    @server.tool(
        annotations=PAID_CALL,
        description=("Mixture-of-Agents: proposers answer in layers, an aggregator synthesizes."),
    )
    async def ensemble_reasoning(
        problem: str,
        models: Models = None,
        max_cost_usd: MaxCost = None,
        wait_seconds: Wait = None,
        proposers: Annotated[list[str] | None, Field(min_length=1, max_length=16, description="Instead of models")] = None,
        aggregator: str | None = None,
        layers: Annotated[int | None, Field(ge=1, le=3)] = None,
        self_moa: Annotated[bool | None, Field(description="Sample the best model instead")] = None,
        samples: Annotated[int | None, Field(ge=2, le=16)] = None,
        decompose: Annotated[bool | None, Field(description="Plan dependent subtasks first")] = None,
        max_subtasks: Annotated[int | None, Field(ge=1, le=8)] = None,
        answer_type: AnswerType = None,
        max_tokens: MaxTokens = None,
        timeout_s: TimeoutS = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, svc.EnsembleResult]:
        args = tool_args(locals())
        plan = await svc.plan_ensemble(app, args)

        async def run(progress: svc.ProgressFn) -> tuple[svc.EnsembleResult, str]:
            out = await svc.ensemble(app, plan, progress=progress)
            head = f"{out.method} ({len(out.proposers)} proposers × {max(1, len(out.layers))} layer(s), aggregator {out.aggregator})"
            if out.final_answer is not None:
                head += f": {out.final_answer}"
            return out, f"{head}\n{out.answer[:3000]}"

        return await _job(app, "ensemble_reasoning", args, wait_seconds, ctx, run)

    @server.tool(
        annotations=PAID_CALL,
        description=(
            "A jury from other model families than the author's judges content against criteria: VALID/INVALID, scores per criterion, disagreements, issues."
        ),
    )
    async def cross_model_validation(
        content: str,
        criteria: Annotated[list[str] | None, Field(min_length=1, max_length=10, description="Default: correctness, completeness, clarity")] = None,
        models: Annotated[list[str] | None, Field(min_length=1, max_length=16, description="Judges")] = None,
        max_cost_usd: MaxCost = None,
        author_model: Annotated[str | None, Field(description="Its family is kept off the jury")] = None,
        context: Annotated[str | None, Field(description="What the content answers")] = None,
        wait_seconds: Wait = None,
        max_tokens: MaxTokens = None,
        timeout_s: TimeoutS = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, svc.ValidationResult]:
        args = tool_args(locals())
        plan = svc.plan_jury(app, args)

        async def run(progress: svc.ProgressFn) -> tuple[svc.ValidationResult, str]:
            out = await svc.validate(app, plan, progress=progress)
            lines = [f"{out.verdict} ({out.invalid_votes} INVALID / {out.valid_votes} VALID; overall {out.overall_score})"]
            lines += [f"- [{i.severity}] {i.description} ({', '.join(i.judges)})" for i in out.issues[:10]]
            lines += [f"! {d}" for d in out.disagreements[:5]]
            return out, "\n".join(lines)

        return await _job(app, "cross_model_validation", args, wait_seconds, ctx, run)

    @server.tool(
        annotations=PAID_CALL,
        description=("Debate: models propose, critique each other's latest answers and revise until they agree or max_rounds; answer and trajectory."),
    )
    async def collaborative_problem_solving(
        problem: str,
        models: Annotated[list[str] | None, Field(min_length=2, max_length=16)] = None,
        max_cost_usd: MaxCost = None,
        wait_seconds: Wait = None,
        max_rounds: Annotated[int | None, Field(ge=1, le=6, description="Default 3")] = None,
        answer_type: AnswerType = None,
        max_tokens: MaxTokens = None,
        timeout_s: TimeoutS = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, svc.DebateResult]:
        args = tool_args(locals())
        plan = svc.plan_debate(app, args)

        async def run(progress: svc.ProgressFn) -> tuple[svc.DebateResult, str]:
            out = await svc.debate(app, plan, progress=progress)
            state = "converged" if out.converged else "did not converge"
            head = f"{state} after {out.rounds_run} round(s), agreement {out.agreement:.0%}"
            if out.final_answer is not None:
                head += f": {out.final_answer}"
            return out, f"{head}\n{out.answer[:2000]}"

        return await _job(app, "collaborative_problem_solving", args, wait_seconds, ctx, run)

    @server.tool(
        annotations=READ_ONLY_LOCAL,
        description=("Recommend models for a task from the catalog and this server's measured latency, success, quality; says why. Free."),
    )
    async def adaptive_model_selection(
        task: str,
        constraints: Annotated[
            dict[str, Any] | None,
            Field(
                description="priority balanced|quality|cost|speed, candidates, exclude, only, require, free_only, limits below",
                # The ranges services/collective/selection.py enforces, stated in the schema.
                json_schema_extra={
                    "properties": {
                        "count": {"type": "integer", "minimum": 1, "maximum": 10},
                        "min_context": {"type": "number", "minimum": 1, "maximum": 100_000_000},
                        "expected_output_tokens": {"type": "number", "minimum": 1, "maximum": 2_000_000},
                        "max_price_per_mtok": {"type": "number", "minimum": 0, "maximum": 1_000_000_000},
                        "max_cost_per_call_usd": {"type": "number", "minimum": 0, "maximum": 1_000_000_000},
                        "max_latency_ms": {"type": "number", "minimum": 0, "maximum": 1_000_000_000},
                    }
                },
            ),
        ] = None,
    ) -> Annotated[CallToolResult, SelectionResult]:
        out = await select_models(app, task, check_constraints(constraints))
        lines = [
            f"{i}. {r.model} score {r.score:.3f} (confidence {r.confidence:.2f}): {'; '.join(r.reasons[:3])}" for i, r in enumerate(out.recommendations, 1)
        ]
        return ok(out, out.explanation + "\n" + "\n".join(lines))
