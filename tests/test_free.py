"""The free toolset end to end: list_free_models against the simulator's own catalog, free_chat falling
back past a rate-limited free model (`sim/free-rate-limited:free` always answers 429) and remembering its
cool-down, and the account's free quota refused before it is exceeded, across restarts. Each test runs
its own server with its own home (and, where quotas are counted, its own key)."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, SimLog, error_of, server_env

BUSY = "sim/free-rate-limited:free"
Server = Callable[..., Any]


@pytest.fixture
def server(simulator: RunningSimulator, tmp_path: Path) -> Server:
    """Start our server over stdio with this test's home; `key=` picks the account."""

    @asynccontextmanager
    async def start(key: str = SIMULATOR_KEY) -> AsyncIterator[Client]:
        # A generous retry budget: free_chat must still not wait out a 429 (it moves on instead).
        env = server_env(simulator, tmp_path, OPENROUTER_API_KEY=key, OPENROUTER_MCP_TOOLSETS="free,models,usage", OPENROUTER_MCP_RETRY_MAX_WAIT_S="30")
        async with ClientHolder(StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)) as client:
            yield client

    return start


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    assert result.structured_content is not None
    return result.structured_content


def metrics_of(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["model"]: m for m in out["models"]}


async def test_list_free_models_is_every_free_model_and_never_a_router(server: Server, simulator: RunningSimulator) -> None:
    with urllib.request.urlopen(simulator.api_url + "/models?output_modalities=all") as resp:
        wire = json.load(resp)["data"]

    def free(m: dict[str, Any]) -> bool:
        p = m["pricing"]
        zero = all(p.get(k, "0") == "0" for k in ("prompt", "completion", "request", "image"))
        return "text" in m["architecture"]["output_modalities"] and (m["id"].endswith(":free") or zero)

    async with server() as client:
        out = await call(client, "list_free_models")
    ids = [m["id"] for m in out["models"]]
    assert set(ids) == {m["id"] for m in wire if free(m)} and out["total"] == len(ids)
    assert "openrouter/free" not in ids and "openrouter/auto" not in ids
    assert all(m["free"] and m["prompt_usd_per_m"] == 0 for m in out["models"])
    dates = [m["released"] for m in out["models"]]
    assert dates == sorted(dates, reverse=True)


async def test_free_chat_moves_past_a_rate_limited_model_and_rests_it(server: Server, sim_log: SimLog) -> None:
    async with server() as client:
        mark = sim_log.mark()
        first = await call(client, "free_chat", message="Name three rivers.", model=BUSY)
        answered = first["model"]
        assert answered != BUSY and answered.endswith(":free") and first["text"] and first["cost_usd"] == 0
        assert first["tried"] == [BUSY, answered] and first["content_is_untrusted"]
        (sent,) = sim_log.chats(mark)  # one request: OpenRouter's fallback list did the moving on
        assert sent["body"]["model"] == BUSY and sent["body"]["models"][0] == BUSY and answered in sent["body"]["models"]

        metrics = metrics_of(await call(client, "get_free_model_metrics"))
        assert metrics[BUSY]["failures"] == 1 and metrics[BUSY]["cooling_down_until"] is not None
        assert metrics[answered]["successes"] == 1 and metrics[answered]["median_latency_ms"] > 0
        assert metrics[answered]["median_tokens_per_s"] > 0

        mark = sim_log.mark()
        second = await call(client, "free_chat", message="Name three lakes.", model=BUSY)
        assert second["skipped"][0]["model"] == BUSY and "cooling down" in second["skipped"][0]["reason"]
        (sent,) = sim_log.chats(mark)
        assert BUSY not in [sent["body"]["model"], *sent["body"].get("models", [])]

        # Both calls went through the ledger like any chat call.
        for _ in range(50):
            usage = await call(client, "get_usage_stats")
            rows = {r["tool"]: r for r in usage["by_tool"]}
            if rows.get("free_chat", {}).get("requests") == 2:
                break
            await asyncio.sleep(0.1)
        assert rows["free_chat"]["requests"] == 2


async def test_when_every_model_tried_is_rate_limited_free_chat_says_when_to_retry(server: Server, sim_log: SimLog) -> None:
    async with server() as client:
        mark = sim_log.mark()
        error = error_of(await client.call_tool("free_chat", {"message": "hi", "model": BUSY, "fallback": False}))
        assert error["code"] == "RATE_LIMITED" and error["retryable"] and error["retry_after_s"] == 5
        (sent,) = sim_log.chats(mark)  # not re-sent after the Retry-After
        assert sent["body"]["model"] == BUSY and "models" not in sent["body"]

        # The cool-down is remembered: the next call is refused without a request.
        mark = sim_log.mark()
        error = error_of(await client.call_tool("free_chat", {"message": "hi", "model": BUSY, "fallback": False}))
        assert error["code"] == "RATE_LIMITED" and "cooling down" in error["message"] and 0 < error["retry_after_s"] <= 5
        assert sim_log.chats(mark) == []
        metrics = metrics_of(await call(client, "get_free_model_metrics"))
        assert metrics[BUSY]["rate_limited"] == 1 and metrics[BUSY]["cooldowns"] == 1


