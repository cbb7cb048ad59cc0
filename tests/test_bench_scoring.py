"""The benchmark's pure parts: quality checks, prompt parsing, statistics, ranking and the Pareto front."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from openrouter_mcp.errors import ToolFailure
from openrouter_mcp.services.bench.quality import (
    BenchPrompt,
    criteria_of,
    exact_match,
    field_accuracy,
    numeric_match,
    parse_jsonl,
    parse_prompt_list,
    score_reply,
)
from openrouter_mcp.services.bench.stats import Sample, pareto_front, percentile, rank, stat, summarize
from openrouter_mcp.services.bench.suites import SUITES, suite_text


@pytest.mark.parametrize(
    ("reply", "expected", "score"),
    [
        ("42", 42, 1.0),
        ("**42**.", 42, 1.0),
        ("6 x 7 = 42", 42, 1.0),
        ("The answer is 1,250.80", 1250.8, 1.0),
        ("Let me think: 12 pens.\nAnswer: 8", 8, 1.0),
        ("43", 42, 0.0),
        ("no number here", 42, 0.0),
        ("9.9", "9.9", 1.0),
        ("9.11", 9.9, 0.0),
    ],
)
def test_numeric_match_reads_the_final_answer(reply: str, expected: Any, score: float) -> None:
    assert numeric_match(reply, expected) == score


@pytest.mark.parametrize(
    ("reply", "expected", "score"),
    [
        ("Saturday", "Saturday", 1.0),
        ("saturday.", "Saturday", 1.0),
        ('"Li"', "Li", 1.0),
        ("It is Saturday, I think", "Saturday", 0.0),
        ("Reasoning...\nAnswer: **Li**", "Li", 1.0),
        ("Sunday", "Saturday", 0.0),
    ],
)
def test_exact_match_ignores_case_quotes_and_emphasis_only(reply: str, expected: str, score: float) -> None:
    assert exact_match(reply, expected) == score


def test_schema_prompts_score_validity_and_expected_fields() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]}
    prompt = BenchPrompt(id="p", prompt="x", schema=schema, expected={"name": "Ada", "age": 36})
    assert score_reply(prompt, '{"name": "ada", "age": 36}') == {"schema": 1.0, "fields": 1.0}
    assert score_reply(prompt, '```json\n{"name": "Ada", "age": 37}\n```') == {"schema": 1.0, "fields": 0.5}
    assert score_reply(prompt, 'Sure! {"name": "Ada"}') == {"schema": 0.0, "fields": 0.5}
    assert score_reply(prompt, "not json") == {"schema": 0.0, "fields": 0.0}
    assert field_accuracy({"tags": ["a", "b"]}, {"tags": ["A", "b"]}) == 1.0
    assert field_accuracy({"ok": 1}, {"ok": True}) == 0.0


def test_a_prompt_without_a_check_has_no_quality() -> None:
    assert score_reply(BenchPrompt(id="p", prompt="Say hi"), "hi") == {}
    assert BenchPrompt(id="p", prompt="x", judge_criteria="kind").checks == ["judge"]


def test_judge_criteria_are_split_at_semicolons_and_bounded() -> None:
    assert criteria_of("correct; cites the law ;; under 100 words") == ["correct", "cites the law", "under 100 words"]
    for bad in ("", " ; ", "x" * 201, ";".join("c" * 11)):
        with pytest.raises(ToolFailure) as info:
            parse_prompt_list([{"prompt": "p", "judge_criteria": bad}])
        assert info.value.details == {"field": "prompts[0].judge_criteria"}


def test_prompt_lists_and_jsonl_are_validated_line_by_line() -> None:
    prompts = parse_prompt_list(["a", {"prompt": "b", "expected": 2, "id": "two"}])
    assert [p.id for p in prompts] == ["p1", "two"]
    for bad, field in (
        ([], "prompts"),
        ([{"prompt": ""}], "prompts[0].prompt"),
        ([{"prompt": "x", "expect": 1}], "prompts[0].expect"),
        ([{"prompt": "x", "schema": {"type": "nope"}}], "prompts[0].schema"),
    ):
        with pytest.raises(ToolFailure) as info:
            parse_prompt_list(bad)
        assert info.value.details == {"field": field}
    with pytest.raises(ToolFailure) as info:
        parse_jsonl('{"prompt": "ok"}\nnot json\n', "mine.jsonl")
    assert "mine.jsonl line 2" in info.value.message


def test_every_builtin_suite_parses_and_says_how_to_score_each_prompt() -> None:
    for name in SUITES:
        prompts = parse_jsonl(suite_text(name), name)
        assert 3 <= len(prompts) <= 10
        assert all(p.checks for p in prompts), name
    assert {c for p in parse_jsonl(suite_text("reasoning"), "r") for c in p.checks} == {"numeric", "exact"}
    assert {c for p in parse_jsonl(suite_text("json"), "j") for c in p.checks} == {"schema", "fields"}
    assert {c for p in parse_jsonl(suite_text("coding"), "c") for c in p.checks} == {"judge"}


def test_percentiles_interpolate_and_report_their_sample_count() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0] * 3 + [100.0], 90) == pytest.approx(73.0)
    assert stat([]) == {"median": None, "p90": None, "mean": None, "n": 0}
    assert stat([3.0, 1.0, 2.0]) == {"median": 2.0, "p90": 2.8, "mean": 2.0, "n": 3}


def _samples(model: str, latency: float, cost: str, quality: float | None, failures: int = 0) -> list[Sample]:
    out = [
        Sample(
            model=model,
            prompt_id=f"p{i}",
            run=1,
            ok=True,
            ttft_ms=latency / 2,
            latency_ms=latency,
            tokens_per_s=100.0,
            cost_usd=Decimal(cost),
            checks={} if quality is None else {"exact": quality},
        )
        for i in range(4)
    ]
    out += [Sample(model=model, prompt_id="px", run=1, ok=False, error_code="RATE_LIMITED") for _ in range(failures)]
    return out


def _board(weights: dict[str, float], *, with_quality: bool = True) -> list[str]:
    rows = [("fast", 100.0, "0.01", 0.5), ("cheap", 400.0, "0.001", 0.5), ("smart", 300.0, "0.02", 1.0)]
    summaries = [summarize(m, _samples(m, lat, cost, q if with_quality else None), scored=with_quality) for m, lat, cost, q in rows]
    return [s["model"] for s in rank(summaries, weights)]


def test_the_ranking_follows_the_weights() -> None:
    assert _board({"speed": 1, "cost": 0, "quality": 0}) == ["fast", "smart", "cheap"]
    assert _board({"speed": 0, "cost": 1, "quality": 0}) == ["cheap", "fast", "smart"]
    assert _board({"speed": 0, "cost": 0, "quality": 1}) == ["smart", "cheap", "fast"]
    assert _board({"speed": 1, "cost": 1, "quality": 1}, with_quality=False) == ["cheap", "fast", "smart"]


def test_failures_count_against_a_model_and_are_reported_by_code() -> None:
    flaky = summarize("flaky", _samples("flaky", 100.0, "0.01", 1.0, failures=4), scored=True)
    steady = summarize("steady", _samples("steady", 100.0, "0.01", 1.0), scored=True)
    assert flaky["success_rate"] == 0.5 and flaky["errors"] == {"RATE_LIMITED": 4}
    assert [s["model"] for s in rank([flaky, steady], {"speed": 1, "cost": 1, "quality": 1})] == ["steady", "flaky"]
    assert flaky["scores"]["overall"] == 0.5


def test_costs_stay_exact_decimals() -> None:
    s = summarize("m", _samples("m", 100.0, "0.000000123", 1.0), scored=True, extra_cost_usd=Decimal("0.000000001"))
    assert s["cost_usd"] == "0.000000493" and s["cost_per_call_usd"] == "0.000000123"


def test_the_pareto_front_keeps_only_models_nobody_beats_on_cost_and_quality() -> None:
    rows = [("a", "0.01", 0.9), ("b", "0.02", 0.8), ("c", "0.005", 0.5), ("d", "0.03", 0.95), ("e", "0.005", 0.4)]
    summaries = [summarize(m, _samples(m, 100.0, cost, q), scored=True) for m, cost, q in rows]
    assert pareto_front(summaries) == ["c", "a", "d"]
    assert pareto_front([summarize("x", _samples("x", 1.0, "0.1", None), scored=False)]) == []


def test_strict_structured_outputs_only_for_schemas_providers_accept_strictly() -> None:
    from openrouter_mcp.services.bench.runner import strict_ready

    closed = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}
    assert strict_ready(closed)
    assert not strict_ready({**closed, "additionalProperties": True})
    assert not strict_ready({**closed, "required": []})
    assert not strict_ready({**closed, "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}}}}})
    assert strict_ready({"type": "array", "items": closed})
