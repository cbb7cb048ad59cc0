"""Resources through the official MCP client against our server as a subprocess (the simulator upstream):
the model catalog and one model, the caller's usage, with the 2026-07-28 caching hints (what is the
same for everyone public, what is one caller's private), and the caller's saved files listed for their
owner only, over stdio and on the team server (two users, two replicas, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, server_env
from .test_team_isolation import backend as backend
from .test_team_isolation import team_server

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def own_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("resources-home")


@pytest.fixture(scope="module")
async def client(simulator: RunningSimulator, own_home: Path) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=server_env(simulator, own_home))
    async with ClientHolder(params) as held:
        assert held.protocol_version == "2026-07-28"
        yield held


async def test_the_catalog_is_public_and_fresh_for_the_catalog_ttl(client: Client) -> None:
    read = await client.read_resource("openrouter://models")
    assert (read.ttl_ms, read.cache_scope) == (HOUR_MS, "public")
    data = json.loads(read.contents[0].text)
    ids = {m["id"] for m in data["models"]}
    assert {"openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5"} <= ids and data["count"] == len(data["models"])
    assert read.contents[0].mime_type == "application/json"


async def test_one_model_reads_in_full_and_a_typo_names_the_closest_ids(client: Client) -> None:
    read = await client.read_resource("openrouter://models/openai/gpt-4o-mini")
    assert (read.ttl_ms, read.cache_scope) == (HOUR_MS, "public")
    model = json.loads(read.contents[0].text)
    assert model["id"] == "openai/gpt-4o-mini" and model["pricing"]["prompt_usd_per_m"] == 0.15 and "supported_parameters" in model
    with pytest.raises(MCPError) as caught:
        await client.read_resource("openrouter://models/openai/gpt-4o-mni")
    assert "openai/gpt-4o-mini" in caught.value.error.message


async def test_usage_is_the_callers_own_and_never_cached_for_others(client: Client) -> None:
    before = json.loads((await client.read_resource("openrouter://usage")).contents[0].text)
    done = await client.call_tool("chat_completion", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20})
    assert not done.is_error
    read = await client.read_resource("openrouter://usage")
    assert (read.ttl_ms, read.cache_scope) == (0, "private")
    after = json.loads(read.contents[0].text)
    assert after["user"] == "local"
    assert after["summary"]["total_requests"] == before["summary"]["total_requests"] + 1


async def test_lists_carry_hints_the_callers_files_private_the_rest_public(client: Client) -> None:
    resources = await client.list_resources()
    assert (resources.ttl_ms, resources.cache_scope) == (0, "private")
    assert {"openrouter://models", "openrouter://usage"} <= {r.uri for r in resources.resources}
    templates = await client.list_resource_templates()
    assert (templates.ttl_ms, templates.cache_scope) == (HOUR_MS, "public")
    assert "openrouter://models/{+model_id}" in {t.uri_template for t in templates.resource_templates}
    prompts = await client.list_prompts()
    assert (prompts.ttl_ms, prompts.cache_scope) == (HOUR_MS, "public")


async def test_saved_media_and_reports_are_listed_but_not_the_team_users_folders(client: Client, own_home: Path) -> None:
    made = await client.call_tool("generate_image", {"prompt": "a lighthouse at dusk", "save_path": "listing/lighthouse.png"})
    assert not made.is_error, made.content[0].text
    uri = made.structured_content["images"][0]["uri"]
    # A team user's file, in the local output folder's users/ part: never the local user's to list.
    theirs = own_home / "output" / "users" / "bob" / "secret.png"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"\x89PNG\r\n\x1a\n")
    listed = {r.uri: r for r in (await client.list_resources()).resources}
    assert uri == "media://output/listing/lighthouse.png" and uri in listed
    assert listed[uri].mime_type == "image/png" and listed[uri].size and listed[uri].size > 0
    assert not any("secret" in u for u in listed)
    # What is listed reads.
    assert (await client.read_resource(uri)).contents[0].blob


async def test_handshake_era_clients_read_the_same_resources(simulator: RunningSimulator, own_home: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=server_env(simulator, own_home))
    async with Client(params, mode="legacy", read_timeout_seconds=60) as legacy:
        data = json.loads((await legacy.read_resource("openrouter://models/anthropic/claude-sonnet-4.5")).contents[0].text)
        assert data["id"] == "anthropic/claude-sonnet-4.5"
        assert "media://output/listing/lighthouse.png" in {r.uri for r in (await legacy.list_resources()).resources}


async def test_on_the_team_server_each_user_lists_only_their_own_files_and_usage(simulator: RunningSimulator, tmp_path: Path, backend: str) -> None:
    async with team_server(simulator, tmp_path, backend) as team:
        async with team.client("ann", 0) as ann:
            made = await ann.call_tool("generate_image", {"prompt": "ann's private picture", "save_path": "ann/picture.png"})
            assert not made.is_error, made.content[0].text
            uri = made.structured_content["images"][0]["uri"]
            assert uri in {r.uri for r in (await ann.list_resources()).resources}
            usage = json.loads((await ann.read_resource("openrouter://usage")).contents[0].text)
            assert usage["user"] == "ann" and usage["summary"]["total_requests"] >= 1
        # The other replica lists ann's file for ann (on PostgreSQL from the database, as it has its own folder).
        async with team.client("ann", 1) as ann_there:
            assert uri in {r.uri for r in (await ann_there.list_resources()).resources}
        for replica in (0, 1):
            async with team.client("bob", replica) as bob:
                listed = {r.uri for r in (await bob.list_resources()).resources}
                assert uri not in listed and not any("ann" in u for u in listed)
                usage = json.loads((await bob.read_resource("openrouter://usage")).contents[0].text)
                assert usage["user"] == "bob" and usage["summary"]["total_requests"] == 0
