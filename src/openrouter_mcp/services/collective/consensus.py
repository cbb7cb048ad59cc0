"""`collective_chat_completion`: every model answers the same prompt, and the consensus is taken by
self-consistency (majority) voting, weighted voting, or a synthesis by an aggregator model."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...errors import invalid
from ..checks import flag, number
from ..checks import model_id as check_model_id
from ..pricing import estimate_chat_usd
from .answers import (
    AnswerType,
    Group,
    _groups,
    _share_agreeing,
    _winner_text,
    answer_key,
    answer_kind,
    decided,
    embedding_estimate,
    embedding_estimate_tokens,
    key_by_meaning,
    option_letters,
    question_messages,
    synthesis_messages,
    vote_weight,
)
from .fanout import (
    Failure,
    Limits,
    ModelAnswer,
    Outcome,
    Planned,
    ProgressFn,
    RunTotals,
    all_failed,
    chat_body,
    check_models,
    cost_cap,
    failures_of,
    fan_out,
    sample_indexes,
    start_run,
)
from .history import accuracy_estimates, record_agreement

if TYPE_CHECKING:
    from ...app import App

STRATEGIES = ("majority_vote", "weighted", "synthesis")


class ConsensusResult(RunTotals):
    strategy: str
    answer_type: str
    answer: str = Field(description="The consensus reply (the winning group's first reply, or the aggregator's).")
    final_answer: str | None = Field(None, description="The normalised answer, for exact-answer tasks.")
    agreement: float = Field(description="Share of the answers (by weight) in the winning group.")
    groups: list[Group]
    answers: list[ModelAnswer]
    failures: list[Failure]
    early_stopped: bool = False
    calls_saved: int = Field(0, description="Calls cancelled or never sent because the vote was already decided.")
    aggregator: str | None = None
    weights_source: str | None = None


@dataclass(slots=True)
class ConsensusPlan:
    prompt: str
    models: list[str]
    strategy: str
    kind: AnswerType
    letters: str
    limits: Limits
    early_stop: bool
    aggregator: str | None
    caller_weights: dict[str, float] | None
    max_cost_usd: float | None


def plan_consensus(app: App, args: dict[str, Any]) -> ConsensusPlan:
    """Validate collective_chat_completion's arguments (no I/O)."""
    prompt = args.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt", "is empty", "Write the question or instruction every model should answer")
    d = app.settings.collective
    models = check_models("models", args["models"]) if args.get("models") is not None else list(d.models)
    strategy = args.get("strategy") or "majority_vote"
    if strategy not in STRATEGIES:
        raise invalid("strategy", f"{strategy!r} is not a strategy", f"Use one of {', '.join(STRATEGIES)}")
    kind = answer_kind(args, prompt)
    weights = args.get("weights")
    caller_weights = None
    if weights is not None:
        if strategy != "weighted":
            raise invalid("weights", "is only used by strategy weighted", 'Set strategy="weighted", or drop weights')
        if not isinstance(weights, dict) or not weights:
            raise invalid("weights", f"{weights!r} is not a set of weights", 'Use {"model id": weight above 0, ...}')
        caller_weights = {}
        for model, w in weights.items():
            if model not in models:
                raise invalid(f"weights.{model}", "names a model that is not in models", f"Use ids from models: {', '.join(dict.fromkeys(models))}")
            caller_weights[model] = number(f"weights.{model}", w, 0, 1e6, lo_open=True)
    aggregator = None
    if strategy == "synthesis":
        aggregator = check_model_id("aggregator", args["aggregator"]) if args.get("aggregator") is not None else d.aggregator
    elif args.get("aggregator") is not None:
        raise invalid("aggregator", "is only used by strategy synthesis", 'Set strategy="synthesis", or drop aggregator')
    early_stop = flag("early_stop", args["early_stop"]) if args.get("early_stop") is not None else True
    return ConsensusPlan(
        prompt=prompt,
        models=models,
        strategy=strategy,
        kind=kind,
        letters=option_letters(prompt),
        limits=Limits.from_args(app, args),
        early_stop=early_stop and strategy != "synthesis" and kind != "text",
        aggregator=aggregator,
        caller_weights=caller_weights,
        max_cost_usd=cost_cap(args),
    )


