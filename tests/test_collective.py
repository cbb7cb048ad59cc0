"""The collective toolset end to end: a real MCP client drives the server process, which talks to the
simulator's quiz and judge models over a real socket. What each test pins is in its name."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from mcp import Client

from openrouter_mcp.simulator import quiz
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import SimLog, error_of

TOOLS = ("collective_chat_completion", "ensemble_reasoning", "cross_model_validation", "collaborative_problem_solving", "adaptive_model_selection")


def data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    out: dict[str, Any] = result.structured_content
    return out


def right(model: str, q: quiz.Question, seed: int | None = None) -> bool:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": q.prompt}]}
    if seed is not None:
        body["seed"] = seed
    return quiz.stated_answers(q, quiz.reply(model, body)) == [q.answer]


def question_where(predicate: Any) -> quiz.Question:
    return next(q for q in quiz.QUESTIONS if predicate(q))


def chat_models(sim_log: SimLog, mark: int) -> list[str]:
    return [e["model"] for e in sim_log.chats(mark)]


async def test_the_five_tools_are_listed_with_output_schemas(mcp_client: Client) -> None:
    tools = {t.name: t for t in (await mcp_client.list_tools()).tools}
    for name in TOOLS:
        tool = tools[name]
        assert tool.output_schema is not None and "cost_usd" in tool.output_schema["properties"], name
        assert tool.annotations is not None
    assert tools["collective_chat_completion"].input_schema["required"] == ["prompt"]
    assert tools["adaptive_model_selection"].annotations.read_only_hint is True
    assert tools["cross_model_validation"].annotations.open_world_hint in (True, None)  # left out: the default, true


async def test_explicit_models_are_used_as_given_with_a_seed_per_repeated_sample(mcp_client: Client, sim_log: SimLog) -> None:
    q = quiz.QUESTIONS[10]
    models = ["quiz/acc-90-a", "quiz/acc-70-b", "quiz/acc-60-c", "quiz/acc-90-a"]
    mark = sim_log.mark()
    out = data(await mcp_client.call_tool("collective_chat_completion", {"prompt": q.prompt, "models": models, "early_stop": False}))
    sent = sim_log.chats(mark)
    assert sorted(e["model"] for e in sent) == sorted(models)
    seeds = sorted(e["body"].get("seed", -1) for e in sent if e["model"] == "quiz/acc-90-a")
    assert seeds == [0, 1]
    assert [a["model"] for a in out["answers"]] == models
    assert all(a["status"] == "ok" and a["latency_ms"] > 0 and a["cost_usd"] > 0 for a in out["answers"])
    assert out["cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in out["answers"]))
    assert out["answer_type"] == q.kind and out["content_is_untrusted"] is True
    top = out["groups"][0]
    assert out["final_answer"] == top["answer"] and out["agreement"] == pytest.approx(top["share"])
    assert out["agreement"] == pytest.approx(len(top["models"]) / len(models))


async def test_fan_out_of_five_one_second_models_takes_about_one_second(stdio_client: Client) -> None:
    q = quiz.QUESTIONS[12]
    started = time.perf_counter()
    out = data(
        await stdio_client.call_tool(
            "collective_chat_completion", {"prompt": q.prompt, "models": [f"quiz/acc-70-1s-{s}" for s in "abcde"], "early_stop": False}
        )
    )
    elapsed = time.perf_counter() - started
    assert [a["status"] for a in out["answers"]] == ["ok"] * 5
    assert all(a["latency_ms"] >= 1000 for a in out["answers"])
    assert elapsed < 1.5, f"5 models of 1 s each took {elapsed:.2f} s"


async def test_early_stop_cancels_the_calls_a_decided_vote_no_longer_needs(stdio_client: Client, simulator: RunningSimulator, sim_log: SimLog) -> None:
    q = question_where(lambda q: all(right(f"quiz/acc-90-{s}", q) for s in "abc"))
    models = ["quiz/acc-90-a", "quiz/acc-90-b", "quiz/acc-90-c", "quiz/acc-70-1s-a", "quiz/acc-70-1s-b"]
    mark = sim_log.mark()
    started = time.perf_counter()
    out = data(await stdio_client.call_tool("collective_chat_completion", {"prompt": q.prompt, "models": models}))
    assert time.perf_counter() - started < 0.9  # did not wait for the 1 s models
    assert out["early_stopped"] is True and out["calls_saved"] == 2
    assert out["final_answer"] == q.answer
    assert {a["model"]: a["status"] for a in out["answers"]} == {**dict.fromkeys(models[:3], "ok"), **dict.fromkeys(models[3:], "stopped_early")}
    await asyncio.sleep(0.3)
    sent_at = sim_log.chats(mark)[0]["t"]
    slow = [g for g in simulator.simulator.state.generations.values() if g.model in models[3:] and g.created_at >= sent_at - 1]
    assert len(slow) == 2 and all(g.cancelled and g.completion_tokens == 0 and g.cost == 0 for g in slow)


async def test_weighted_vote_uses_the_callers_weights(stdio_client: Client) -> None:
    q = question_where(lambda q: right("quiz/acc-90-b", q) and not any(right(f"quiz/acc-60-{s}", q) for s in "bc"))
    models = ["quiz/acc-90-b", "quiz/acc-60-b", "quiz/acc-60-c"]
    args = {"prompt": q.prompt, "models": models, "strategy": "weighted", "weights": {"quiz/acc-90-b": 5, "quiz/acc-60-b": 1, "quiz/acc-60-c": 1}}
    out = data(await stdio_client.call_tool("collective_chat_completion", args))
    assert out["weights_source"] == "caller"
    assert out["final_answer"] == q.answer
    assert {a["model"]: a["weight"] for a in out["answers"]} == {"quiz/acc-90-b": 5, "quiz/acc-60-b": 1, "quiz/acc-60-c": 1}


async def test_synthesis_asks_the_aggregator_with_every_answer(stdio_client: Client, sim_log: SimLog) -> None:
    q = quiz.QUESTIONS[20]
    mark = sim_log.mark()
    out = data(
        await stdio_client.call_tool(
            "collective_chat_completion",
            {"prompt": q.prompt, "models": ["quiz/acc-70-a", "quiz/acc-70-b"], "strategy": "synthesis", "aggregator": "quiz/acc-80-b"},
        )
    )
    sent = sim_log.chats(mark)
    assert [e["model"] for e in sent][-1] == "quiz/acc-80-b" and len(sent) == 3
    system = sent[-1]["body"]["messages"][0]["content"]
    assert all(a["text"] in system for a in out["answers"] if a["role"] == "proposer")
    assert out["aggregator"] == "quiz/acc-80-b" and out["final_answer"] is not None


async def test_partial_failure_is_reported_and_the_rest_still_decide(stdio_client: Client) -> None:
    q = quiz.QUESTIONS[30]
    models = ["quiz/acc-90-a", "sim/internal-error", "quiz/acc-90-b", "sim/no-credits", "quiz/acc-90-c"]
    out = data(await stdio_client.call_tool("collective_chat_completion", {"prompt": q.prompt, "models": models, "early_stop": False}))
    assert {f["model"]: f["code"] for f in out["failures"]} == {"sim/internal-error": "UPSTREAM_ERROR", "sim/no-credits": "NO_CREDITS"}
    assert all(f["message"] for f in out["failures"])
    assert sum(a["status"] == "ok" for a in out["answers"]) == 3
    assert out["final_answer"] is not None and out["usage"]["calls"] == 3


async def test_when_every_model_fails_the_error_lists_why(stdio_client: Client) -> None:
    error = error_of(
        await stdio_client.call_tool("collective_chat_completion", {"prompt": "What is 2 + 2?", "models": ["sim/internal-error", "sim/no-credits"]})
    )
    assert "sim/internal-error" in error["message"] and "sim/no-credits" in error["message"]
    assert {f["model"] for f in error["details"]["failures"]} == {"sim/internal-error", "sim/no-credits"}


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("collective_chat_completion", {"prompt": "What is 2 + 2?", "models": ["quiz/acc-90-a", "openai/gpt-5.2-pro"]}),
        ("ensemble_reasoning", {"problem": "What is 2 + 2?", "proposers": ["quiz/acc-90-a", "quiz/acc-70-a"], "aggregator": "openai/gpt-5.2-pro"}),
        ("cross_model_validation", {"content": "2 + 2 = 5", "models": ["openai/gpt-5.2-pro", "quiz/acc-90-a"]}),
        ("collaborative_problem_solving", {"problem": "What is 2 + 2?", "models": ["quiz/acc-90-a", "openai/gpt-5.2-pro"], "max_rounds": 3}),
    ],
)
async def test_budget_refusal_comes_before_any_spend(stdio_client: Client, sim_log: SimLog, tool: str, args: dict[str, Any]) -> None:
    mark = sim_log.mark()
    error = error_of(await stdio_client.call_tool(tool, {**args, "max_cost_usd": 0.01}))
    assert error["code"] == "BUDGET_EXCEEDED"
    assert error["details"]["estimate_usd"] > 0.01
    assert sim_log.chats(mark) == []


async def test_a_cancelled_call_stops_its_outstanding_model_calls(stdio_client: Client, simulator: RunningSimulator, sim_log: SimLog) -> None:
    models = [f"quiz/acc-70-1s-{s}" for s in "abcde"]
    mark = sim_log.mark()
    call = asyncio.create_task(
        stdio_client.call_tool("collective_chat_completion", {"prompt": quiz.QUESTIONS[40].prompt, "models": models, "early_stop": False})
    )
    await asyncio.sleep(0.5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.sleep(1.2)  # past the moment the models would have answered
    sent = sim_log.chats(mark)
    assert len(sent) == 5
    gens = [g for g in simulator.simulator.state.generations.values() if g.model in models and g.created_at >= sent[0]["t"] - 0.1]
    assert len(gens) == 5 and all(g.cancelled and g.completion_tokens == 0 and g.cost == 0 for g in gens)


async def test_wait_seconds_turns_a_long_run_into_a_job(stdio_client: Client) -> None:
    args = {"prompt": quiz.QUESTIONS[42].prompt, "models": [f"quiz/acc-70-1s-{s}" for s in "ab"], "early_stop": False, "wait_seconds": 0.2}
    pending = error_of(await stdio_client.call_tool("collective_chat_completion", args))
    assert pending["code"] == "JOB_PENDING"
    job = data(await stdio_client.call_tool("get_job", {"job_id": pending["details"]["job_id"], "wait_seconds": 10}))
    assert job["status"] == "succeeded" and job["result"]["final_answer"] is not None


async def test_mixture_of_agents_runs_its_layers_then_the_aggregator(mcp_client: Client, sim_log: SimLog) -> None:
    q = quiz.QUESTIONS[50]
    mark = sim_log.mark()
    proposers = ["quiz/acc-70-a", "quiz/acc-70-b", "quiz/acc-70-c"]
    out = data(await mcp_client.call_tool("ensemble_reasoning", {"problem": q.prompt, "proposers": proposers, "aggregator": "quiz/acc-80-a", "layers": 2}))
    sent = chat_models(sim_log, mark)
    assert sorted(sent[:6]) == sorted(proposers * 2) and sent[6] == "quiz/acc-80-a" and len(sent) == 7
    assert out["method"] == "mixture_of_agents" and [layer["layer"] for layer in out["layers"]] == [1, 2]
    second_layer_prompt = sim_log.chats(mark)[3]["body"]["messages"][0]["content"]
    assert all(a["text"] in second_layer_prompt for a in out["layers"][0]["answers"])
    assert out["final_answer"] == out["aggregator_answer"]["answer"] and out["cost_usd"] > 0


async def test_self_moa_samples_the_single_model_with_distinct_seeds(stdio_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    out = data(
        await stdio_client.call_tool("ensemble_reasoning", {"problem": quiz.QUESTIONS[52].prompt, "models": ["quiz/acc-80-c"], "self_moa": True, "samples": 3})
    )
    sent = sim_log.chats(mark)
    assert [e["model"] for e in sent] == ["quiz/acc-80-c"] * 4
    assert sorted(e["body"]["seed"] for e in sent[:3]) == [0, 1, 2]
    assert out["method"] == "self_moa" and out["aggregator"] == "quiz/acc-80-c"


async def test_decomposition_runs_subtasks_then_answers_the_whole(stdio_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    out = data(
        await stdio_client.call_tool(
            "ensemble_reasoning",
            {"problem": "Plan a three-day trip to Lisbon.", "proposers": ["quiz/acc-70-a", "quiz/acc-70-b"], "aggregator": "quiz/acc-80-a", "decompose": True},
        )
    )
    sent = sim_log.chats(mark)
    assert sent[0]["body"]["response_format"]["type"] == "json_schema"  # the planner
    assert out["subtasks"] and all(s["status"] == "ok" and s["result"] for s in out["subtasks"])
    assert len(sent) == 1 + 3 * len(out["subtasks"]) + 1
    assert "Solved steps" in sent[-1]["body"]["messages"][-1]["content"]


def _content(q: quiz.Question, stated: str) -> str:
    return f"{q.prompt}\nWorking: I checked it twice.\nThe answer is {'(' + stated + ')' if q.kind == 'choice' else stated}."


async def test_a_jury_labels_a_planted_error_invalid_with_the_concrete_issue(mcp_client: Client, sim_log: SimLog) -> None:
    judges = ["judge/rel-90-a", "judge/rel-90-b", "judge/rel-90-c"]
    fmt = {"type": "json_schema", "json_schema": {"name": "v", "schema": {"type": "object", "properties": {"verdict": {"type": "string"}}}}}

    def says_invalid(judge: str, q: quiz.Question) -> bool:
        return '"INVALID"' in quiz.reply(judge, {"messages": [{"role": "user", "content": _content(q, q.wrong[0])}], "response_format": fmt})

    q = question_where(lambda q: sum(says_invalid(j, q) for j in judges) == 3)
    mark = sim_log.mark()
    out = data(
        await mcp_client.call_tool("cross_model_validation", {"content": _content(q, q.wrong[0]), "models": judges, "criteria": ["correctness", "clarity"]})
    )
    sent = sim_log.chats(mark)
    assert sorted(e["model"] for e in sent) == judges
    assert all(e["body"]["response_format"]["json_schema"]["strict"] for e in sent)
    assert out["verdict"] == "INVALID" and out["invalid_votes"] == 3 and out["agreement"] == 1.0
    assert any(q.answer in i["description"] and len(i["judges"]) == 3 for i in out["issues"])
    assert [s["criterion"] for s in out["scores"]] == ["correctness", "clarity"]
    assert out["scores"][0]["mean"] <= 4 and len(out["scores"][0]["by_judge"]) == 3
    assert out["cost_usd"] > 0 and out["content_is_untrusted"] is True


async def test_a_jury_passes_clean_content_and_reports_a_dissenting_judge(stdio_client: Client) -> None:
    judges = ["judge/rel-70-a", "judge/rel-70-b", "judge/rel-70-c"]
    fmt = {"type": "json_schema", "json_schema": {"name": "v", "schema": {"type": "object", "properties": {"verdict": {"type": "string"}}}}}

    def says_valid(judge: str, q: quiz.Question) -> bool:
        return '"VALID"' in quiz.reply(judge, {"messages": [{"role": "user", "content": _content(q, q.answer)}], "response_format": fmt})

    q = question_where(lambda q: [says_valid(j, q) for j in judges] == [True, True, False])
    out = data(await stdio_client.call_tool("cross_model_validation", {"content": _content(q, q.answer), "models": judges}))
    assert out["verdict"] == "VALID" and (out["valid_votes"], out["invalid_votes"]) == (2, 1)
    assert any("judge/rel-70-c" in d for d in out["disagreements"])


async def test_the_default_jury_leaves_out_the_authors_family(stdio_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    out = data(await stdio_client.call_tool("cross_model_validation", {"content": "Water boils at 100 °C at sea level.", "author_model": "openai/gpt-4o-mini"}))
    judges = chat_models(sim_log, mark)
    assert len(judges) == 3 and not any(j.startswith("openai/") for j in judges)
    assert out["author_model"] == "openai/gpt-4o-mini" and out["verdict"] in ("VALID", "INVALID", "UNCERTAIN")


async def test_a_judge_whose_reply_breaks_the_schema_is_a_failure_not_a_vote(stdio_client: Client) -> None:
    out = data(
        await stdio_client.call_tool(
            "cross_model_validation", {"content": "The sky is green.", "models": ["judge/rel-90-a", "sim/schema-violation", "judge/rel-90-b"]}
        )
    )
    assert [f["model"] for f in out["failures"]] == ["sim/schema-violation"]
    assert out["valid_votes"] + out["invalid_votes"] == 2


async def test_debate_revises_with_the_others_answers_and_stops_on_convergence(mcp_client: Client, sim_log: SimLog) -> None:
    models = ["quiz/acc-70-a", "quiz/acc-70-b", "quiz/acc-70-c"]
    q = question_where(lambda q: sum(right(m, q) for m in models) == 2)  # round 1 disagrees
    mark = sim_log.mark()
    out = data(await mcp_client.call_tool("collaborative_problem_solving", {"problem": q.prompt, "models": models, "max_rounds": 4}))
    sent = sim_log.chats(mark)
    assert sorted(e["model"] for e in sent[:3]) == models
    assert out["rounds_run"] >= 2 and len(out["trajectory"]) == out["rounds_run"] and not out["trajectory"][0]["converged"]
    revise = sent[3]["body"]["messages"]
    assert revise[-2]["role"] == "assistant" and "One agent's solution" in revise[-1]["content"]
    assert len(sent) == 3 * out["rounds_run"]
    if out["converged"]:
        assert out["trajectory"][-1]["agreement"] == 1.0 and out["rounds_run"] < 4
    assert out["final_answer"] is not None and out["cost_usd"] > 0


async def test_adaptive_selection_ranks_by_measured_quality_and_its_confidence_follows_the_evidence(stdio_client: Client) -> None:
    candidates = [f"quiz/acc-{tier}-d" for tier in (50, 60, 70, 80, 90)]
    ask = {"task": "Answer arithmetic quiz questions", "constraints": {"candidates": candidates, "priority": "quality", "count": 5}}
    before = data(await stdio_client.call_tool("adaptive_model_selection", ask))
    assert before["recommendations"][0]["evidence"]["quality_samples"] == 0
    for q in quiz.QUESTIONS[160:220]:
        data(await stdio_client.call_tool("collective_chat_completion", {"prompt": q.prompt, "models": candidates, "early_stop": False}))
    after = data(await stdio_client.call_tool("adaptive_model_selection", ask))
    ranked = [r["model"] for r in after["recommendations"]]
    assert ranked[0] == "quiz/acc-90-d" and ranked[-1] == "quiz/acc-50-d"
    top = after["recommendations"][0]
    assert top["evidence"]["quality_samples"] >= 50 and top["evidence"]["calls"] >= 60 and top["evidence"]["latency_p50_ms"] is not None
    assert after["confidence"] > before["confidence"]
    assert len({r["confidence"] for r in after["recommendations"]}) > 1
    assert any("collective votes" in reason for reason in top["reasons"]) and after["explanation"]


@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        ("collective_chat_completion", {"prompt": "x", "strategy": "loudest"}, "strategy"),
        ("collective_chat_completion", {"prompt": "x", "models": []}, "models"),
        ("collective_chat_completion", {"prompt": "x", "weights": {"a/b": 1}}, "weights"),
        ("collective_chat_completion", {"prompt": "x", "models": ["openai/gpt-4o-mni"]}, "model"),
        ("ensemble_reasoning", {"problem": "x", "samples": 3}, "samples"),
        ("cross_model_validation", {"content": "x", "criteria": []}, "criteria"),
        ("collaborative_problem_solving", {"problem": "x", "models": ["quiz/acc-70-a"]}, "models"),
        ("adaptive_model_selection", {"task": "x", "constraints": {"fastest": True}}, "constraints.fastest"),
    ],
)
async def test_bad_input_names_the_field(stdio_client: Client, sim_log: SimLog, tool: str, args: dict[str, Any], field: str) -> None:
    mark = sim_log.mark()
    error = error_of(await stdio_client.call_tool(tool, args))
    assert error["code"] in ("INVALID_INPUT", "MODEL_NOT_FOUND")
    assert error["details"]["field"] == field
    assert sim_log.chats(mark) == []


@pytest.mark.parametrize(
    ("tool", "args", "broken"),
    [
        (
            "ensemble_reasoning",
            {"problem": quiz.QUESTIONS[70].prompt, "proposers": ["quiz/acc-90-a", "sim/internal-error", "quiz/acc-90-b"], "aggregator": "quiz/acc-80-a"},
            "sim/internal-error",
        ),
        (
            "cross_model_validation",
            {"content": quiz.QUESTIONS[70].prompt + " The answer is 5.", "models": ["judge/rel-90-a", "sim/internal-error", "judge/rel-90-b"]},
            "sim/internal-error",
        ),
        (
            "collaborative_problem_solving",
            {"problem": quiz.QUESTIONS[70].prompt, "models": ["quiz/acc-70-a", "sim/no-credits", "quiz/acc-70-b"], "max_rounds": 2},
            "sim/no-credits",
        ),
    ],
)
async def test_every_paid_tool_reports_a_failed_model_and_answers_with_the_rest(stdio_client: Client, tool: str, args: dict[str, Any], broken: str) -> None:
    out = data(await stdio_client.call_tool(tool, args))
    assert broken in {f["model"] for f in out["failures"]}
    assert all(f["code"] in ("UPSTREAM_ERROR", "NO_CREDITS") and f["message"] for f in out["failures"])
    assert out["cost_usd"] > 0 and out["usage"]["calls"] >= 2


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("ensemble_reasoning", {"problem": quiz.QUESTIONS[71].prompt, "proposers": [f"quiz/acc-70-1s-{s}" for s in "abc"], "aggregator": "quiz/acc-70-1s-d"}),
        ("cross_model_validation", {"content": quiz.QUESTIONS[71].prompt + " The answer is 5.", "models": [f"quiz/acc-70-1s-{s}" for s in "abc"]}),
        ("collaborative_problem_solving", {"problem": quiz.QUESTIONS[71].prompt, "models": [f"quiz/acc-70-1s-{s}" for s in "abc"]}),
    ],
)
async def test_cancelling_any_paid_tool_stops_its_calls(
    stdio_client: Client, simulator: RunningSimulator, sim_log: SimLog, tool: str, args: dict[str, Any]
) -> None:
    mark = sim_log.mark()
    call = asyncio.create_task(stdio_client.call_tool(tool, args))
    await asyncio.sleep(0.5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.sleep(1.0)
    sent = sim_log.chats(mark)
    assert len(sent) == 3  # the first stage only: nothing was sent after the cancel
    models = {e["model"] for e in sent}
    gens = [g for g in simulator.simulator.state.generations.values() if g.model in models and g.created_at >= sent[0]["t"] - 0.1]
    assert len(gens) == 3 and all(g.cancelled and g.completion_tokens == 0 for g in gens)
