"""The compat toolset end to end: our server as a subprocess with `OPENROUTER_MCP_TOOLSETS=all,compat`,
driven by the real MCP client against the simulator over a real socket. The seeds' documented examples
are replayed and their result shapes checked; each translated argument is shown to have its effect in
what reached "OpenRouter" (the simulator's request log) or in the result; compat is off by default."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from openrouter_mcp.config import load_settings
from openrouter_mcp.server import build_server
from openrouter_mcp.simulator.server import RunningSimulator

from .compat_support import PHYSICS91_EXAMPLES, STABGAN_CHAT, completion_shape, model_record_shape, usage_stats_shape
from .conftest import ClientHolder, SimLog, error_of
from .media_support import Dirs, image_bytes, make_dirs
from .test_number_fields import filled, sent_since
from .test_output_outlines import sdk_outline

PHYSICS91_OWN = ("chat_with_model", "list_available_models", "chat_with_vision", "list_vision_models", "compare_model_categories", "compare_model_performance")
STABGAN_OWN = ("health_check", "generate_video_from_image")
OWN = (*PHYSICS91_OWN, *STABGAN_OWN)
QUIZ = ["quiz/acc-90-a", "quiz/acc-70-b", "quiz/acc-60-c"]
JUDGES = ["judge/rel-90-a", "judge/rel-90-b", "judge/rel-90-c"]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> Dirs:
    d = make_dirs(tmp_path_factory.mktemp("compat"))
    (d.input / "frame.png").write_bytes(image_bytes((64, 48)))
    return d


async def _client(simulator: RunningSimulator, dirs: Dirs, toolsets: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=dirs.env(simulator, OPENROUTER_MCP_TOOLSETS=toolsets))
    async with ClientHolder(params) as client:
        yield client


@pytest.fixture(scope="module")
async def compat(simulator: RunningSimulator, dirs: Dirs) -> AsyncIterator[Client]:
    async for client in _client(simulator, dirs, "all,compat"):
        yield client


def out(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


def refused(result: Any, field: str) -> str:
    """The message of an INVALID_INPUT refusal naming `field`."""
    error = error_of(result)
    assert error["code"] == "INVALID_INPUT" and error["details"]["field"] == field, error
    message: str = error["message"]
    return message


def user_text(entry: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in entry["body"]["messages"] if m["role"] == "user" and isinstance(m["content"], str))


# ---------- on only when named ----------


async def test_compat_is_off_by_default_and_the_default_tools_list_stays_as_it_was(tmp_path: Path, stdio_client: Client) -> None:
    async def listing(toolsets: str | None) -> list[dict[str, Any]]:
        env = {"OPENROUTER_MCP_HOME": str(tmp_path), **({"OPENROUTER_MCP_TOOLSETS": toolsets} if toolsets else {})}
        server, _ = build_server(load_settings(env, simulate=True))
        return [t.model_dump() for t in await server.list_tools()]

    before = await listing(None)
    with_compat = await listing("all,compat")
    after = await listing(None)
    assert after == before == await listing("all")  # registering compat changed nothing a later default server lists
    names = {t["name"] for t in before}
    assert not names & set(OWN)
    assert set(OWN) <= {t["name"] for t in with_compat}
    chat = next(t for t in before if t["name"] == "chat_completion")
    assert not {"include_reasoning", "online", "cache_ttl"} & set(chat["input_schema"]["properties"])
    served = {t.name for t in (await stdio_client.list_tools()).tools}
    assert served == names


async def test_every_compat_tool_declares_its_output_as_the_other_tools_do(tmp_path: Path) -> None:
    server, _ = build_server(load_settings({"OPENROUTER_MCP_HOME": str(tmp_path), "OPENROUTER_MCP_TOOLSETS": "all,compat"}, simulate=True))
    tools = server._tool_manager.list_tools()
    assert set(OWN) <= {t.name for t in tools}
    for tool in tools:
        assert tool.fn_metadata.output_model is not None and tool.output_schema == sdk_outline(tool.fn), tool.name


async def test_compat_alone_serves_the_seeds_own_tools_on_its_own_engine(simulator: RunningSimulator, dirs: Dirs, sim_log: SimLog) -> None:
    async for client in _client(simulator, dirs, "compat"):
        assert {t.name for t in (await client.list_tools()).tools} == set(OWN)
        mark = sim_log.mark()
        reply = out(await client.call_tool("chat_with_model", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}))
        assert completion_shape(reply) == []
        (sent,) = sim_log.chats(mark)
        assert sent["body"]["temperature"] == 0.7  # physics91's default
        # A tool this server does not offer is a protocol error (-32602), as the MCP spec says.
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("chat_completion", {"messages": [{"role": "user", "content": "Hello"}]})
        assert unknown.value.code == INVALID_PARAMS and "Unknown tool: 'chat_completion'" in unknown.value.message


# ---------- the seeds' own examples ----------


@pytest.mark.parametrize(("example", "tool", "arguments"), PHYSICS91_EXAMPLES, ids=[e[0] for e in PHYSICS91_EXAMPLES])
async def test_physics91_documented_examples_answer_in_the_documented_shapes(
    compat: Client, sim_log: SimLog, example: str, tool: str, arguments: dict[str, Any]
) -> None:
    mark = sim_log.mark()
    result = await compat.call_tool(tool, arguments)
    if arguments.get("model") == "anthropic/claude-3-sonnet":
        # Retired by OpenRouter since the document was written: refused before anything is spent, naming its successor.
        error = error_of(result)
        assert error["code"] == "MODEL_NOT_FOUND" and error["details"]["successor"] == "anthropic/claude-sonnet-4.5"
        assert sim_log.chats(mark) == []
        return
    data = out(result)
    if tool == "chat_with_model":
        assert completion_shape(data) == []
        (sent,) = sim_log.chats(mark)
        assert sent["model"] == arguments["model"] and sent["body"]["messages"] == arguments["messages"]
        assert sent["body"]["temperature"] == arguments["temperature"] and sent["body"].get("max_tokens") == arguments.get("max_tokens")
        if arguments.get("stream"):
            chunks = data["result"]
            assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * len(chunks) and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
            assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == data["choices"][0]["message"]["content"]
            assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["usage"] == data["usage"]
        else:
            assert data["result"] is None
    elif tool == "list_available_models":
        records = data["result"]
        assert records and all(model_record_shape(r) == [] for r in records)
        needle = arguments["filter_by"]
        assert all(needle in r["id"].lower() or needle in r["name"].lower() for r in records)
        assert {r["id"] for r in records} >= ({"openai/gpt-4", "openai/gpt-4o"} if needle == "gpt" else {"anthropic/claude-sonnet-4.5"})
    else:
        assert usage_stats_shape(data) == [] and data["summary"]["date_range"] == {"start": "2024-01-01", "end": "2024-01-31"}


async def test_physics91_usage_stats_days_have_the_documented_shape(compat: Client) -> None:
    out(await compat.call_tool("chat_with_model", {"model": "openai/gpt-4", "messages": [{"role": "user", "content": "Hi"}]}))
    today = datetime.now(UTC).date().isoformat()
    data = out(await compat.call_tool("get_usage_stats", {"request": {"start_date": today, "end_date": today}}))
    assert usage_stats_shape(data) == [] and data["data"][0]["models"] and data["summary"]["total_requests"] >= 1


async def test_stabgan_chat_completion_schema_example_and_its_own_arguments_reach_openrouter(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    extras = {"include_reasoning": True, "online": True, "web_max_results": 3, "cache": True, "cache_ttl": "5m", "cache_clear": True}
    data = out(await compat.call_tool("chat_completion", {**STABGAN_CHAT, **extras}))
    assert data["text"] and data["cost_usd"] > 0
    (sent,) = sim_log.chats(mark)
    body = sent["body"]
    assert body["model"] == STABGAN_CHAT["model"] and body["messages"] == STABGAN_CHAT["messages"] and body["temperature"] == 0.5 and body["max_tokens"] == 200
    assert {k: body["provider"][k] for k in STABGAN_CHAT["provider"]} == STABGAN_CHAT["provider"]
    assert body["reasoning"] == {"exclude": False}
    assert {"type": "openrouter:web_search", "parameters": {"max_results": 3}} in body["tools"]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["x-openrouter-cache"] == "true" and headers["x-openrouter-cache-ttl"] == "300" and headers["x-openrouter-cache-clear"] == "true"


async def test_stabgan_chat_refusals_cost_nothing(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    hello = [{"role": "user", "content": "Hello"}]
    assert "online" in refused(await compat.call_tool("chat_completion", {"messages": hello, "web_max_results": 3}), "web_max_results")
    refused(await compat.call_tool("chat_completion", {"messages": hello, "include_reasoning": False, "reasoning": {"exclude": False}}), "include_reasoning")
    refused(await compat.call_tool("chat_completion", {"messages": hello, "cache": False, "cache_ttl": "1h"}), "cache_ttl")
    refused(await compat.call_tool("chat_completion", {"messages": hello, "cache_ttl": "3 days"}), "cache_ttl")
    refused(await compat.call_tool("analyze_image", {"image_path": "frame.png", "cache_input": True}), "cache_input")
    refused(await compat.call_tool("analyze_audio", {"audio_path": "x.wav", "cache": True}), "cache")
    assert sent_since(sim_log, mark) == []


# ---------- physics91's own tools ----------


async def test_physics91_request_object_is_the_flat_call(compat: Client, sim_log: SimLog) -> None:
    arguments = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Same either way"}], "temperature": 0.2, "max_tokens": 64}
    mark = sim_log.mark()
    flat = out(await compat.call_tool("chat_with_model", arguments))
    wrapped = out(await compat.call_tool("chat_with_model", {"request": arguments}))
    first, second = sim_log.chats(mark)
    assert first["body"] == second["body"]
    assert flat["choices"][0]["message"]["content"] == wrapped["choices"][0]["message"]["content"]
    mark = sim_log.mark()
    refused(await compat.call_tool("chat_with_model", {"request": arguments, "temperature": 0.9}), "request.temperature")
    error = error_of(await compat.call_tool("chat_with_model", {"request": {**arguments, "temprature": 0.3}}))
    assert error["code"] == "INVALID_INPUT" and "did you mean `temperature`" in error["message"]
    assert error_of(await compat.call_tool("chat_with_model", {"request": {**arguments, "max_tokens": "64"}}))["code"] == "INVALID_INPUT"
    assert sent_since(sim_log, mark) == []


async def test_chat_with_vision_sends_the_images_after_the_last_messages_text(compat: Client, sim_log: SimLog) -> None:
    png = base64.b64encode(image_bytes((16, 16))).decode()
    messages = [{"role": "system", "content": "Describe briefly."}, {"role": "user", "content": "What is in these pictures?"}]
    images = [{"data": png, "type": "base64"}, {"data": "https://example.com/cat.jpg", "type": "url"}]
    mark = sim_log.mark()
    data = out(await compat.call_tool("chat_with_vision", {"model": "openai/gpt-4o", "messages": messages, "images": images}))
    assert completion_shape(data) == []
    (sent,) = sim_log.chats(mark)
    assert sent["body"]["messages"][0] == messages[0]
    assert sent["body"]["messages"][1]["content"] == [
        {"type": "text", "text": "What is in these pictures?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    mark = sim_log.mark()
    refused(await compat.call_tool("chat_with_vision", {"messages": messages, "images": [{"data": png, "type": "file"}]}), "images[0].type")
    refused(await compat.call_tool("chat_with_vision", {"messages": messages, "images": [{"data": "not base64!", "type": "base64"}]}), "images[0].data")
    assert sent_since(sim_log, mark) == []


async def test_list_vision_models_filters_by_name_and_keeps_only_image_input(compat: Client) -> None:
    everything = out(await compat.call_tool("list_vision_models", {}))["result"]
    assert everything and all("image" in r["architecture"]["input_modalities"] for r in everything)
    gpt = out(await compat.call_tool("list_vision_models", {"request": {"filter_by": "GPT-4O"}}))["result"]
    assert gpt and {r["id"] for r in gpt} < {r["id"] for r in everything} and all("gpt-4o" in r["id"] for r in gpt)
    assert "openai/gpt-4" not in {r["id"] for r in gpt}  # text only


async def test_compare_model_performance_ranks_by_the_weights_given(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    data = out(await compat.call_tool("compare_model_performance", {"models": QUIZ[:2], "weights": {"speed": 1, "cost": 3}}))
    assert data["config"] == {"models": QUIZ[:2], "weights": {"speed": 0.25, "cost": 0.75, "quality": 0.0}, "include_cost_analysis": True}
    ranking = data["ranking"]
    assert [r["rank"] for r in ranking] == [1, 2] and {r["model_id"] for r in ranking} == set(QUIZ[:2])
    for r in ranking:
        scores = r["individual_scores"]
        assert r["weighted_score"] == pytest.approx(0.25 * scores["speed"] + 0.75 * scores["cost"], abs=1e-3)
    assert {c["model_id"] for c in data["analysis"]["cost_efficiency"]} == set(QUIZ[:2]) and set(data["detailed_metrics"]) == set(QUIZ[:2])
    assert data["cost_usd"] > 0 and {e["model"] for e in sim_log.chats(mark)} == set(QUIZ[:2])
    plain = out(await compat.call_tool("compare_model_performance", {"models": QUIZ[:2], "include_cost_analysis": False}))
    assert "cost_efficiency" not in plain["analysis"] and plain["config"]["weights"] == pytest.approx(
        {"speed": 0.2 / 0.9, "cost": 0.3 / 0.9, "quality": 0.4 / 0.9}, abs=1e-5
    )
    mark = sim_log.mark()
    refused(await compat.call_tool("compare_model_performance", {"models": QUIZ[:2], "weights": {"throughput": 1}}), "weights.throughput")
    assert sent_since(sim_log, mark) == []


async def test_compare_model_categories_picks_each_categorys_top_n_and_benchmarks_them(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    data = out(await compat.call_tool("compare_model_categories", {"categories": ["code"], "top_n": 2, "metric": "cost"}))
    picked = data["category_info"]["code"]["selected_models"]
    assert len(picked) == 2 and data["config"] == {"categories": ["code"], "top_n": 2, "metric": "cost"}
    result = data["results"]["code"]
    assert set(result["ranking"]) == set(picked) and result["prompts"] == "suite:coding" and result["runs"] == 2
    # The coding suite's graded prompts also ask the configured jury.
    assert set(picked) <= {e["model"] for e in sim_log.chats(mark)} and data["cost_usd"] == pytest.approx(result["cost_usd"])
    mark = sim_log.mark()
    refused(await compat.call_tool("compare_model_categories", {"categories": ["image"]}), "categories[0]")
    refused(await compat.call_tool("compare_model_categories", {"metric": "fastest"}), "metric")
    assert sent_since(sim_log, mark) == []


# ---------- physics91's arguments on our tools ----------


async def test_collective_strategies_and_model_counts(compat: Client, sim_log: SimLog) -> None:
    prompt = "What is 6 times 7?"
    data = out(await compat.call_tool("collective_chat_completion", {"request": {"prompt": prompt, "models": QUIZ, "strategy": "weighted_average"}}))
    assert data["strategy"] == "weighted" and data["weights_source"]
    mark = sim_log.mark()
    data = out(
        await compat.call_tool(
            "collective_chat_completion", {"prompt": prompt, "models": QUIZ, "max_models": 2, "min_models": 2, "system_prompt": "Answer briefly."}
        )
    )
    sent = [e for e in sim_log.chats(mark) if e["model"] in QUIZ]
    assert sorted(e["model"] for e in sent) == sorted(QUIZ[:2]) and [a["status"] for a in data["answers"]] == ["ok", "ok"]
    assert all(user_text(e) == f"Answer briefly.\n\n{prompt}" for e in sent)
    mark = sim_log.mark()
    assert "3 models must answer but 2" in refused(
        await compat.call_tool("collective_chat_completion", {"prompt": prompt, "models": QUIZ[:2], "min_models": 3}), "min_models"
    )
    refused(await compat.call_tool("collective_chat_completion", {"prompt": prompt, "models": QUIZ, "min_models": 2, "early_stop": True}), "min_models")
    assert sent_since(sim_log, mark) == []


async def test_confidence_threshold_leaves_out_the_models_measured_below_it(compat: Client) -> None:
    fresh = ["quiz/acc-80-c", "quiz/acc-80-d", "quiz/acc-50-e"]
    ask = {"prompt": "What is 6 times 7?", "models": fresh, "strategy": "confidence_threshold", "confidence_threshold": 0.5}
    data = out(await compat.call_tool("collective_chat_completion", ask))
    assert data["strategy"] == "majority_vote" and [a["model"] for a in data["answers"]] == fresh  # no evidence yet: each votes
    graded = [{"prompt": "Name the capital of France. Answer with the city only.", "expected": "Paris"}]
    measured = out(await compat.call_tool("benchmark_models", {"models": [fresh[0], "quiz/acc-50-d"], "prompts": graded, "runs": 3}))
    assert measured["models"][0]["quality"]["mean"] == 0
    data = out(await compat.call_tool("collective_chat_completion", ask))
    assert [a["model"] for a in data["answers"]] == fresh[1:]


async def test_ensemble_task_type_sets_the_answer_type_and_the_system_prompt_leads_the_problem(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    args = {"problem": "What is 12 + 30?", "models": QUIZ[:2], "task_type": "math", "system_prompt": "Be exact."}
    data = out(await compat.call_tool("ensemble_reasoning", {"request": args}))
    assert data["answer_type"] == "number"
    assert all(user_text(e).startswith("Be exact.\n\nWhat is 12 + 30?") for e in sim_log.chats(mark) if e["model"] in QUIZ)
    mark = sim_log.mark()
    refused(await compat.call_tool("ensemble_reasoning", {"problem": "x", "temperature": 0.2}), "temperature")
    refused(await compat.call_tool("ensemble_reasoning", {"problem": "x", "task_type": "math", "answer_type": "text"}), "task_type")
    refused(await compat.call_tool("ensemble_reasoning", {"problem": "x", "task_type": "poetry"}), "task_type")
    assert sent_since(sim_log, mark) == []


async def test_adaptive_selection_reads_query_task_type_requirements_and_constraints(compat: Client) -> None:
    ask = {
        "query": "Write a function to sort a list",
        "task_type": "code_generation",
        "performance_requirements": {"accuracy": 0.9, "speed": 0.7},
        "constraints": {"max_cost": 0.01, "preferred_provider": "openai"},
    }
    data = out(await compat.call_tool("adaptive_model_selection", {"request": ask}))
    assert data["task_profile"]["priority"] == "quality" and "code" in data["task_profile"]["skills"]
    assert data["recommendations"] and all(r["model"].startswith("openai/") and r["evidence"]["est_cost_per_call_usd"] <= 0.01 for r in data["recommendations"])
    cheap = out(await compat.call_tool("adaptive_model_selection", {"task": "Summarize a memo", "performance_requirements": {"cost": 1, "speed": 0.2}}))
    assert cheap["task_profile"]["priority"] == "cost"
    refused(await compat.call_tool("adaptive_model_selection", {"query": "a", "task": "b"}), "query")
    refused(
        await compat.call_tool("adaptive_model_selection", {"task": "a", "performance_requirements": {"speed": 1}, "constraints": {"priority": "cost"}}),
        "performance_requirements",
    )
    refused(await compat.call_tool("adaptive_model_selection", {"task": "a", "performance_requirements": {"beauty": 1}}), "performance_requirements.beauty")


async def test_cross_validation_criteria_and_threshold(compat: Client, sim_log: SimLog) -> None:
    content = "Water boils at 100 °C at sea level."
    mark = sim_log.mark()
    plain = out(await compat.call_tool("cross_model_validation", {"content": content, "models": JUDGES, "validation_criteria": ["factual accuracy"]}))
    assert [s["criterion"] for s in plain["scores"]] == ["factual accuracy"] and all("factual accuracy" in json.dumps(e["body"]) for e in sim_log.chats(mark))
    assert plain["verdict"] == "VALID"
    score = plain["overall_score"] / 10
    same = {"content": content, "models": JUDGES, "validation_criteria": ["factual accuracy"]}
    below = out(await compat.call_tool("cross_model_validation", {"request": {**same, "threshold": min(1.0, score + 0.05)}}))
    assert below["verdict"] == "INVALID" and any("below threshold" in w for w in below["warnings"])
    at = out(await compat.call_tool("cross_model_validation", {**same, "threshold": score}))
    assert at["verdict"] == "VALID"
    mark = sim_log.mark()
    refused(await compat.call_tool("cross_model_validation", {"content": content, "threshold": 0.5, "wait_seconds": 30}), "threshold")
    refused(await compat.call_tool("cross_model_validation", {"content": content, "system_prompt": "Be strict."}), "system_prompt")
    assert sent_since(sim_log, mark) == []


async def test_max_iterations_bounds_the_debate_rounds(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    args = {"problem": "What is 6 times 7?", "models": QUIZ, "max_iterations": 1, "requirements": {"format": "a number"}}
    data = out(await compat.call_tool("collaborative_problem_solving", {"request": args}))
    assert data["rounds_run"] == data["max_rounds"] == 1 and len(data["trajectory"]) == 1
    sent = [e for e in sim_log.chats(mark) if e["model"] in QUIZ]
    assert sorted(e["model"] for e in sent) == sorted(QUIZ)  # one round: one answer from each
    assert all(user_text(e).endswith('Requirements: {"format": "a number"}') for e in sent)
    mark = sim_log.mark()
    refused(await compat.call_tool("collaborative_problem_solving", {"problem": "x", "max_iterations": 1, "max_rounds": 2}), "max_iterations")
    assert error_of(await compat.call_tool("collaborative_problem_solving", {"problem": "x", "max_iterations": 7}))["code"] == "INVALID_INPUT"
    assert sent_since(sim_log, mark) == []


async def test_benchmark_prompt_history_and_export_in_physics91s_words(compat: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    prompt = "Say hello in three languages."
    run = out(await compat.call_tool("benchmark_models", {"models": QUIZ[:2], "prompt": prompt, "runs": 1, "save_results": True, "delay_seconds": 0}))
    sent = [e for e in sim_log.chats(mark) if e["model"] in QUIZ]
    assert sent and all(user_text(e) == prompt for e in sent)
    assert run["prompts"] == "list" and run["prompt_count"] == 1
    history = out(await compat.call_tool("get_benchmark_history", {"days_back": 1, "model_filter": "ACC-90", "limit": 10}))
    assert run["benchmark_id"] in {r["benchmark_id"] for r in history["runs"]} and all(any("acc-90" in m for m in r["models"]) for r in history["runs"])
    none = await compat.call_tool("get_benchmark_history", {"model_filter": "no-such-model"})
    assert out(none) == {"runs": [], "total": 0} and getattr(none.content[0], "text", None) == "No stored benchmark runs match."
    report = out(
        await compat.call_tool("export_benchmark_report", {"benchmark_file": f"{run['benchmark_id']}.json", "format": "csv", "output_file": "reports/run.csv"})
    )
    assert report["benchmark_id"] == run["benchmark_id"] and Path(report["path"]) == dirs.output / "reports" / "run.csv"
    mark = sim_log.mark()
    for arguments, field in (
        ({"prompt": "x", "prompts": ["y"]}, "prompt"),
        ({"prompt": "x", "delay_seconds": 1.0}, "delay_seconds"),
        ({"prompt": "x", "save_results": False}, "save_results"),
        ({"prompt": "x", "include_prompts_in_logs": True}, "include_prompts_in_logs"),
    ):
        refused(await compat.call_tool("benchmark_models", {"models": QUIZ[:2], **arguments}), field)
    assert sent_since(sim_log, mark) == []


async def test_free_chat_takes_physics91s_system_prompt_history_and_preferred_model(compat: Client, sim_log: SimLog) -> None:
    free = out(await compat.call_tool("list_free_models", {}))["models"]
    preferred = free[-1]["id"]
    mark = sim_log.mark()
    history = [{"role": "user", "content": "Say hi in German."}, {"role": "assistant", "content": "Hallo"}]
    request = {
        "message": [{"type": "text", "text": "And in French?"}],
        "system_prompt": "You translate.",
        "conversation_history": history,
        "preferred_models": [preferred],
        "stream": True,
    }
    data = out(await compat.call_tool("free_chat", {"request": request}))
    assert data["tried"][0] == preferred
    messages = sim_log.chats(mark)[0]["body"]["messages"]
    assert messages[0] == {"role": "system", "content": "You translate."}
    assert messages[1]["content"] == "The conversation so far:\nuser: Say hi in German.\nassistant: Hallo\n\nThe new message:\n\nAnd in French?"
    mark = sim_log.mark()
    refused(await compat.call_tool("free_chat", {"message": "x", "preferred_models": [preferred, free[0]["id"]]}), "preferred_models")
    refused(await compat.call_tool("free_chat", {"message": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}), "message[0]")
    refused(await compat.call_tool("free_chat", {"message": "x", "system": "a", "system_prompt": "b"}), "system_prompt")
    assert sent_since(sim_log, mark) == []


# ---------- stabgan's own tools and arguments ----------


async def test_health_check_answers_stabgans_shape(compat: Client) -> None:
    data = out(await compat.call_tool("health_check", {}))
    assert set(data) == {"ok", "server_version", "protocol_version", "api_key_valid", "models_cached", "error"}
    assert data["ok"] is True and data["api_key_valid"] is True and data["models_cached"] > 100 and data["error"] is None
    assert data["protocol_version"][:2] == "20" and data["server_version"]


async def test_search_models_capabilities_are_input_modalities(compat: Client) -> None:
    data = out(await compat.call_tool("search_models", {"capabilities": {"vision": True, "audio": False}, "limit": 50}))
    assert data["models"] and all("image" in m["input_modalities"] for m in data["models"])
    both = out(await compat.call_tool("search_models", {"capabilities": {"vision": True, "audio": True}, "limit": 50}))
    assert 0 < both["total"] < data["total"] and all({"image", "audio"} <= set(m["input_modalities"]) for m in both["models"])
    refused(await compat.call_tool("search_models", {"capabilities": {"smell": True}}), "capabilities.smell")


async def test_stabgans_model_tools_answer_with_its_result_fields_too(compat: Client) -> None:
    """stabgan's structured results (seed-servers.md): search_models {results, offset, limit, total, has_more,
    next_offset}, get_model_info's `architecture`, validate_model's `valid`; ours stay beside them."""
    page = out(await compat.call_tool("search_models", {"query": "gpt", "limit": 3, "offset": 1}))
    assert {"results", "offset", "limit", "total", "has_more", "next_offset"} <= set(page)
    assert page["results"] == page["models"] and len(page["results"]) == 3 and (page["offset"], page["limit"]) == (1, 3)
    assert page["has_more"] is True and page["next_offset"] == 4
    info = out(await compat.call_tool("get_model_info", {"model": "openai/gpt-4o-mini"}))
    assert {"id", "name", "context_length", "architecture"} <= set(info)
    assert info["architecture"] == {"input_modalities": info["input_modalities"], "output_modalities": info["output_modalities"]}
    assert "image" in info["architecture"]["input_modalities"]
    assert out(await compat.call_tool("validate_model", {"model": "openai/gpt-4o-mini"}))["valid"] is True
    wrong = out(await compat.call_tool("validate_model", {"model": "openai/gpt-4o-minii"}))
    assert wrong["valid"] is False and wrong["model"] == "openai/gpt-4o-minii" and wrong["suggestions"][0] == "openai/gpt-4o-mini"
    tools = {t.name: t for t in (await compat.list_tools()).tools}
    assert {"results", "offset", "limit"} <= set(tools["search_models"].output_schema["properties"])
    assert "valid" in tools["validate_model"].output_schema["properties"]


async def test_generate_image_and_audio_take_stabgans_values(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    out(await compat.call_tool("generate_image", {"prompt": "a lighthouse", "image_size": "0.5K", "modalities": ["image", "text"]}))
    (sent,) = sim_log.chats(mark)
    assert sent["body"]["image_config"] == {"image_size": "512"}
    mark = sim_log.mark()
    audio = out(await compat.call_tool("generate_audio", {"prompt": "Good morning.", "format": "pcm16"}))
    speech = [e for e in sim_log.entries()[mark:] if e["path"].endswith("/audio/speech")]
    assert audio["audio"]["format"] == "wav" and speech and speech[0]["body"]["response_format"] == "pcm"
    mark = sim_log.mark()
    refused(await compat.call_tool("generate_image", {"prompt": "x", "modalities": ["text"]}), "modalities")
    refused(await compat.call_tool("generate_image", {"prompt": "x", "max_tokens": 4096}), "max_tokens")
    assert sent_since(sim_log, mark) == []


async def test_generate_video_and_from_image_take_stabgans_arguments(compat: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    video = out(await compat.call_tool("generate_video", {"prompt": "waves", "max_wait_ms": 60_000, "poll_interval_ms": 5_000, "seed": 7}))
    (submit,) = [e for e in sim_log.entries()[mark:] if e["method"] == "POST" and e["path"].endswith("/videos")]
    assert video["status"] == "completed" and submit["body"]["seed"] == 7
    mark = sim_log.mark()
    moved = out(await compat.call_tool("generate_video_from_image", {"image": "frame.png", "prompt": "make it move", "duration": 4, "max_wait_ms": 60_000}))
    (submit,) = [e for e in sim_log.entries()[mark:] if e["method"] == "POST" and e["path"].endswith("/videos")]
    assert moved["status"] == "completed" and moved["videos"] and submit["body"]["duration"] == 4
    (frame,) = submit["body"]["frame_images"]
    assert frame["frame_type"] == "first_frame" and frame["image_url"]["url"].startswith("data:image/png;base64,")
    mark = sim_log.mark()
    refused(await compat.call_tool("generate_video", {"prompt": "x", "provider": {"google": {"x": 1}}}), "provider")
    refused(await compat.call_tool("generate_video", {"prompt": "x", "max_wait_ms": 20_000, "wait_seconds": 5}), "max_wait_ms")
    assert sent_since(sim_log, mark) == []


# ---------- every compat tool still refuses what it does not know ----------


async def test_every_compat_tool_refuses_an_unknown_argument_before_any_request(compat: Client, sim_log: SimLog) -> None:
    tools = (await compat.list_tools()).tools
    mark = sim_log.mark()
    wrong = []
    for tool in tools:
        schema = tool.input_schema
        assert schema.get("additionalProperties") is False, tool.name
        error = error_of(await compat.call_tool(tool.name, {**filled(schema, schema.get("$defs") or {}), "bogus_argument": 1}))
        if error["code"] != "INVALID_INPUT" or error["details"]["field"] != "bogus_argument" or error["details"]["accepted"] != list(schema["properties"]):
            wrong.append(f"{tool.name}: {error}")
    assert not wrong, "\n".join(wrong)
    assert sent_since(sim_log, mark) == []
