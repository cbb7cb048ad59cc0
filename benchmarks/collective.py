"""Collective intelligence benchmark: does combining models beat the best single model?

Runs each collective method through the real services (run_chat, ledger, early stop) against an
in-thread simulator whose quiz models answer a known question set right with a set probability, and
whose judge models follow the truth with a set probability (src/openrouter_mcp/simulator/quiz.py).
Every figure is measured in this run; "best single" is the best member's own accuracy on the same
questions, read from the same calls.

  1. majority_vote over five independent 70 % models
  2. weighted vote over one 90 % and four 60 % models, weights measured from a calibration of
     majority votes on separate questions (agreement-based: no answer key is used)
  3. synthesis (an 80 % aggregator over five 70 % proposers), Mixture-of-Agents, Self-MoA, debate
  4. a jury of three 80 %-reliable judges on content with and without a planted wrong answer
  5. early stop on easy questions (five 90 % models): calls generated and cost with and without it

Run:  python benchmarks/collective.py [--questions 500] [--calibration 100] [--parallel 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openrouter_mcp.app import App
from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.services import collective as c
from openrouter_mcp.simulator import quiz
from openrouter_mcp.simulator.server import start_in_thread


@dataclass
class Row:
    method: str
    models: str
    billed_usd: float = 0.0
    n: int = 0
    correct: int = 0
    best_single: float | None = None
    best_single_model: str = ""
    cost_usd: float = 0.0
    calls: int = 0
    wall_s: float = 0.0
    per_question_ms: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


async def run_all(items: Sequence[Any], parallel: int, one: Callable[[Any], Awaitable[None]]) -> float:
    """Run `one` over the items, `parallel` at a time; returns the wall time in seconds."""
    gate = asyncio.Semaphore(parallel)

    async def guarded(item: Any) -> None:
        async with gate:
            await one(item)

    started = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in items))
    return time.perf_counter() - started


class Singles:
    """Each member's own answers, scored against the key, from the collective calls themselves."""

    def __init__(self) -> None:
        self.right: dict[str, int] = {}
        self.seen: dict[str, int] = {}

    def add(self, answers: Sequence[c.ModelAnswer], key: str) -> None:
        for a in answers:
            if a.status != "ok" or a.role not in ("voter", "proposer", "agent", "proposer L1"):
                continue
            self.seen[a.model] = self.seen.get(a.model, 0) + 1
            self.right[a.model] = self.right.get(a.model, 0) + (a.answer == key)

    def best(self) -> tuple[str, float]:
        return max(((m, self.right[m] / self.seen[m]) for m in self.seen), key=lambda x: x[1])


async def consensus_row(app: App, method: str, label: str, questions: Sequence[quiz.Question], parallel: int, **args: Any) -> Row:
    row = Row(method, label)
    singles = Singles()

    async def one(q: quiz.Question) -> None:
        t = time.perf_counter()
        out = await c.consensus(app, c.plan_consensus(app, {"prompt": q.prompt, **args}))
        row.per_question_ms.append((time.perf_counter() - t) * 1000)
        row.n += 1
        row.correct += out.final_answer == q.answer
        row.cost_usd += out.cost_usd
        row.calls += out.usage.calls
        singles.add(out.answers, q.answer)

    row.wall_s = await run_all(questions, parallel, one)
    if singles.seen:
        row.best_single_model, row.best_single = singles.best()
    return row


async def ensemble_row(app: App, method: str, label: str, questions: Sequence[quiz.Question], parallel: int, **args: Any) -> Row:
    row = Row(method, label)
    singles = Singles()

    async def one(q: quiz.Question) -> None:
        t = time.perf_counter()
        out = await c.ensemble(app, await c.plan_ensemble(app, {"problem": q.prompt, **args}))
        row.per_question_ms.append((time.perf_counter() - t) * 1000)
        row.n += 1
        row.correct += out.final_answer == q.answer
        row.cost_usd += out.cost_usd
        row.calls += out.usage.calls
        if out.layers:
            singles.add(out.layers[0].answers, q.answer)

    row.wall_s = await run_all(questions, parallel, one)
    if singles.seen:
        row.best_single_model, row.best_single = singles.best()
    return row


