"""`ensemble_reasoning`: Mixture-of-Agents (layers of proposers, then an aggregator), Self-MoA (samples of
the single best model), and an optional decomposition into subtasks solved in dependency order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...errors import ToolFailure, invalid
from ...shapes import Shape
from ..checks import flag, whole
from ..checks import model_id as check_model_id
from ..pricing import estimate_chat_usd
from .answers import (
    AnswerType,
    _groups,
    _share_agreeing,
    _winner_text,
    answer_key,
    answer_kind,
    option_letters,
    question_messages,
    synthesis_messages,
)
from .fanout import (
    MAX_MODELS,
    TEXT_CHARS,
    Failure,
    Limits,
    ModelAnswer,
    Outcome,
    Planned,
    ProgressFn,
    Run,
    RunTotals,
    all_failed,
    chat_body,
    check_models,
    cost_cap,
    failures_of,
    fan_out,
    sample_indexes,
    start_run,
    wait_all,
)
from .history import accuracy_estimates

if TYPE_CHECKING:
    from ...app import App


class Layer(Shape):
    layer: int
    answers: list[ModelAnswer]


class Subtask(Shape):
    id: str
    task: str
    depends_on: list[str]
    status: str
    result: str | None = None


class EnsembleResult(RunTotals):
    method: str = Field(description="mixture_of_agents, or self_moa (samples of the single best model).")
    answer_type: str
    answer: str
    final_answer: str | None = None
    agreement: float | None = Field(None, description="Share of the last layer's answers that match the final answer (exact-answer tasks).")
    proposers: list[str]
    aggregator: str
    layers: list[Layer]
    aggregator_answer: ModelAnswer
    subtasks: list[Subtask] = Field(default_factory=list)
    failures: list[Failure]


@dataclass(slots=True)
class EnsemblePlan:
    problem: str
    proposers: list[str]
    aggregator: str
    layers: int
    self_moa: bool
    decompose: bool
    max_subtasks: int
    kind: AnswerType
    letters: str
    limits: Limits
    max_cost_usd: float | None
    chosen_because: str | None = None


async def plan_ensemble(app: App, args: dict[str, Any]) -> EnsemblePlan:
    problem = args.get("problem")
    if not isinstance(problem, str) or not problem.strip():
        raise invalid("problem", "is empty", "Describe the problem to solve")
    if args.get("models") is not None and args.get("proposers") is not None:
        raise invalid("proposers", "is given together with models", "Give the proposer models in one of them")
    d = app.settings.collective
    raw = args.get("proposers") if args.get("proposers") is not None else args.get("models")
    field_name = "proposers" if args.get("proposers") is not None else "models"
    candidates = check_models(field_name, raw) if raw is not None else list(d.models)
    self_moa = flag("self_moa", args["self_moa"]) if args.get("self_moa") is not None else False
    layers = 1 if args.get("layers") is None else whole("layers", args["layers"], 1, 3)
    decompose = flag("decompose", args["decompose"]) if args.get("decompose") is not None else False
    max_subtasks = 4 if args.get("max_subtasks") is None else whole("max_subtasks", args["max_subtasks"], 1, 8)
    kind = answer_kind(args, problem)
    chosen_because = None
    proposers = candidates
    if self_moa:
        samples = (len(candidates) if len(candidates) > 1 else 5) if args.get("samples") is None else whole("samples", args["samples"], 2, MAX_MODELS)
        unique = list(dict.fromkeys(candidates))
        if len(unique) == 1:
            best, chosen_because = unique[0], "the only model given"
        else:
            for m in unique:
                await app.catalog.require(m)
            estimates = await accuracy_estimates(app, unique)
            best = max(unique, key=lambda m: estimates[m].accuracy)
            e = estimates[best]
            chosen_because = f"highest estimated accuracy {e.accuracy:.2f} from {', '.join(e.sources)} ({e.samples:g} samples)"
        proposers = [best] * samples
    elif args.get("samples") is not None:
        raise invalid("samples", "is only used with self_moa", "Set self_moa=true, or repeat a model id in models")
    aggregator = check_model_id("aggregator", args["aggregator"]) if args.get("aggregator") is not None else (proposers[0] if self_moa else d.aggregator)
    return EnsemblePlan(
        problem=problem,
        proposers=proposers,
        aggregator=aggregator,
        layers=layers,
        self_moa=self_moa,
        decompose=decompose,
        max_subtasks=max_subtasks,
        kind=kind,
        letters=option_letters(problem),
        limits=Limits.from_args(app, args),
        max_cost_usd=cost_cap(args),
        chosen_because=chosen_because,
    )


PLANNER_PROMPT = (
    "Break the problem into at most {k} subtasks that together solve it, in the order they should be done. "
    "Give each an id (s1, s2, ...), the task, and depends_on: the ids of earlier subtasks whose results it needs. "
    "Use as few subtasks as the problem needs; a simple problem needs just one."
)


def plan_schema() -> dict[str, Any]:
    step = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "task", "depends_on"],
        "properties": {"id": {"type": "string"}, "task": {"type": "string"}, "depends_on": {"type": "array", "items": {"type": "string"}}},
    }
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "plan",
            "strict": True,
            "schema": {"type": "object", "additionalProperties": False, "required": ["subtasks"], "properties": {"subtasks": {"type": "array", "items": step}}},
        },
    }


def parse_plan(text: str, max_subtasks: int) -> list[Subtask]:
    """Subtasks from the planner's JSON. Ids are made unique; a dependency may only name an earlier step,
    so the graph can have no cycle."""
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []
    steps = data.get("subtasks") if isinstance(data, dict) else None
    out: list[Subtask] = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict) or not isinstance(step.get("task"), str) or not step["task"].strip():
            continue
        sid = str(step.get("id") or "").strip() or f"s{len(out) + 1}"
        if any(s.id == sid for s in out):
            sid = f"s{len(out) + 1}"
        earlier = {s.id for s in out}
        deps = [str(x) for x in step.get("depends_on") or [] if str(x) in earlier]
        out.append(Subtask(id=sid, task=step["task"].strip(), depends_on=list(dict.fromkeys(deps)), status="planned"))
        if len(out) == max_subtasks:
            break
    return out


def subtask_prompt(problem: str, step: Subtask, done: dict[str, Subtask]) -> str:
    earlier = "\n".join(f"[{d}] {done[d].task}\nResult: {done[d].result}" for d in step.depends_on if d in done)
    parts = [f"Overall problem:\n{problem}"]
    if earlier:
        parts.append(f"Results of earlier steps:\n{earlier}")
    parts.append(f"Your step ({step.id}): {step.task}\nSolve only this step.")
    return "\n\n".join(parts)


def final_prompt(problem: str, steps: Sequence[Subtask]) -> str:
    solved = "\n".join(f"[{s.id}] {s.task}\nResult: {s.result}" for s in steps if s.result is not None)
    return f"{problem}\n\nSolved steps:\n{solved}\n\nUsing these results, give the complete answer to the problem."


def texts_of(outcomes: Sequence[Outcome]) -> list[str]:
    return [o.text for o in outcomes if o.status == "ok" and o.text.strip()]


async def _moa_cost(app: App, plan: EnsemblePlan, prompt: str, extra: int) -> Decimal:
    """Worst case of one Mixture-of-Agents pass over `prompt` (+ `extra` tokens of earlier results)."""
    n, cap = len(plan.proposers), plan.limits.max_tokens
    samples = sample_indexes(plan.proposers)
    total = Decimal(0)
    for layer in range(plan.layers):
        messages = question_messages(prompt, plan.kind) if layer == 0 else synthesis_messages(prompt, [], plan.kind)
        for m, s in zip(plan.proposers, samples, strict=True):
            body = await chat_body(app, m, messages, plan.limits, sample=s)
            total += await estimate_chat_usd(app, body, extra_prompt_tokens=extra + (n * cap if layer else 0))
    agg = await chat_body(app, plan.aggregator, synthesis_messages(prompt, [], plan.kind), plan.limits)
    return total + await estimate_chat_usd(app, agg, extra_prompt_tokens=extra + n * cap)


async def _moa(run: Run, plan: EnsemblePlan, prompt: str, *, layer_log: list[Layer] | None) -> tuple[Outcome, list[Outcome]]:
    """Proposer layers then the aggregator; returns the aggregator's outcome and the last layer's."""
    app = run.app
    samples = sample_indexes(plan.proposers)
    key_of = answer_key(plan.kind, plan.letters)
    previous: list[Outcome] = []
    for layer in range(plan.layers):
        shown = texts_of(previous)
        if layer and not shown:
            break
        messages = question_messages(prompt, plan.kind) if layer == 0 else synthesis_messages(prompt, shown, plan.kind)
        planned = [
            Planned(m, await chat_body(app, m, messages, plan.limits, sample=s), f"proposer L{layer + 1}") for m, s in zip(plan.proposers, samples, strict=True)
        ]
        current = await fan_out(run, planned, extract_key=key_of)
        if layer_log is not None:
            layer_log.append(Layer(layer=layer + 1, answers=[o.view() for o in current]))
        if texts_of(current):
            previous = current
        else:
            run.warnings.append(
                f"Every proposer of layer {layer + 1} failed; the aggregator works from layer {layer}'s answers." if layer else "Every proposer failed."
            )
            if not layer:
                previous = current
                break
    shown = texts_of(previous)
    if not shown:
        raise all_failed(previous, "No proposer answered")
    agg_body = await chat_body(app, plan.aggregator, synthesis_messages(prompt, shown, plan.kind), plan.limits)
    (agg,) = await fan_out(run, [Planned(plan.aggregator, agg_body, "aggregator")], extract_key=key_of)
    return agg, previous


async def ensemble(app: App, plan: EnsemblePlan, *, tool: str = "ensemble_reasoning", progress: ProgressFn | None = None) -> EnsembleResult:
    cap = plan.limits.max_tokens
    n = len(plan.proposers)
    per_pass = n * plan.layers + 1
    if plan.decompose:
        planner_body = await chat_body(
            app,
            plan.aggregator,
            [{"role": "system", "content": PLANNER_PROMPT.format(k=plan.max_subtasks)}, {"role": "user", "content": plan.problem}],
            plan.limits,
            response_format=plan_schema(),
        )
        total = await estimate_chat_usd(app, planner_body)
        total += plan.max_subtasks * await _moa_cost(app, plan, plan.problem, plan.max_subtasks * cap)
        final_body = await chat_body(app, plan.aggregator, question_messages(final_prompt(plan.problem, []), plan.kind), plan.limits)
        total += await estimate_chat_usd(app, final_body, extra_prompt_tokens=plan.max_subtasks * cap)
        planned_calls = 2 + plan.max_subtasks * per_pass
    else:
        total = await _moa_cost(app, plan, plan.problem, 0)
        planned_calls = per_pass
    run = await start_run(app, tool, plan.limits, progress, worst_case=total, max_cost_usd=plan.max_cost_usd, calls=planned_calls)
    if plan.self_moa and plan.chosen_because:
        run.warnings.append(f"Self-MoA samples {plan.proposers[0]}: {plan.chosen_because}.")
    layers: list[Layer] = []
    subtasks: list[Subtask] = []
    if plan.decompose:
        (planner,) = await fan_out(run, [Planned(plan.aggregator, planner_body, "planner")])
        subtasks = parse_plan(planner.text, plan.max_subtasks) if planner.status == "ok" else []
        if not subtasks:
            why = planner.failure.code.value if planner.failure else "no usable subtasks"
            run.warnings.append(f"Decomposition was skipped ({why}); the problem was solved whole.")
    if subtasks:
        done: dict[str, Subtask] = {}
        while len(done) < len(subtasks):
            ready = [s for s in subtasks if s.id not in done and all(d in done for d in s.depends_on)]
            tasks = [asyncio.create_task(_moa(run, plan, subtask_prompt(plan.problem, s, done), layer_log=None)) for s in ready]
            await wait_all(tasks)
            for step, task in zip(ready, tasks, strict=True):
                exc = task.exception()
                if isinstance(exc, ToolFailure):
                    step.status = "failed"
                    run.warnings.append(f"Subtask {step.id} failed: {exc.message}")
                elif exc is not None:
                    raise exc
                else:
                    agg_out, _ = task.result()
                    ok = agg_out.status == "ok"
                    step.status, step.result = ("ok", agg_out.text[:TEXT_CHARS]) if ok else ("failed", None)
                done[step.id] = step
        final_body = await chat_body(app, plan.aggregator, question_messages(final_prompt(plan.problem, subtasks), plan.kind), plan.limits)
        (agg,) = await fan_out(run, [Planned(plan.aggregator, final_body, "aggregator")], extract_key=answer_key(plan.kind, plan.letters))
        last: list[Outcome] = []
    else:
        agg, last = await _moa(run, plan, plan.problem, layer_log=layers)
    if agg.status != "ok":
        assert agg.failure is not None
        if not last or not texts_of(last):
            raise agg.failure
        run.warnings.append(f"The aggregator {plan.aggregator} failed ({agg.failure.code.value}); the answer is the proposers' majority instead.")
        voted = [o for o in last if o.status == "ok" and o.key is not None] if plan.kind != "text" else []
        groups = _groups(voted)
        answer = _winner_text(voted, [o for o in last if o.status == "ok"], groups)
        final_key = groups[0].answer if groups else None
    else:
        answer, final_key = agg.text, agg.key
    voted_last = [o for o in last if o.status == "ok" and o.key is not None]
    agreement = round(_share_agreeing(voted_last, final_key), 4) if final_key is not None and voted_last else None
    return EnsembleResult(
        method="self_moa" if plan.self_moa else "mixture_of_agents",
        answer_type=plan.kind,
        answer=answer,
        final_answer=final_key,
        agreement=agreement,
        proposers=plan.proposers,
        aggregator=plan.aggregator,
        layers=layers,
        aggregator_answer=agg.view(),
        subtasks=subtasks,
        failures=failures_of(run.outcomes),
        **run.totals(total),
    )