async def consensus(app: App, plan: ConsensusPlan, *, tool: str = "collective_chat_completion", progress: ProgressFn | None = None) -> ConsensusResult:
    """Ask every model the same prompt and return the consensus by the plan's strategy."""
    messages = question_messages(plan.prompt, plan.kind)
    samples = sample_indexes(plan.models)
    bodies = [await chat_body(app, m, messages, plan.limits, sample=s) for m, s in zip(plan.models, samples, strict=True)]

    # Weights first (a weighted vote's early stop depends on them).
    weights = {m: 1.0 for m in plan.models}
    weights_source = None
    if plan.strategy == "weighted":
        if plan.caller_weights is not None:
            weights.update(plan.caller_weights)
            weights_source = "caller"
        else:
            options = len(plan.letters) if plan.kind == "choice" and plan.letters else 4 if plan.kind != "text" else 2
            estimates = await accuracy_estimates(app, plan.models)
            weights = {m: vote_weight(e.accuracy, options) for m, e in estimates.items()}
            sources = sorted({s for e in estimates.values() for s in e.sources})
            weights_source = "measured accuracy (" + ", ".join(sources) + ")"

    total = sum([await estimate_chat_usd(app, b) for b in bodies], Decimal(0))
    if plan.strategy == "synthesis":
        assert plan.aggregator is not None
        agg_body = await chat_body(app, plan.aggregator, synthesis_messages(plan.prompt, [], plan.kind), plan.limits)
        total += await estimate_chat_usd(app, agg_body, extra_prompt_tokens=len(bodies) * plan.limits.max_tokens)
    if plan.kind == "text":
        total += await embedding_estimate(app, embedding_estimate_tokens(len(bodies), plan.limits))
    calls = len(bodies) + (1 if plan.aggregator else 0)
    run = await start_run(app, tool, plan.limits, progress, worst_case=total, max_cost_usd=plan.max_cost_usd, calls=calls)
    planned = [Planned(m, b, "voter" if plan.strategy != "synthesis" else "proposer", weights[m]) for m, b in zip(plan.models, bodies, strict=True)]
    key_of = answer_key(plan.kind, plan.letters)

    stop = None
    if plan.early_stop:

        def stop(finished: list[Outcome], unfinished: list[Planned]) -> bool:
            votes = [(o.key, o.planned.weight) for o in finished if o.key is not None]
            return decided(votes, sum(p.weight for p in unfinished))

    outcomes = await fan_out(run, planned, extract_key=key_of, stop_when=stop)
    answered = [o for o in outcomes if o.status == "ok"]
    if not answered:
        raise all_failed(outcomes, "No model answered")

    if plan.kind == "text":
        await key_by_meaning(run, answered)
    voted = [o for o in answered if o.key is not None]
    if plan.kind != "text" and len(voted) < len(answered):
        run.warnings.append(f"{len(answered) - len(voted)} answer(s) stated no final {plan.kind} and did not vote.")

    groups = _groups(voted)
    saved = sum(o.status in ("stopped_early", "not_sent") for o in outcomes)
    early = saved > 0
    aggregator = None
    if plan.strategy == "synthesis":
        assert plan.aggregator is not None
        aggregator = plan.aggregator
        agg_body = await chat_body(app, plan.aggregator, synthesis_messages(plan.prompt, [o.text for o in answered], plan.kind), plan.limits)
        (agg,) = await fan_out(run, [Planned(plan.aggregator, agg_body, "aggregator")], extract_key=key_of)
        if agg.status == "ok":
            final_key = agg.key if plan.kind != "text" else None
            answer_text = agg.text
            agreement = _share_agreeing(voted, final_key) if final_key is not None else (groups[0].share if groups else 0.0)
        else:
            assert agg.failure is not None
            run.warnings.append(f"The aggregator {plan.aggregator} failed ({agg.failure.code.value}); the answer is the majority vote instead.")
            answer_text, final_key, agreement = (
                _winner_text(voted, answered, groups),
                groups[0].answer if groups and plan.kind != "text" else None,
                groups[0].share if groups else 0.0,
            )
    else:
        answer_text = _winner_text(voted, answered, groups)
        final_key = groups[0].answer if groups and plan.kind != "text" else None
        agreement = groups[0].share if groups else 0.0
        if plan.kind != "text":
            await record_agreement(app, [(o.planned.model, o.key) for o in voted if o.key is not None])
    if len(groups) > 1 and groups[0].weight == groups[1].weight:
        run.warnings.append("The top answers tied; the one that arrived first was taken.")
    return ConsensusResult(
        strategy=plan.strategy,
        answer_type=plan.kind,
        answer=answer_text,
        final_answer=final_key,
        agreement=round(agreement, 4),
        groups=groups,
        answers=[o.view() for o in outcomes],
        failures=failures_of(run.outcomes),
        early_stopped=early,
        calls_saved=saved,
        aggregator=aggregator,
        weights_source=weights_source,
        **run.totals(total),
    )