async def debate_row(app: App, label: str, questions: Sequence[quiz.Question], parallel: int, **args: Any) -> Row:
    row = Row("debate (Du et al.)", label)
    singles = Singles()
    rounds: list[int] = []

    async def one(q: quiz.Question) -> None:
        t = time.perf_counter()
        out = await c.debate(app, c.plan_debate(app, {"problem": q.prompt, **args}))
        row.per_question_ms.append((time.perf_counter() - t) * 1000)
        row.n += 1
        row.correct += out.final_answer == q.answer
        row.cost_usd += out.cost_usd
        row.calls += out.usage.calls
        rounds.append(out.rounds_run)
        singles.add(out.trajectory[0].answers, q.answer)

    row.wall_s = await run_all(questions, parallel, one)
    row.best_single_model, row.best_single = singles.best()
    row.note = f"mean rounds {sum(rounds) / len(rounds):.2f}"
    return row


def content(q: quiz.Question, stated: str) -> str:
    shown = f"({stated})" if q.kind == "choice" else stated
    return f"{q.prompt}\nSolution: I worked through it carefully and checked the result.\nThe answer is {shown}."


async def jury_rows(app: App, judges: list[str], questions: Sequence[quiz.Question], parallel: int) -> list[Row]:
    planted = Row("jury (PoLL): planted error -> INVALID", "3 x judge 80 %")
    clean = Row("jury (PoLL): clean content -> VALID", "3 x judge 80 %")
    per_judge: dict[str, list[int]] = {j: [0, 0] for j in judges}

    async def one(item: tuple[int, quiz.Question]) -> None:
        i, q = item
        wrong = i % 2 == 1
        text = content(q, q.wrong[i % len(q.wrong)] if wrong else q.answer)
        t = time.perf_counter()
        out = await c.validate(app, c.plan_jury(app, {"content": text, "models": judges, "criteria": ["correctness", "clarity"]}))
        row = planted if wrong else clean
        row.per_question_ms.append((time.perf_counter() - t) * 1000)
        row.n += 1
        row.correct += out.verdict == ("INVALID" if wrong else "VALID")
        row.cost_usd += out.cost_usd
        row.calls += out.usage.calls
        for jv in out.judges:
            if jv.verdict is not None:
                per_judge[jv.model][0] += 1
                per_judge[jv.model][1] += jv.verdict == ("INVALID" if wrong else "VALID")

    wall = await run_all(list(enumerate(questions)), parallel, one)
    best = max(per_judge.items(), key=lambda kv: kv[1][1] / max(1, kv[1][0]))
    for row in (planted, clean):
        row.wall_s = wall / 2
        row.best_single_model, row.best_single = best[0], best[1][1] / max(1, best[1][0])
    return [planted, clean]


