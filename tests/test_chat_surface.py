"""chat_completion carries OpenRouter's whole chat surface: every parameter reaches the simulator as given
(its request log shows the body and the cache headers), what comes back (logprobs, reasoning_details,
spoken audio, images, cache hits) is returned, a routing that leaves no provider is reported as such,
and a value out of range is refused before anything is sent. Real parts throughout: the simulator over
a socket, our server through the MCP SDK client, and the gateway reading the simulator's whole-JSON
answers as well as its streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.errors import ErrorCode
from openrouter_mcp.simulator import catalog
from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.upstream import ChatResult
from openrouter_mcp.upstream.errors import failure_from_error
from openrouter_mcp.upstream.gateway import Gateway

from .conftest import SimLog, error_of, loopback_api

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}


async def chat(client: Client, text: str, **args: Any) -> Any:
    args.setdefault("messages", [{"role": "user", "content": text}])
    return await client.call_tool("chat_completion", args)


def ok_data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


def last_chat(sim_log: SimLog, mark: int) -> dict[str, Any]:
    (entry,) = sim_log.chats(mark)
    return entry


async def test_every_new_parameter_reaches_openrouter_as_given(stdio_client: Client, sim_log: SimLog) -> None:
    params: dict[str, Any] = {
        "max_completion_tokens": 300,
        "logprobs": True,
        "top_logprobs": 2,
        "logit_bias": {"50256": -100, "13": 2.5},
        "top_a": 0.3,
        "verbosity": "low",
        "parallel_tool_calls": False,
        "prediction": {"type": "content", "content": "Paris is the capital."},
        "user": "user-7f3a",
        "session_id": "session-42",
    }
    mark = sim_log.mark()
    ok_data(
        await chat(
            stdio_client, "Which city is the capital of France?", model="openai/gpt-4o-mini", tools=[WEATHER], transforms=["middle-out"], cache=True, **params
        )
    )
    sent = last_chat(sim_log, mark)
    for key, value in params.items():
        assert sent["body"][key] == value, key
    assert sent["body"]["transforms"] == ["middle-out"]
    # The same switch in the shape OpenRouter documents today goes too.
    assert {"id": "context-compression"} in sent["body"]["plugins"]
    assert sent["headers"] == {"x-openrouter-cache": "true"}


async def test_logprobs_come_back_per_token_with_the_alternatives(stdio_client: Client) -> None:
    data = ok_data(await chat(stdio_client, "Why is the sky blue?", model="openai/gpt-4o-mini", top_logprobs=3))  # logprobs implied
    assert data["logprobs"], "no logprobs"
    assert "".join(t["token"] for t in data["logprobs"]) == data["text"]
    for entry in data["logprobs"]:
        assert entry["logprob"] <= 0 and len(entry["top_logprobs"]) == 3
        assert entry["top_logprobs"][0] == {"token": entry["token"], "logprob": entry["logprob"]}
    plain = ok_data(await chat(stdio_client, "Why is the sky blue?", model="openai/gpt-4o-mini"))
    assert plain["logprobs"] == []


async def test_reasoning_details_come_back_and_go_back_unchanged(stdio_client: Client, sim_log: SimLog) -> None:
    question = [{"role": "user", "content": "What is the weather in Oslo?"}]
    first = ok_data(await chat(stdio_client, "", messages=question, model="anthropic/claude-sonnet-4.5", reasoning={"effort": "low"}, tools=[WEATHER]))
    (call,) = first["tool_calls"]
    (detail,) = first["reasoning_details"]
    assert detail["type"] == "reasoning.text" and detail["text"] == first["reasoning"] and detail["signature"]
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}],
        "reasoning_details": first["reasoning_details"],
    }
    follow_up = [*question, assistant, {"role": "tool", "tool_call_id": call["id"], "content": "12 °C, light rain"}]
    mark = sim_log.mark()
    second = ok_data(await chat(stdio_client, "", messages=follow_up, model="anthropic/claude-sonnet-4.5", reasoning={"effort": "low"}, tools=[WEATHER]))
    assert "12 °C" in second["text"]
    assert last_chat(sim_log, mark)["body"]["messages"][1]["reasoning_details"] == first["reasoning_details"]
    # An altered block is refused upstream, as a reasoning model refuses it.
    altered = [*question, {**assistant, "reasoning_details": [{**detail, "text": detail["text"] + " (edited)"}]}, follow_up[2]]
    error = error_of(await chat(stdio_client, "", messages=altered, model="anthropic/claude-sonnet-4.5", reasoning={"effort": "low"}, tools=[WEATHER]))
    assert error["code"] == "INVALID_INPUT" and "signature" in error["message"]


async def test_spoken_output_is_saved_and_linked(stdio_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await chat(
        stdio_client, "Say hello to the team", model="openai/gpt-4o-audio-preview", modalities=["text", "audio"], audio={"voice": "alloy", "format": "wav"}
    )
    data = ok_data(result)
    sent = last_chat(sim_log, mark)["body"]
    assert sent["modalities"] == ["text", "audio"] and sent["audio"] == {"voice": "alloy", "format": "wav"}
    (saved,) = data["media"]
    assert saved["mime_type"] == "audio/wav" and saved["uri"].startswith("media://output/audio/")
    path = Path(saved["path"])
    assert path.read_bytes()[:4] == b"RIFF" and path.stat().st_size == saved["size_bytes"]
    assert data["text"].strip(), "the transcript is the text"
    links = [c for c in result.content if c.type == "resource_link"]
    assert [link.uri for link in links] == [saved["uri"]]
    # Without `audio`, a voice and the streamable format are chosen; the raw PCM is saved as WAV.
    mark = sim_log.mark()
    data = ok_data(await chat(stdio_client, "Say goodbye", model="openai/gpt-4o-audio-preview", modalities=["text", "audio"]))
    assert last_chat(sim_log, mark)["body"]["audio"] == {"voice": "alloy", "format": "pcm16"}
    assert Path(data["media"][0]["path"]).read_bytes()[:4] == b"RIFF"


async def test_image_output_with_image_config_is_saved(stdio_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    config = {"aspect_ratio": "16:9", "image_size": "1K"}
    data = ok_data(await chat(stdio_client, "A lighthouse at dusk", model="google/gemini-2.5-flash-image", modalities=["image", "text"], image_config=config))
    assert last_chat(sim_log, mark)["body"]["image_config"] == config
    (saved,) = data["media"]
    assert saved["mime_type"] == "image/png" and Path(saved["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_models_alone_are_sent_as_the_whole_fallback_list(stdio_client: Client, sim_log: SimLog) -> None:
    models = ["anthropic/claude-sonnet-4.5", "openai/gpt-4o"]
    mark = sim_log.mark()
    data = ok_data(await chat(stdio_client, "Hello", models=models))
    body = last_chat(sim_log, mark)["body"]
    assert "model" not in body and body["models"] == models
    assert data["model"] == models[0]


LLAMA = "meta-llama/llama-3.3-70b-instruct"


def _endpoints(model_id: str) -> list[dict[str, Any]]:
    info = catalog.endpoints_for(model_id)
    assert info is not None
    return list(info["endpoints"])


NO_SUCH_QUANTIZATION = next(q for q in ("fp4", "int4", "fp6", "fp32", "bf16") if q not in {e["quantization"] for e in _endpoints(LLAMA)})
EVERY_PROVIDER = [e["provider_name"] for e in _endpoints(LLAMA)]


@pytest.mark.parametrize(
    ("model", "provider", "extra", "named"),
    [
        (LLAMA, {"only": ["no-such-provider"]}, {}, 'provider.only=["no-such-provider"]'),
        (LLAMA, {"ignore": EVERY_PROVIDER}, {}, "provider.ignore="),
        (LLAMA, {"quantizations": [NO_SUCH_QUANTIZATION]}, {}, f'provider.quantizations=["{NO_SUCH_QUANTIZATION}"]'),
        (LLAMA, {"max_price": {"prompt": 0.0001}}, {}, 'provider.max_price={"prompt": 0.0001}'),
        # No endpoint of this model returns logprobs, and the request insists on its parameters.
        ("anthropic/claude-sonnet-4.5", {"require_parameters": True}, {"logprobs": True}, "provider.require_parameters=true"),
    ],
)
async def test_routing_that_leaves_no_provider_names_the_options(
    stdio_client: Client, sim_log: SimLog, model: str, provider: dict[str, Any], extra: dict[str, Any], named: str
) -> None:
    mark = sim_log.mark()
    error = error_of(await chat(stdio_client, "Hello", model=model, provider=provider, **extra))
    assert error["code"] == "INVALID_INPUT" and error["retryable"] is False
    assert "404" in error["message"] and named in error["message"], error["message"]
    # Only the option that removed the endpoints is named, not the server's data_collection default.
    assert error["details"]["routing"] == provider
    assert len(sim_log.chats(mark)) == 1  # not retried


def test_a_404_without_availability_names_the_routing_options_as_sent() -> None:
    """An older body, without `error.availability`: a request that set routing filters still learns they are
    its to change, though not which one did it; without routing filters, a 404 is a model not found."""
    error = {"code": 404, "message": "No endpoints found that support tool use."}
    failure = failure_from_error(404, error, routing={"data_collection": "deny", "sort": "price"})
    assert failure.code is ErrorCode.INVALID_INPUT
    assert 'Routing options sent: provider.data_collection="deny".' in failure.message and "sort" not in failure.message
    assert failure_from_error(404, error, routing={"sort": "price"}).code is ErrorCode.MODEL_NOT_FOUND
    deprecated = {**error, "availability": {"code": "model_deprecated", "retryable": False}}
    assert failure_from_error(404, deprecated, routing={"only": ["openai"]}).code is ErrorCode.MODEL_NOT_FOUND


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
        ({"top_logprobs": -1, "logprobs": True}, "top_logprobs"),
        ({"logit_bias": {"50256": 100.5}}, "logit_bias.50256"),
        ({"logit_bias": {"50256": -101}}, "logit_bias.50256"),
        ({"top_a": 1.01}, "top_a"),
        ({"top_a": -0.1}, "top_a"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"max_completion_tokens": 2_000_001}, "max_completion_tokens"),
        ({"session_id": "s" * 257}, "session_id"),
        ({"cache": {"ttl_s": 0}}, "cache.ttl_s"),
        ({"cache": {"ttl_s": 86_401}}, "cache.ttl_s"),
        ({"verbosity": "loud"}, "verbosity"),
        ({"modalities": ["video"]}, "modalities"),
        ({"transforms": ["squash"]}, "transforms"),
        ({"prediction": {"type": "guess", "content": "x"}}, "prediction"),
        ({"audio": {"voice": "alloy", "format": "aiff"}, "modalities": ["text", "audio"]}, "audio.format"),
        ({"top_logprobs": 2, "logprobs": False}, "top_logprobs"),
        ({"parallel_tool_calls": True}, "parallel_tool_calls"),
        ({"audio": {"voice": "alloy"}}, "audio"),
        ({"max_completion_tokens": 100, "max_tokens": 100}, "max_completion_tokens"),
    ],
)
async def test_a_value_out_of_range_is_refused_before_anything_is_sent(stdio_client: Client, sim_log: SimLog, args: dict[str, Any], field: str) -> None:
    mark = sim_log.mark()
    error = error_of(await chat(stdio_client, "Hello", model="openai/gpt-4o-mini", **args))
    assert error["code"] == "INVALID_INPUT" and field in error["message"], error["message"]
    assert sim_log.chats(mark) == []


async def test_a_cached_response_is_served_again_unbilled(stdio_client: Client, sim_log: SimLog) -> None:
    args: dict[str, Any] = {"model": "openai/gpt-4o-mini", "cache": {"ttl_s": 120}}
    mark = sim_log.mark()
    first = ok_data(await chat(stdio_client, "Name three rivers of Europe, cached.", **args))
    again = ok_data(await chat(stdio_client, "Name three rivers of Europe, cached.", **args))
    assert first["cached"] is False and first["cost_usd"] > 0
    assert again["cached"] is True and again["cost_usd"] == 0 and again["text"] == first["text"]
    assert [e["headers"] for e in sim_log.chats(mark)] == [{"x-openrouter-cache": "true", "x-openrouter-cache-ttl": "120"}] * 2
    mark = sim_log.mark()
    fresh = ok_data(await chat(stdio_client, "Name three rivers of Europe, cached.", model="openai/gpt-4o-mini", cache={"ttl_s": 120, "clear": True}))
    assert fresh["cached"] is False and fresh["cost_usd"] > 0
    assert last_chat(sim_log, mark)["headers"]["x-openrouter-cache-clear"] == "true"


# ---------- the gateway: streamed and whole answers carry the same fields ----------


@asynccontextmanager
async def whole_answers(simulator: RunningSimulator) -> AsyncIterator[str]:
    """A loopback HTTP proxy to the simulator that drops `stream` from each request, so the answer comes
    as one JSON body (what a request without `stream` gets) instead of an event stream."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        path = lines[0].split(" ")[1]
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(next(v for k, v in headers.items() if k.lower() == "content-length"))
        body = json.loads(await reader.readexactly(length))
        body.pop("stream", None)
        async with httpx2.AsyncClient() as client:
            resp = await client.post(simulator.url + path, json=body, headers={"Authorization": f"Bearer {SIMULATOR_KEY}"})
        writer.write(
            f"HTTP/1.1 {resp.status_code} OK\r\nContent-Type: {resp.headers['content-type']}\r\nContent-Length: {len(resp.content)}\r\n\r\n".encode()
            + resp.content
        )
        await writer.drain()
        writer.close()

    async with loopback_api(handle) as url:
        yield url


