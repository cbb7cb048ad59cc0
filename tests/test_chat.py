"""chat_completion end to end: a real MCP client (stdio and Streamable HTTP) against the server process,
which talks to the simulator over a real socket."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from .conftest import SimLog, error_of

USER = [{"role": "user", "content": "What is the capital of France?"}]


async def chat(client: Client, **args: Any) -> Any:
    args.setdefault("messages", USER)
    return await client.call_tool("chat_completion", args)


def ok_data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


async def test_tools_list_declares_schemas_and_annotations(mcp_client: Client) -> None:
    tools = {t.name: t for t in (await mcp_client.list_tools()).tools}
    tool = tools["chat_completion"]
    assert tool.output_schema is not None and "cost_usd" in tool.output_schema["properties"]
    assert tool.input_schema["required"] == ["messages"]
    assert tool.annotations is not None
    # Hints left out mean the protocol's defaults: open world (true), not read-only (false).
    assert tool.annotations.open_world_hint in (True, None) and tool.annotations.read_only_hint in (False, None)
    assert tool.annotations.destructive_hint is False  # a paid call only adds: the one hint that is not a default


async def test_basic_call_returns_structured_output_with_cost(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o-mini"))
    assert data["text"].startswith("Simulated reply from openai/gpt-4o-mini")
    assert data["model"] == "openai/gpt-4o-mini"
    assert data["provider"]
    assert data["finish_reason"] == "stop"
    assert data["usage"]["prompt_tokens"] > 0 and data["usage"]["completion_tokens"] > 0
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
    assert data["cost_usd"] > 0
    assert data["generation_id"].startswith("gen-")
    assert data["content_is_untrusted"] is True
    (sent,) = sim_log.chats(mark)
    body = sent["body"]
    assert "stream" not in body  # nobody reads progress: one plain request
    assert "temperature" not in body  # not sent when omitted
    assert body["provider"] == {"data_collection": "deny"}  # OPENROUTER_PROVIDER_* defaults


async def test_default_model_is_used_when_none_given(mcp_client: Client) -> None:
    data = ok_data(await chat(mcp_client))
    assert data["model"] == "openai/gpt-4o-mini"


async def test_sampling_parameters_are_sent(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    params = dict(temperature=0.2, top_p=0.9, top_k=40, frequency_penalty=0.5, presence_penalty=-0.5, repetition_penalty=1.1, min_p=0.05, seed=7, stop=["\n\n"], max_tokens=5)
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o-mini", **params))
    body = sim_log.chats(mark)[0]["body"]
    for key, value in params.items():
        assert body[key] == value, key
    assert data["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 5


async def test_model_fallbacks_use_the_next_model(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    data = ok_data(await chat(mcp_client, model="sim/unavailable", models=["anthropic/claude-sonnet-4.5"]))
    assert data["model"] == "anthropic/claude-sonnet-4.5"
    assert sim_log.chats(mark)[0]["body"]["models"] == ["anthropic/claude-sonnet-4.5"]


async def test_variants_pass_through(mcp_client: Client) -> None:
    data = ok_data(await chat(mcp_client, model="meta-llama/llama-3.3-70b-instruct:free"))
    assert data["model"] == "meta-llama/llama-3.3-70b-instruct:free"
    assert data["cost_usd"] == 0


async def test_multimodal_message_parts(mcp_client: Client) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Describe this."}, {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
    ]
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o", messages=messages))
    assert "image_url" in data["text"]


async def test_json_schema_reply_is_parsed(mcp_client: Client) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}}, "required": ["city", "population"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "strict": True, "schema": schema}}
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o", response_format=fmt))
    assert set(data["parsed"]) == {"city", "population"}
    assert isinstance(data["parsed"]["population"], int)


async def test_json_object_reply(mcp_client: Client) -> None:
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o", response_format={"type": "json_object"}))
    assert data["text"].startswith("{")


async def test_reply_that_breaks_the_schema_is_reported(mcp_client: Client) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}
    error = error_of(await chat(mcp_client, model="sim/schema-violation", response_format=fmt))
    assert error["code"] == "UPSTREAM_ERROR"
    assert "city" in error["message"] and "schema" in error["message"]


async def test_tool_calls_are_returned(mcp_client: Client, sim_log: SimLog) -> None:
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}},
    ]
    mark = sim_log.mark()
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o", tools=tools, tool_choice={"type": "function", "function": {"name": "get_time"}}))
    assert data["finish_reason"] == "tool_calls"
    (call,) = data["tool_calls"]
    assert call["name"] == "get_time" and call["arguments"] == {"tz": "example tz"} and call["id"]
    assert sim_log.chats(mark)[0]["body"]["tool_choice"]["function"]["name"] == "get_time"
    # The conversation continues with the tool's answer.
    messages = [*USER, {"role": "assistant", "content": None, "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": call["id"], "content": "12:00"}]
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o", tools=tools, messages=messages))
    assert "12:00" in data["text"] and data["tool_calls"] == []


async def test_reasoning_is_returned_separately(mcp_client: Client) -> None:
    data = ok_data(await chat(mcp_client, model="deepseek/deepseek-r1", reasoning={"effort": "high"}))
    assert data["reasoning"].startswith("Let me think")
    assert data["usage"]["reasoning_tokens"] == 64
    assert "Let me think" not in data["text"]
    hidden = ok_data(await chat(mcp_client, model="deepseek/deepseek-r1", reasoning={"effort": "low", "exclude": True}))
    assert hidden["reasoning"] is None and hidden["usage"]["reasoning_tokens"] == 16


async def test_reasoning_cut_by_length_says_to_raise_max_tokens(mcp_client: Client) -> None:
    error = error_of(await chat(mcp_client, model="sim/reasoning-length", max_tokens=50))
    assert error["code"] == "INVALID_INPUT"
    assert "max_tokens" in error["message"] and "Raise max_tokens" in error["message"]


async def test_provider_routing_merges_over_defaults(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    provider = {"sort": "price", "quantizations": ["fp8", "bf16", "fp16", "int8", "int4", "unknown"], "allow_fallbacks": True, "require_parameters": False, "zdr": False, "max_price": {"prompt": 100}}
    ok_data(await chat(mcp_client, model="meta-llama/llama-3.3-70b-instruct", provider=provider))
    sent = sim_log.chats(mark)[0]["body"]["provider"]
    assert sent == {"data_collection": "deny", **provider}


async def test_provider_only_picks_that_provider(mcp_client: Client) -> None:
    from openrouter_mcp.simulator import catalog

    endpoints = catalog.endpoints_for("meta-llama/llama-3.3-70b-instruct")
    assert endpoints is not None
    last = endpoints["endpoints"][-1]["provider_name"]
    data = ok_data(await chat(mcp_client, model="meta-llama/llama-3.3-70b-instruct", provider={"only": [last]}))
    assert data["provider"] == last
    error = error_of(await chat(mcp_client, model="meta-llama/llama-3.3-70b-instruct", provider={"only": ["no-such-provider"]}))
    # No provider is left by the routing: said as that, naming the option (not an outage, not an unknown model).
    assert error["code"] == "INVALID_INPUT" and 'provider.only=["no-such-provider"]' in error["message"], error


async def test_web_search_returns_citations(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    data = ok_data(await chat(mcp_client, model="openai/gpt-4o", web_search=True))
    assert len(data["citations"]) == 3 and data["citations"][0]["url"].startswith("https://")
    assert {"type": "openrouter:web_search"} in sim_log.chats(mark)[0]["body"]["tools"]


async def test_plugins_pass_through(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    plugins = [{"id": "file-parser", "pdf": {"engine": "cloudflare-ai"}}]
    ok_data(await chat(mcp_client, model="openai/gpt-4o", plugins=plugins))
    assert sim_log.chats(mark)[0]["body"]["plugins"] == plugins


async def test_progress_arrives_while_the_reply_streams(mcp_client: Client) -> None:
    updates: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, message))

    result = await mcp_client.call_tool("chat_completion", {"model": "sim/slow-3s", "messages": USER}, progress_callback=on_progress)
    ok_data(result)
    # Heartbeats while waiting for the first token, then token progress.
    assert len(updates) >= 2
    assert any(m and m.startswith("generating") for _, m in updates)
    values = [p for p, _ in updates]
    assert values == sorted(values)


async def test_the_reply_is_streamed_only_when_someone_reads_it(mcp_client: Client, sim_log: SimLog) -> None:
    # Nobody asked for progress: one plain request, the whole answer at once (cheaper for both sides).
    mark = sim_log.mark()
    plain = ok_data(await chat(mcp_client, model="sim/instant"))
    (sent,) = sim_log.chats(mark)
    assert "stream" not in sent["body"]
    assert plain["cost_usd"] > 0 and plain["generation_id"]

    # Progress asked for: streamed, and the progress comes from the tokens as they arrive.
    mark = sim_log.mark()
    updates: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append(message)

    streamed = ok_data(await mcp_client.call_tool("chat_completion", {"model": "sim/instant", "messages": USER}, progress_callback=on_progress))
    (sent,) = sim_log.chats(mark)
    assert sent["body"]["stream"] is True
    assert any(m and m.startswith("generating") for m in updates)
    assert streamed["text"] == plain["text"] and streamed["cost_usd"] == plain["cost_usd"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"messages": []}, "messages"),
        ({"temperature": 3}, "temperature"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format.json_schema.schema"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"provider": {"sort": "fastest"}}, "provider.sort"),
        ({"provider": {"colour": "blue"}}, "provider.colour"),
        ({"model": "not a model"}, "model"),
        ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tools[0].function.name"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"reasoning": {"effort": "maximum"}}, "reasoning.effort"),
        ({"top_p": 0}, "top_p"),
        ({"messages": [{"role": "user", "content": [{"type": "sticker"}]}]}, "messages[0].content[0].type"),
    ],
)
async def test_bad_input_names_the_field(mcp_client: Client, sim_log: SimLog, args: dict[str, Any], field: str) -> None:
    mark = sim_log.mark()
    error = error_of(await chat(mcp_client, **args))
    assert error["code"] == "INVALID_INPUT"
    assert field in error["message"], error["message"]
    assert error["retryable"] is False
    assert sim_log.chats(mark) == []  # refused before anything was sent