def table(rows: Sequence[Row]) -> str:
    head = "| method | models | questions | accuracy | best single (same calls) | gain | calls answered | cost USD (reported) | billed USD (simulator) | wall s | per question ms (median) |"
    lines = [head, "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        single = f"{r.best_single:.1%} ({r.best_single_model})" if r.best_single is not None else "-"
        gain = f"{(r.accuracy - r.best_single) * 100:+.1f} pt" if r.best_single is not None else "-"
        med = sorted(r.per_question_ms)[len(r.per_question_ms) // 2] if r.per_question_ms else 0.0
        note = f" ({r.note})" if r.note else ""
        lines.append(
            f"| {r.method}{note} | {r.models} | {r.n} | {r.accuracy:.1%} | {single} | {gain} | {r.calls} | {r.cost_usd:.6f} | {r.billed_usd:.6f} | {r.wall_s:.1f} | {med:.0f} |"
        )
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=500, help="evaluation questions (after the calibration ones)")
    parser.add_argument("--calibration", type=int, default=100, help="questions used only to measure the weights")
    parser.add_argument("--parallel", type=int, default=8, help="questions in flight at once")
    args = parser.parse_args()
    if args.calibration + args.questions > len(quiz.QUESTIONS):
        parser.error(f"calibration + questions must be at most {len(quiz.QUESTIONS)}")

    sim = start_in_thread()
    home = tempfile.mkdtemp(prefix="collective-bench-")
    env = {"OPENROUTER_BASE_URL": sim.api_url, "OPENROUTER_API_KEY": SIMULATOR_KEY, "OPENROUTER_MCP_HOME": home}
    app = App(load_settings(env))
    calibration = quiz.QUESTIONS[: args.calibration]
    evaluation = quiz.QUESTIONS[args.calibration : args.calibration + args.questions]
    small = evaluation[:200]
    p = args.parallel
    seventy = [f"quiz/acc-70-{s}" for s in "abcde"]
    mixed = ["quiz/acc-90-a", *(f"quiz/acc-60-{s}" for s in "abcd")]
    easy = [f"quiz/acc-90-{s}" for s in "abcde"]
    rows: list[Row] = []

    def billed() -> float:
        return float(sim.simulator.state.usage_usd)

    async def measured(make: Awaitable[Row]) -> Row:
        """The row, with what the simulator billed while it ran (cut-off calls included)."""
        before = billed()
        row = await make
        row.billed_usd = billed() - before
        return row

    try:
        print(f"simulator at {sim.api_url}; state in {home}", file=sys.stderr)
        rows.append(await measured(consensus_row(app, "majority_vote", "5 x 70 %", evaluation, p, models=seventy, early_stop=False)))
        # Weights come from agreement between the models in past votes: calibrate on separate questions.
        calib = await measured(consensus_row(app, "majority_vote (calibration, not scored)", "90 % + 4 x 60 %", calibration, p, models=mixed, early_stop=False))
        rows.append(await measured(consensus_row(app, "majority_vote", "90 % + 4 x 60 %", evaluation, p, models=mixed, early_stop=False)))
        estimates = await c.accuracy_estimates(app, mixed)
        weighted = await measured(
            consensus_row(app, "weighted (measured weights)", "90 % + 4 x 60 %", evaluation, p, models=mixed, strategy="weighted", early_stop=False)
        )
        weighted.note = "estimated accuracy " + ", ".join(f"{m.split('/')[1]} {e.accuracy:.2f}" for m, e in estimates.items())
        rows.append(weighted)
        true_weights = {m: c.vote_weight(0.9 if "-90-" in m else 0.6, 4) for m in mixed}
        ceiling = await measured(
            consensus_row(
                app,
                "weighted (caller weights from the true accuracies)",
                "90 % + 4 x 60 %",
                evaluation,
                p,
                models=mixed,
                strategy="weighted",
                weights=true_weights,
                early_stop=False,
            )
        )
        rows.append(ceiling)
        rows.append(
            await measured(
                consensus_row(app, "synthesis (aggregator 80 %)", "5 x 70 %", small, p, models=seventy, strategy="synthesis", aggregator="quiz/acc-80-a")
            )
        )
        rows.append(
            await measured(
                ensemble_row(app, "Mixture-of-Agents, 2 layers", "3 x 70 % -> 70 %", small, p, proposers=seventy[:3], aggregator="quiz/acc-70-d", layers=2)
            )
        )
        rows.append(await measured(ensemble_row(app, "Self-MoA (5 samples)", "90 % x 5 -> 90 %", small, p, models=["quiz/acc-90-b"], self_moa=True, samples=5)))
        rows.append(await measured(debate_row(app, "3 x 70 %", small, p, models=seventy[:3], max_rounds=3)))
        before = billed()
        jury = await jury_rows(app, ["judge/rel-80-a", "judge/rel-80-b", "judge/rel-80-c"], evaluation[:300], p)
        spent, reported = billed() - before, sum(r.cost_usd for r in jury) or 1.0
        for r in jury:
            r.billed_usd = spent * r.cost_usd / reported  # one run judged both kinds: split in proportion
        rows.extend(jury)
        full = await measured(
            consensus_row(app, "early stop OFF (easy questions)", "5 x 90 %, 3 in flight", small, p, models=easy, early_stop=False, concurrency=3)
        )
        stop = await measured(consensus_row(app, "early stop ON (easy questions)", "5 x 90 %, 3 in flight", small, p, models=easy, concurrency=3))
        wide = await measured(consensus_row(app, "early stop ON (easy questions)", "5 x 90 %, all in flight", small, p, models=easy))
        for r in (full, stop, wide):
            r.note = f"{r.calls / r.n:.2f} calls per question"
        for r in (stop, wide):
            r.best_single = None  # only the calls that were needed answered: no fair single-model figure
        rows.extend([full, stop, wide])
    finally:
        await app.aclose()
        sim.stop()
    print(table(rows))
    print()
    print(f"calibration: {calib.n} majority votes of {calib.models} recorded pairwise agreement (no answer key).")
    saved = 1 - stop.calls / full.calls
    print(f"early stop: {stop.calls} calls answered instead of {full.calls} ({saved:.0%} fewer); billed {stop.billed_usd:.6f} vs {full.billed_usd:.6f} USD (cut-off calls included)")
    checks = {
        "majority_vote of five 70 % models >= 80 %": rows[0].accuracy >= 0.80,
        "weighted (90 % + 4 x 60 %) beats the best single model": weighted.accuracy > (weighted.best_single or 1),
        "jury: planted errors INVALID >= 85 %": jury[0].accuracy >= 0.85,
        "jury: clean content VALID >= 85 %": jury[1].accuracy >= 0.85,
        "early stop saves calls": stop.calls < full.calls and wide.calls < full.calls,
    }
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
