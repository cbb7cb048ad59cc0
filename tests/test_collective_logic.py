"""The collective services' own logic: answer extraction, vote arithmetic, accuracy from agreement, grouping
by meaning, planning, and budgets; the paid parts run against the simulator over a real socket."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from openrouter_mcp.app import App
from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.errors import ToolFailure
from openrouter_mcp.services import collective as c
from openrouter_mcp.simulator import quiz
from openrouter_mcp.simulator.server import RunningSimulator


@pytest.fixture
async def app(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[App]:
    env = {"OPENROUTER_BASE_URL": simulator.api_url, "OPENROUTER_API_KEY": SIMULATOR_KEY, "OPENROUTER_MCP_HOME": str(tmp_path)}
    application = App(load_settings(env))
    yield application
    await application.aclose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 42.", "42"),
        ("I believe it's 1,234.", "1234"),
        ("After working it out: 42", "42"),
        ("Let me compute 37 × 24 + 5 step by step. The result is 893.", "893"),
        ("**893**", "893"),
        ("12 + 30 = 42, so\nFinal answer: 42", "42"),
        ("It comes to -7, if I have done the arithmetic right.", "-7"),
        ("Half of it: 3/4", "0.75"),
        ("Final answer: 42.50", "42.5"),
        ("no number here", None),
    ],
)
def test_numbers_are_extracted_from_varied_wording(text: str, expected: str | None) -> None:
    assert c.extract_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is (B).", "B"),
        ("I believe it's (C)", "C"),
        ("After working it out: (D) 191", "D"),
        ("A quick check of each option points to (B).", "B"),
        ("Option (A) is correct.", "A"),
        ("(A) 91 (B) 191 (C) 121 (D) 169\nFinal answer: C", "C"),
        ("B", "B"),
        ("A careful look", None),
    ],
)
def test_choices_are_extracted_without_mistaking_the_article_a(text: str, expected: str | None) -> None:
    assert c.extract_choice(text, "ABCD") == expected


def test_every_quiz_wording_extracts_to_the_stated_answer() -> None:
    for q in quiz.QUESTIONS[:200]:
        for model in ("quiz/acc-50-a", "quiz/acc-70-b", "quiz/acc-90-c"):
            text = quiz.reply(model, {"messages": [{"role": "user", "content": q.prompt}]})
            (stated,) = quiz.stated_answers(q, text)
            assert c.extract(text, c.detect_answer_type(q.prompt), c.option_letters(q.prompt)) == stated, text


def test_answer_type_is_detected_from_the_prompt() -> None:
    assert c.detect_answer_type("Which is prime? (A) 4 (B) 7 (C) 9") == "choice"
    assert c.detect_answer_type("What is 12 × 7?") == "number"
    assert c.detect_answer_type("How many legs do three spiders have?") == "number"
    assert c.detect_answer_type("Write a haiku about autumn.") == "text"


def test_a_vote_is_decided_only_when_the_calls_still_out_cannot_change_it() -> None:
    assert c.decided([("4", 1), ("4", 1), ("4", 1)], remaining_weight=2)
    assert not c.decided([("4", 1), ("4", 1), ("5", 1)], remaining_weight=1)  # could tie
    assert c.decided([("4", 3.3)], remaining_weight=3.0)
    assert not c.decided([("4", 3.3)], remaining_weight=4.5)
    assert not c.decided([], remaining_weight=0)


def test_vote_weights_follow_accuracy_and_the_number_of_options() -> None:
    assert c.vote_weight(0.9, 4) == pytest.approx(3.296, abs=1e-3)
    assert c.vote_weight(0.6, 4) == pytest.approx(1.504, abs=1e-3)
    assert c.vote_weight(0.2, 2) == 0.05  # worse than chance: a token weight, never negative


def test_accuracy_is_recovered_from_agreement_alone() -> None:
    rng = random.Random(7)
    truth = {"m/a": 0.9, "m/b": 0.6, "m/c": 0.6, "m/d": 0.7}
    pairs: dict[tuple[str, str], list[float]] = {}
    for _ in range(2000):
        answers = {m: "right" if rng.random() < p else f"wrong{rng.randrange(4)}" for m, p in truth.items()}
        for a, b in itertools.combinations(sorted(truth), 2):
            row = pairs.setdefault((a, b), [0.0, 0.0])
            row[0] += 1
            row[1] += answers[a] == answers[b]
    history = c.AgreementHistory({k: (n, agreed) for k, (n, agreed) in pairs.items()})
    for model, p in truth.items():
        found = history.accuracy(model)
        assert found is not None and abs(found[0] - p) < 0.05, (model, found)
    assert c.AgreementHistory({("m/a", "m/b"): (50.0, 30.0)}).accuracy("m/a") is None  # two models are not enough


def test_similar_vectors_cluster_together() -> None:
    from openrouter_mcp.services.collective import answers as c

    vectors = [[1.0, 0.0, 0.1], [0.98, 0.05, 0.1], [0.0, 1.0, 0.0], [0.05, 0.97, 0.02], [0.0, 0.0, 1.0]]
    assert c._cosine_clusters(vectors, 0.8) == [0, 0, 1, 1, 2]


def test_a_plan_can_only_depend_on_earlier_steps() -> None:
    text = '{"subtasks": [{"id": "s1", "task": "a", "depends_on": ["s2"]}, {"id": "s2", "task": "b", "depends_on": ["s1", "s9"]}, {"id": "s2", "task": "c", "depends_on": ["s2"]}, {"id": "x", "task": " ", "depends_on": []}]}'
    steps = c.parse_plan(text, 5)
    assert [(s.id, s.depends_on) for s in steps] == [("s1", []), ("s2", ["s1"]), ("s3", ["s2"])]
    assert (
        c.parse_plan("not json", 5) == [] and len(c.parse_plan('{"subtasks": [' + ",".join(['{"id": "", "task": "t", "depends_on": []}'] * 9) + "]}", 3)) == 3
    )


async def test_weighted_votes_learn_their_weights_from_past_votes(app: App) -> None:
    mixed = ["quiz/acc-90-e", "quiz/acc-60-a", "quiz/acc-60-b", "quiz/acc-60-c", "quiz/acc-60-d"]
    before = await c.accuracy_estimates(app, mixed)
    assert {e.sources for e in before.values()} == {("prior",)}
    for q in quiz.QUESTIONS[200:300]:
        await c.consensus(app, c.plan_consensus(app, {"prompt": q.prompt, "models": mixed, "early_stop": False}))
    after = await c.accuracy_estimates(app, mixed)
    assert after["quiz/acc-90-e"].accuracy > 0.8 > max(after[m].accuracy for m in mixed[1:])
    assert after["quiz/acc-90-e"].sources == ("collective votes",)
    out = await c.consensus(app, c.plan_consensus(app, {"prompt": quiz.QUESTIONS[301].prompt, "models": mixed, "strategy": "weighted"}))
    weights = {a.model: a.weight for a in out.answers}
    assert weights["quiz/acc-90-e"] > 2 * weights["quiz/acc-60-a"] and out.weights_source and "collective votes" in out.weights_source


async def test_free_text_is_grouped_by_meaning_with_one_ledgered_embeddings_call(app: App, simulator: RunningSimulator) -> None:
    mark = len(simulator.simulator.state.requests)
    prompt = "Describe the Eiffel Tower in one sentence."
    out = await c.consensus(app, c.plan_consensus(app, {"prompt": prompt, "models": ["quiz/acc-70-a", "quiz/acc-70-a", "openai/gpt-4o-mini"]}))
    paths = [r["path"] for r in simulator.simulator.state.requests[mark:]]
    assert paths.count("/api/v1/embeddings") == 1
    assert out.answer_type == "text" and out.final_answer is None
    assert out.groups[0].models == ["quiz/acc-70-a", "quiz/acc-70-a"] and out.agreement == pytest.approx(2 / 3, abs=1e-3)
    assert out.cost_usd > sum(a.cost_usd or 0 for a in out.answers)  # the embeddings call is paid for too
    await app.ledger.flush()
    rows = await (await app.storage()).ledger(
        start=datetime.now(UTC).replace(year=2000), end=datetime.now(UTC).replace(year=3000), tool="collective_chat_completion"
    )
    assert [r.model_requested for r in rows].count("openai/text-embedding-3-small") == 1


async def test_when_grouping_by_meaning_fails_answers_are_grouped_by_wording_and_it_says_so(app: App) -> None:
    app.settings = replace(app.settings, collective=replace(app.settings.collective, embedding_model="openai/gpt-4o-mini"))
    out = await c.consensus(app, c.plan_consensus(app, {"prompt": "Describe Rome.", "models": ["quiz/acc-70-a", "quiz/acc-70-b"]}))
    assert any("grouped by exact wording" in w for w in out.warnings)
    assert len(out.groups) == 2


async def test_the_daily_budget_refuses_a_whole_fan_out_before_any_call(app: App, simulator: RunningSimulator) -> None:
    app.settings = replace(app.settings, daily_budget_usd=Decimal("0.0005"))
    mark = len(simulator.simulator.state.requests)
    plan = c.plan_consensus(app, {"prompt": "What is 2 + 2?", "models": ["quiz/acc-90-a"] * 8})
    with pytest.raises(ToolFailure) as caught:
        await c.consensus(app, plan)
    assert caught.value.code.value == "BUDGET_EXCEEDED" and caught.value.details and caught.value.details["window"] == "daily"
    assert not [r for r in simulator.simulator.state.requests[mark:] if r["path"].endswith("/chat/completions")]


async def test_a_per_model_time_out_fails_that_model_only(app: App) -> None:
    started = time.perf_counter()
    q = quiz.QUESTIONS[60]
    out = await c.consensus(
        app,
        c.plan_consensus(app, {"prompt": q.prompt, "models": ["quiz/acc-90-a", "quiz/acc-70-1s-a", "quiz/acc-90-b"], "timeout_s": 0.4, "early_stop": False}),
    )
    assert time.perf_counter() - started < 0.9
    assert {f.model: f.code for f in out.failures} == {"quiz/acc-70-1s-a": "UPSTREAM_TIMEOUT"}
    assert [a.status for a in out.answers] == ["ok", "timeout", "ok"]


async def test_progress_is_reported_as_each_model_finishes(app: App) -> None:
    seen: list[tuple[float, float | None, str]] = []

    async def progress(value: float, total: float | None, message: str) -> None:
        seen.append((value, total, message))

    q = quiz.QUESTIONS[61]
    await c.consensus(
        app, c.plan_consensus(app, {"prompt": q.prompt, "models": ["quiz/acc-90-a", "quiz/acc-90-b", "quiz/acc-90-c"], "early_stop": False}), progress=progress
    )
    assert [v for v, _, _ in seen] == [1, 2, 3] and all(t == 3 for _, t, _ in seen)
    assert all("answered" in m for _, _, m in seen)


def test_defaults_come_from_the_settings_of_each_call(app: App) -> None:
    first = c.plan_consensus(app, {"prompt": "hi"})
    app.settings = replace(app.settings, collective=replace(app.settings.collective, models=("a/one", "b/two"), max_tokens=77))
    second = c.plan_consensus(app, {"prompt": "hi"})
    assert first.models != second.models and second.models == ["a/one", "b/two"] and second.limits.max_tokens == 77


async def test_stored_benchmarks_count_as_evidence_for_weights_and_selection(app: App) -> None:
    from openrouter_mcp.services.collective.selection import check_constraints, select_models

    storage = await app.storage()
    summary = {
        "model": "quiz/acc-80-e",
        "calls": 40,
        "ok": 38,
        "success_rate": 0.95,
        "latency_ms": {"median": 850.0, "p90": 1200.0, "mean": 900.0, "n": 38},
        "quality": {"median": 1.0, "p90": 1.0, "mean": 0.8, "n": 38},
    }
    await storage.kv_put("bench", "bench-20260101T000000-abcdef", {"id": "bench-20260101T000000-abcdef", "models": [summary]})
    estimate = (await c.accuracy_estimates(app, ["quiz/acc-80-e"]))["quiz/acc-80-e"]
    assert estimate.sources == ("benchmarks",) and estimate.samples == 38
    assert estimate.accuracy == pytest.approx((0.6 * c.PRIOR_STRENGTH + 0.8 * 38) / (c.PRIOR_STRENGTH + 38))
    out = await select_models(app, "answer quiz questions", check_constraints({"candidates": ["quiz/acc-80-e", "quiz/acc-80-d"], "count": 2}))
    top = next(r for r in out.recommendations if r.model == "quiz/acc-80-e")
    assert top.evidence.calls == 40 and top.evidence.success_rate == 0.95 and top.evidence.latency_p50_ms == 850.0
    assert top.evidence.quality_sources == ["benchmarks"] and any("graded benchmark answers" in r for r in top.reasons)
    other = next(r for r in out.recommendations if r.model == "quiz/acc-80-d")
    assert top.confidence > other.confidence