async def answer(base_url: str, body: dict[str, Any], tmp_path: Path) -> ChatResult:
    gateway = Gateway(load_settings({"OPENROUTER_MCP_HOME": str(tmp_path), "OPENROUTER_API_KEY": SIMULATOR_KEY, "OPENROUTER_BASE_URL": base_url}))
    try:
        return await gateway.chat(body)
    finally:
        await gateway.aclose()


async def test_streamed_and_whole_answers_carry_the_same_fields(simulator: RunningSimulator, tmp_path: Path) -> None:
    body = {
        "model": "deepseek/deepseek-r1",
        "messages": [{"role": "user", "content": "How do tides work?"}],
        "reasoning": {"effort": "low"},
        "logprobs": True,
        "top_logprobs": 2,
        "provider": {"order": ["DeepSeek"]},
    }
    streamed = await answer(simulator.api_url, body, tmp_path)
    async with whole_answers(simulator) as url:
        whole = await answer(url, body, tmp_path)
    assert whole.content == streamed.content and streamed.content
    assert whole.reasoning == streamed.reasoning and streamed.reasoning
    assert whole.reasoning_details == streamed.reasoning_details and streamed.reasoning_details[0]["signature"]
    assert whole.logprobs == streamed.logprobs and len(streamed.logprobs) == len(streamed.content.split())
    assert whole.completion_tokens == streamed.completion_tokens
