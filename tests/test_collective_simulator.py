"""The simulator's quiz and judge models behave as documented, over a real socket: answers right at the set
rate and independently per model, varied wording, verdicts that follow the truth at the set rate, fixed
latencies, and an embeddings endpoint in OpenRouter's wire format."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from openrouter import components, operations

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.simulator import quiz
from openrouter_mcp.simulator.server import RunningSimulator


def post(sim: RunningSimulator, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(sim.api_url + path, data=json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {SIMULATOR_KEY}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return dict(json.load(resp))


def ask(sim: RunningSimulator, model: str, content: str, **extra: Any) -> str:
    data = post(sim, "/chat/completions", {"model": model, "messages": [{"role": "user", "content": content}], **extra})
    return str(data["choices"][0]["message"]["content"])


def test_quiz_and_judge_models_are_listed_and_parse(simulator: RunningSimulator) -> None:
    with urllib.request.urlopen(simulator.api_url + "/models") as resp:
        listing = json.load(resp)
    ids = {m["id"] for m in listing["data"]}
    assert {"quiz/acc-70-a", "quiz/acc-90-a", "quiz/acc-60-e", "quiz/acc-70-1s-a", "judge/rel-80-c"} <= ids
    components.ModelsListResponse.model_validate(listing)
    with urllib.request.urlopen(simulator.api_url + "/models/quiz/acc-70-a/endpoints") as resp:
        endpoints = json.load(resp)
    operations.ListEndpointsResponse.model_validate(endpoints)
    assert endpoints["data"]["endpoints"][0]["pricing"]["prompt"] == next(m for m in listing["data"] if m["id"] == "quiz/acc-70-a")["pricing"]["prompt"]


def test_question_set_is_deterministic_with_known_answers() -> None:
    assert len(quiz.QUESTIONS) == quiz.QUESTION_COUNT >= 300
    kinds = {q.kind for q in quiz.QUESTIONS}
    assert kinds == {"number", "choice"}
    for q in quiz.QUESTIONS[:50]:
        assert q.answer not in q.wrong and len(q.wrong) >= 3
        if q.kind == "number":
            expression = q.text.removeprefix("What is ").rstrip("?").replace("×", "*").replace("−", "-")
            assert str(eval(expression)) == q.answer  # our own generated arithmetic


def test_quiz_accuracy_matches_the_id_and_models_are_independent() -> None:
    questions = quiz.QUESTIONS[:400]
    right: dict[str, list[bool]] = {}
    for model in ("quiz/acc-70-a", "quiz/acc-70-b", "quiz/acc-90-a", "quiz/acc-60-a"):
        right[model] = [quiz.stated_answers(q, quiz.reply(model, {"messages": [{"role": "user", "content": q.prompt}]})) == [q.answer] for q in questions]
    rate = {m: sum(v) / len(v) for m, v in right.items()}
    assert abs(rate["quiz/acc-70-a"] - 0.7) < 0.06 and abs(rate["quiz/acc-70-b"] - 0.7) < 0.06
    assert abs(rate["quiz/acc-90-a"] - 0.9) < 0.05 and abs(rate["quiz/acc-60-a"] - 0.6) < 0.06
    both = sum(a and b for a, b in zip(right["quiz/acc-70-a"], right["quiz/acc-70-b"], strict=True)) / len(questions)
    assert abs(both - 0.49) < 0.07  # independent: P(both right) = 0.7 * 0.7


def test_samples_of_one_model_differ_by_seed_and_wording_varies() -> None:
    q = quiz.QUESTIONS[0]
    replies = {quiz.reply("quiz/acc-50-a", {"messages": [{"role": "user", "content": q.prompt}], "seed": s}) for s in range(12)}
    assert len(replies) >= 4
    wordings = {
        quiz.reply(m, {"messages": [{"role": "user", "content": quiz.QUESTIONS[i].prompt}]}).split()[0]
        for m in ("quiz/acc-90-a", "quiz/acc-90-b")
        for i in range(20)
    }
    assert len(wordings) >= 4


def test_quiz_model_answers_over_http_and_a_1s_model_takes_a_second(simulator: RunningSimulator) -> None:
    q = quiz.QUESTIONS[2]
    text = ask(simulator, "quiz/acc-90-a", q.prompt)
    assert quiz.stated_answers(q, text)
    started = time.perf_counter()
    ask(simulator, "quiz/acc-70-1s-a", q.prompt)
    assert 0.95 < time.perf_counter() - started < 1.5


def _verdict_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["VALID", "INVALID"]},
            "scores": {
                "type": "array",
                "items": {"type": "object", "properties": {"criterion": {"type": "string", "enum": ["correctness", "clarity"]}, "score": {"type": "integer"}}},
            },
            "issues": {"type": "array", "items": {"type": "object"}},
            "summary": {"type": "string"},
        },
        "required": ["verdict", "scores", "issues", "summary"],
    }


def test_judge_verdicts_follow_the_truth_at_the_set_rate() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": _verdict_schema()}}
    hits = 0
    questions = quiz.QUESTIONS[:300]
    for i, q in enumerate(questions):
        planted = i % 2 == 1
        stated = q.wrong[0] if planted else q.answer
        content = f"{q.prompt}\nThe answer is {'(' + stated + ')' if q.kind == 'choice' else stated}."
        verdict = json.loads(quiz.reply("judge/rel-80-a", {"messages": [{"role": "user", "content": content}], "response_format": fmt}))
        hits += verdict["verdict"] == ("INVALID" if planted else "VALID")
        if verdict["verdict"] == "INVALID" and planted:
            assert q.answer in verdict["issues"][0]["description"]
        assert {s["criterion"] for s in verdict["scores"]} == {"correctness", "clarity"}
    assert abs(hits / len(questions) - 0.8) < 0.06


def test_embeddings_endpoint_speaks_the_wire_format(simulator: RunningSimulator) -> None:
    data = post(
        simulator,
        "/embeddings",
        {"model": "openai/text-embedding-3-small", "input": ["Paris is the capital of France.", "The capital of France is Paris.", "Bananas are yellow."]},
    )
    parsed = operations.CreateEmbeddingsResponseBody.model_validate(data)
    assert parsed.usage is not None and parsed.usage.cost is not None and parsed.usage.cost > 0
    a, b, c = (d["embedding"] for d in data["data"])

    def cos(x: list[float], y: list[float]) -> float:
        return sum(i * j for i, j in zip(x, y, strict=True))

    assert cos(a, b) > 0.6 > cos(a, c)