async def test_the_per_minute_quota_is_refused_before_it_is_exceeded_even_after_a_restart(server: Server, sim_log: SimLog) -> None:
    key = f"sk-or-sim-quota-{uuid.uuid4().hex[:12]}"
    async with server(key) as client:
        for i in range(20):
            await call(client, "free_chat", message=f"Question {i}: what is {i} + {i}?", max_tokens=32)
        mark = sim_log.mark()
        error = error_of(await client.call_tool("free_chat", {"message": "one more"}))
        assert error["code"] == "RATE_LIMITED" and error["details"]["quota"] == "minute"
        assert 0 < error["retry_after_s"] <= 60 and error["details"]["resets_at"].endswith("Z")
        assert sim_log.chats(mark) == []
    async with server(key) as client:
        mark = sim_log.mark()
        error = error_of(await client.call_tool("free_chat", {"message": "after a restart"}))
        assert error["code"] == "RATE_LIMITED" and error["details"]["quota"] == "minute"
        assert sim_log.chats(mark) == []
        out = await call(client, "get_free_model_metrics")
        quota = out["quota"]
        assert quota["used_last_minute"] == 20 and quota["per_minute_limit"] == 20
        assert quota["used_today"] == 20 and quota["daily_limit"] == 1000 and quota["daily_limit_source"] == "GET /key"
        assert sum(m["successes"] for m in out["models"]) == 20


async def test_the_daily_quota_comes_from_the_key_and_is_enforced(server: Server, simulator: RunningSimulator, sim_log: SimLog) -> None:
    key = f"sk-or-sim-free-tier-{uuid.uuid4().hex[:12]}"  # an account that never bought credits: 50 a day
    for _ in range(50):  # spent elsewhere, e.g. by another client of the same account
        req = urllib.request.Request(
            simulator.api_url + "/chat/completions", data=json.dumps({"model": BUSY, "messages": [{"role": "user", "content": "x"}]}).encode()
        )
        req.add_header("Authorization", f"Bearer {key}")
        req.add_header("Content-Type", "application/json")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(req)
    async with server(key) as client:
        quota = (await call(client, "get_free_model_metrics"))["quota"]
        assert quota["daily_limit"] == 50 and quota["used_today"] == 50 and quota["remaining_today"] == 0
        mark = sim_log.mark()
        error = error_of(await client.call_tool("free_chat", {"message": "hi"}))
        assert error["code"] == "RATE_LIMITED" and error["details"]["quota"] == "day"
        assert error["details"]["resets_at"].endswith("T00:00:00Z") and "10 credits" in error["message"]
        assert sim_log.chats(mark) == []


async def test_free_chat_picks_a_model_whose_context_fits(server: Server) -> None:
    async with server() as client:
        out = await call(client, "free_chat", message="Summarise: " + "lorem ipsum " * 50, max_tokens=200_000)
        free = {m["id"]: m for m in (await call(client, "list_free_models"))["models"]}
        assert free[out["model"]]["context_length"] >= 200_000
        error = error_of(await client.call_tool("free_chat", {"message": "hi", "model": "google/gemma-3-4b-it:free", "max_tokens": 200_000}))
        assert error["code"] == "INVALID_INPUT" and "context" in error["message"]


async def test_free_chat_refuses_a_paid_model_unless_it_has_a_free_variant(server: Server, sim_log: SimLog) -> None:
    async with server() as client:
        mark = sim_log.mark()
        error = error_of(await client.call_tool("free_chat", {"message": "hi", "model": "openai/gpt-4o"}))
        assert error["code"] == "INVALID_INPUT" and "not free" in error["message"]
        assert error["suggestions"] and all(s.endswith(":free") for s in error["suggestions"])
        # A paid model with a free variant means that variant.
        out = await call(client, "free_chat", message="hi", model="meta-llama/llama-3.3-70b-instruct", fallback=False)
        assert out["model"] == "meta-llama/llama-3.3-70b-instruct:free" and out["cost_usd"] == 0
        error = error_of(await client.call_tool("free_chat", {"message": "hi", "model": "openai/gpt-4o-mnii"}))
        assert error["code"] == "MODEL_NOT_FOUND" and error["suggestions"][0] == "openai/gpt-4o-mini"
        assert len(sim_log.chats(mark)) == 1  # only the free variant's
