"""Every injected fault ends as the gateway promises: retried and successful where that is safe, a clear
error with the right code otherwise, and the server keeps serving."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from openrouter_mcp.config import load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.upstream import Gateway

from .conftest import SimLog, error_of

USER = [{"role": "user", "content": "hello"}]


async def call(client: Client, model: str) -> Any:
    return await client.call_tool("chat_completion", {"model": model, "messages": [{"role": "user", "content": f"hello {model}"}]})


@pytest.mark.parametrize("model", ["sim/rate-limit-once", "sim/server-error-once"])
async def test_refused_once_then_retried_and_successful(mcp_client: Client, sim_log: SimLog, model: str) -> None:
    mark = sim_log.mark()
    result = await mcp_client.call_tool("chat_completion", {"model": model, "messages": [{"role": "user", "content": f"retry me {id(mcp_client)} {mark}"}]})
    assert not result.is_error, result.content[0].text
    assert len(sim_log.chats(mark)) == 2


async def test_rate_limit_that_persists_reports_retry_after(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    error = error_of(await call(mcp_client, "sim/rate-limit"))
    assert error["code"] == "RATE_LIMITED" and error["retryable"] is True
    assert error["retry_after_s"] == 2
    # Retry-After (2 s) was honoured once; a second wait would pass the 3 s cap the test server runs with.
    assert len(sim_log.chats(mark)) == 2


@pytest.mark.parametrize(
    ("model", "code", "sends"),
    [
        ("sim/unavailable", "UPSTREAM_UNAVAILABLE", None),
        ("sim/internal-error", "UPSTREAM_ERROR", 1),
        ("sim/timeout", "UPSTREAM_TIMEOUT", None),
        ("sim/no-credits", "NO_CREDITS", 1),
        ("sim/moderation", "MODERATION", 1),
        ("sim/bad-json", "UPSTREAM_ERROR", 1),
        ("sim/error-in-200", "UPSTREAM_UNAVAILABLE", 1),
        ("sim/mid-stream-error", "UPSTREAM_UNAVAILABLE", 1),
        ("no-such/model-xyz", "MODEL_NOT_FOUND", 0),
    ],
)
async def test_fault_ends_with_the_right_code_and_the_server_keeps_serving(mcp_client: Client, sim_log: SimLog, model: str, code: str, sends: int | None) -> None:
    mark = sim_log.mark()
    error = error_of(await call(mcp_client, model))
    assert error["code"] == code, error
    assert error["message"]
    if sends is not None:
        # Not safe to repeat: sent exactly once.
        assert len(sim_log.chats(mark)) == sends
    else:
        assert 1 < len(sim_log.chats(mark)) <= 4
    after = await call(mcp_client, "openai/gpt-4o-mini")
    assert not after.is_error


async def test_a_mistyped_model_costs_nothing_and_gets_suggestions(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    error = error_of(await call(mcp_client, "openai/gpt-4o-mnii"))
    assert error["code"] == "MODEL_NOT_FOUND"
    assert error["suggestions"][0] == "openai/gpt-4o-mini"
    assert "Did you mean openai/gpt-4o-mini?" in error["message"]
    assert sim_log.chats(mark) == []  # no chat request upstream


async def test_moderation_error_carries_the_reasons(mcp_client: Client) -> None:
    error = error_of(await call(mcp_client, "sim/moderation"))
    assert error["details"]["reasons"] == ["harassment"]
    assert "harassment" in error["message"]


async def chat_failure(**env: str) -> ToolFailure:
    """The failure the gateway raises for one chat request under these settings."""
    gateway = Gateway(load_settings({"OPENROUTER_MCP_HOME": "/tmp/openrouter-mcp-test", **env}))
    try:
        with pytest.raises(ToolFailure) as info:
            await gateway.chat({"model": "openai/gpt-4o-mini", "messages": USER})
    finally:
        await gateway.aclose()
    return info.value


async def test_a_bad_key_is_an_auth_error_without_the_key(simulator: RunningSimulator) -> None:
    secret = "sk-or-invalid-abcdef123456"
    failure = await chat_failure(OPENROUTER_API_KEY=secret, OPENROUTER_BASE_URL=simulator.api_url)
    assert failure.code is ErrorCode.AUTH
    assert secret not in failure.message and "OPENROUTER_API_KEY" in failure.message


async def test_unreachable_base_url_is_unavailable_after_retries() -> None:
    failure = await chat_failure(OPENROUTER_API_KEY="sk-or-x-1234567890", OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1", OPENROUTER_MCP_RETRY_MAX_WAIT_S="1")
    assert failure.code is ErrorCode.UPSTREAM_UNAVAILABLE
