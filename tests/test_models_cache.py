"""The catalog cache seen from outside: one upstream `/models` request for many concurrent searches on a
cold cache, no request at all on a cold start with a fresh disk copy, and a stale copy (said to be stale)
when OpenRouter cannot be reached. Each test runs its own simulator and server, so the request log and
the cache are its own."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.simulator.server import RunningSimulator, start_in_thread

from .conftest import ClientHolder, server_env


@pytest.fixture
def own_simulator() -> Iterator[RunningSimulator]:
    sim = start_in_thread()
    yield sim
    sim.stop()


def models_requests(sim: RunningSimulator) -> list[dict[str, Any]]:
    with urllib.request.urlopen(sim.url + "/_sim/requests") as resp:
        return [e for e in json.load(resp)["data"] if e["path"] == "/api/v1/models"]


def stdio(sim: RunningSimulator, home: Path, **env: str) -> ClientHolder:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=server_env(sim, home, OPENROUTER_MCP_TOOLSETS="models", **env)
    )
    return ClientHolder(params)


async def search(client: Client, query: str) -> dict[str, Any]:
    result = await client.call_tool("search_models", {"query": query, "limit": 3})
    assert not result.is_error, result.content[0].text
    assert result.structured_content is not None
    return result.structured_content


async def test_concurrent_searches_on_a_cold_cache_share_one_upstream_request(own_simulator: RunningSimulator, tmp_path: Path) -> None:
    async with stdio(own_simulator, tmp_path) as client:
        queries = ["claude", "gpt-4o", "gemini flash", "llama 70b", "qwen", "mistral", "deepseek r1", "kimi", "grok", "free", "vision", "coding"]
        results = await asyncio.gather(*(search(client, q) for q in queries))
        assert all(r["total"] > 0 and not r["stale"] for r in results)
        assert len(models_requests(own_simulator)) == 1
        assert (tmp_path / "cache" / "models.json").exists()
        # Later searches answer from memory.
        await search(client, "sonnet")
        assert len(models_requests(own_simulator)) == 1


async def test_a_cold_start_with_a_fresh_disk_copy_asks_nothing_upstream(own_simulator: RunningSimulator, tmp_path: Path) -> None:
    async with stdio(own_simulator, tmp_path) as client:
        await search(client, "claude")
    assert len(models_requests(own_simulator)) == 1
    async with stdio(own_simulator, tmp_path) as client:
        out = await search(client, "claude")
        assert out["models"][0]["id"].startswith("anthropic/") and not out["stale"]
    assert len(models_requests(own_simulator)) == 1


async def test_an_expired_copy_is_served_as_stale_when_openrouter_is_down(own_simulator: RunningSimulator, tmp_path: Path) -> None:
    async with stdio(own_simulator, tmp_path, OPENROUTER_MCP_CATALOG_TTL_S="0.05", OPENROUTER_MCP_RETRY_MAX_WAIT_S="0.2") as client:
        fresh = await search(client, "claude sonnet")
        assert not fresh["stale"]
        own_simulator.stop()
        await asyncio.sleep(0.1)  # past the TTL
        stale = await search(client, "claude sonnet")
        assert stale["stale"] and "refresh failed" in stale["stale_reason"] and "reach OpenRouter" in stale["stale_reason"]
        assert [m["id"] for m in stale["models"]] == [m["id"] for m in fresh["models"]]
        # While OpenRouter stays down the old copy answers at once, still marked stale.
        again = await search(client, "gemini")
        assert again["stale"] and again["total"] > 0
        info = await client.call_tool("validate_model", {"model": "openai/gpt-4o-mini"})
        assert info.structured_content is not None and info.structured_content["usable"] and info.structured_content["stale"]


async def test_a_restart_with_openrouter_down_serves_the_disk_copy_as_stale(own_simulator: RunningSimulator, tmp_path: Path) -> None:
    async with stdio(own_simulator, tmp_path) as client:
        await search(client, "claude")
    own_simulator.stop()
    async with stdio(own_simulator, tmp_path, OPENROUTER_MCP_CATALOG_TTL_S="0.05", OPENROUTER_MCP_RETRY_MAX_WAIT_S="0.2") as client:
        out = await search(client, "claude")
        assert out["stale"] and out["total"] > 0 and out["catalog_age_s"] > 0


async def test_with_no_copy_at_all_a_dead_upstream_is_an_error(own_simulator: RunningSimulator, tmp_path: Path) -> None:
    own_simulator.stop()
    async with stdio(own_simulator, tmp_path, OPENROUTER_MCP_RETRY_MAX_WAIT_S="0.2") as client:
        result = await client.call_tool("search_models", {"query": "claude"})
        assert result.is_error and result.structured_content is not None
        assert result.structured_content["error"]["code"] == "UPSTREAM_UNAVAILABLE"
