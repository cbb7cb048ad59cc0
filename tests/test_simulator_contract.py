"""The simulator speaks OpenRouter's wire format: every response parses with the official SDK's types."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from openrouter import components, operations

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.simulator.server import RunningSimulator


def fetch(sim: RunningSimulator, path: str, body: dict[str, Any] | None = None, key: str | None = SIMULATOR_KEY) -> tuple[int, bytes]:
    req = urllib.request.Request(sim.api_url + path, data=json.dumps(body).encode() if body is not None else None)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_models_parse(simulator: RunningSimulator) -> None:
    status, raw = fetch(simulator, "/models?output_modalities=all", key=None)
    assert status == 200
    parsed = components.ModelsListResponse.model_validate(json.loads(raw))
    assert len(parsed.data) >= 250
    _, text_only = fetch(simulator, "/models", key=None)
    assert all("text" in m["architecture"]["output_modalities"] for m in json.loads(text_only)["data"])


def test_endpoints_parse(simulator: RunningSimulator) -> None:
    status, raw = fetch(simulator, "/models/openai/gpt-4o-mini/endpoints", key=None)
    assert status == 200
    operations.ListEndpointsResponse.model_validate(json.loads(raw))


@pytest.mark.parametrize("extra", [{}, {"reasoning": {"effort": "low"}}, {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}]}, {"tools": [{"type": "openrouter:web_search"}]}])
def test_chat_non_streaming_parses(simulator: RunningSimulator, extra: dict[str, Any]) -> None:
    model = "deepseek/deepseek-r1" if "reasoning" in extra else "openai/gpt-4o"
    status, raw = fetch(simulator, "/chat/completions", {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})
    assert status == 200
    result = components.ChatResult.model_validate(json.loads(raw))
    assert result.usage is not None and result.usage.cost is not None


def test_chat_stream_chunks_parse(simulator: RunningSimulator) -> None:
    status, raw = fetch(simulator, "/chat/completions", {"model": "deepseek/deepseek-r1", "stream": True, "reasoning": {"effort": "low"}, "messages": [{"role": "user", "content": "hi"}]})
    assert status == 200
    text = raw.decode()
    assert text.startswith(": OPENROUTER PROCESSING")
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [components.ChatStreamChunk.model_validate(json.loads(e)) for e in events[:-1]]
    assert chunks[-1].usage is not None and chunks[-1].usage.cost is not None and chunks[-1].usage.cost > 0


def test_mid_stream_error_chunk_parses(simulator: RunningSimulator) -> None:
    _, raw = fetch(simulator, "/chat/completions", {"model": "sim/mid-stream-error", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    events = [json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: {")]
    errors = [components.ChatStreamChunk.model_validate(e) for e in events if "error" in e]
    assert errors and errors[0].error is not None and errors[0].error.code == 502


def test_generation_key_and_credits_parse(simulator: RunningSimulator) -> None:
    _, raw = fetch(simulator, "/chat/completions", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    gen_id = json.loads(raw)["id"]
    status, raw = fetch(simulator, f"/generation?id={gen_id}")
    assert status == 200
    gen = components.GenerationResponse.model_validate(json.loads(raw))
    assert gen.data.id == gen_id and gen.data.total_cost > 0
    status, raw = fetch(simulator, "/key")
    assert status == 200
    operations.GetCurrentKeyResponse.model_validate(json.loads(raw))
    status, _ = fetch(simulator, "/credits")
    assert status == 403  # an ordinary key may not read credits
    status, raw = fetch(simulator, "/credits", key="sk-or-mgmt-0000000000")
    assert status == 200
    operations.GetCreditsResponse.model_validate(json.loads(raw))


def test_errors_have_openrouter_shape(simulator: RunningSimulator) -> None:
    status, raw = fetch(simulator, "/chat/completions", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}, key=None)
    assert status == 401
    assert set(json.loads(raw)["error"]) >= {"code", "message"}
