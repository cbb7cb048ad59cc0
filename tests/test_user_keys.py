"""Per-user OpenRouter keys, against the simulator over HTTP: `users add --openrouter-limit-usd` makes a key with
that limit through the key-management API and stores it encrypted; `users remove` deletes it upstream; a call
made for that user goes out with their key (streamed chat and JSON requests alike), counts against its limit
and is refused once the limit is spent; the simulator's key-management API speaks the SDK's wire format."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openrouter import operations

from openrouter_mcp.config import SIMULATOR_KEY, Secret, Settings, TeamSettings, load_settings
from openrouter_mcp.core.identity import CURRENT_USER, User
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.services.team.keys import SecretKeyError, decrypt, encrypt, user_from_row
from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.storage import open_storage
from openrouter_mcp.storage.users import UserRow
from openrouter_mcp.upstream.embeddings import create_embeddings
from openrouter_mcp.upstream.gateway import Gateway
from openrouter_mcp.upstream.keys import KeyManagement

from .conftest import loopback_api, server_env

PROVISIONING_KEY = "sk-or-sim-prov-test-0001"
SECRET_KEY = "correct horse battery staple"
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def env(simulator: RunningSimulator, tmp_path: Path) -> dict[str, str]:
    return server_env(simulator, tmp_path, OPENROUTER_PROVISIONING_KEY=PROVISIONING_KEY, OPENROUTER_MCP_SECRET_KEY=SECRET_KEY)


def users(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "openrouter_mcp", "users", *args], env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr
    return done


async def stored(settings: Settings, name: str) -> UserRow:
    storage = await open_storage(settings.database_url)
    try:
        row = await storage.get_user(name)
    finally:
        await storage.close()
    assert row is not None
    return row


@asynccontextmanager
async def key_management(settings: Settings) -> AsyncIterator[KeyManagement]:
    async with KeyManagement(settings) as keys:
        yield keys


@contextmanager
def acting_as(user: User) -> Iterator[None]:
    token = CURRENT_USER.set(user)
    try:
        yield
    finally:
        CURRENT_USER.reset(token)


def management(simulator: RunningSimulator, method: str, path: str, key: str = PROVISIONING_KEY, **kwargs: Any) -> httpx2.Response:
    return httpx2.request(method, simulator.api_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10, **kwargs)


async def test_a_user_added_with_a_limit_gets_their_own_key_stored_encrypted(env: dict[str, str], tmp_path: Path) -> None:
    done = users(env, "add", "kim", "--openrouter-limit-usd", "0.5")
    assert done.returncode == 0, done.stderr
    assert "own OpenRouter key with a $0.5 limit" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("orm_")
    settings = load_settings(env)
    row = await stored(settings, "kim")
    assert row.openrouter_limit_usd == Decimal("0.5") and row.openrouter_key_hash and row.openrouter_key_encrypted

    async with key_management(settings) as keys:
        upstream = await keys.get(row.openrouter_key_hash)
    assert upstream is not None and upstream.limit_usd == Decimal("0.5") and upstream.usage_usd == 0

    key = decrypt(Secret(SECRET_KEY), row.openrouter_key_encrypted)
    assert key.startswith("sk-or-v1-")
    assert key not in done.stdout + done.stderr
    db_files = list((tmp_path).glob("openrouter-mcp.db*"))
    assert db_files and not [f for f in db_files if key.encode() in f.read_bytes()]
    user = user_from_row(row, settings.team)
    assert user.name == "kim" and not user.admin and user.openrouter_key is not None and user.openrouter_key.get() == key
    assert key not in repr(user)

    listed = json.loads(users(env, "list", "--json").stdout)
    assert listed[0]["openrouter_key"] is True and listed[0]["openrouter_limit_usd"] == 0.5

    raised = users(env, "set", "kim", "--openrouter-limit-usd", "2")
    assert raised.returncode == 0, raised.stderr
    async with key_management(settings) as keys:
        upstream = await keys.get(row.openrouter_key_hash)
    assert upstream is not None and upstream.limit_usd == Decimal(2)
    assert (await stored(settings, "kim")).openrouter_limit_usd == Decimal(2)


async def test_set_gives_a_key_to_a_user_without_one_and_replaces_one_deleted_upstream(env: dict[str, str]) -> None:
    assert users(env, "add", "rae").returncode == 0
    assert users(env, "set", "rae", "--openrouter-limit-usd", "3").returncode == 0
    settings = load_settings(env)
    first = await stored(settings, "rae")
    assert first.openrouter_key_hash is not None and first.openrouter_limit_usd == Decimal(3)
    async with key_management(settings) as keys:
        assert await keys.delete(first.openrouter_key_hash)  # deleted at OpenRouter, behind this server's back
    done = users(env, "set", "rae", "--openrouter-limit-usd", "4")
    assert done.returncode == 0, done.stderr
    second = await stored(settings, "rae")
    assert second.openrouter_key_hash not in (None, first.openrouter_key_hash) and second.openrouter_limit_usd == Decimal(4)
    assert second.openrouter_key_hash is not None
    async with key_management(settings) as keys:
        upstream = await keys.get(second.openrouter_key_hash)
    assert upstream is not None and upstream.limit_usd == Decimal(4)


def test_a_limit_without_a_provisioning_key_is_refused_and_adds_no_one(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path)
    done = users(env, "add", "lee", "--openrouter-limit-usd", "1")
    assert done.returncode == 2
    assert "--openrouter-limit-usd needs OPENROUTER_PROVISIONING_KEY" in done.stderr
    assert json.loads(users(env, "list", "--json").stdout) == []


def test_a_key_that_may_not_manage_keys_is_refused_and_adds_no_one(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path, OPENROUTER_PROVISIONING_KEY="sk-or-v1-an-ordinary-key-0002", OPENROUTER_MCP_SECRET_KEY=SECRET_KEY)
    done = users(env, "add", "lee", "--openrouter-limit-usd", "1")
    assert done.returncode == 1
    assert "OpenRouter refused OPENROUTER_PROVISIONING_KEY" in done.stderr and "management key" in done.stderr and "lee was not added" in done.stderr
    assert "an-ordinary-key" not in done.stderr
    assert json.loads(users(env, "list", "--json").stdout) == []


async def test_the_wrong_secret_key_is_a_clear_error(env: dict[str, str]) -> None:
    assert users(env, "add", "max", "--openrouter-limit-usd", "1").returncode == 0
    row = await stored(load_settings(env), "max")
    with pytest.raises(SecretKeyError, match="user 'max': a stored OpenRouter key cannot be decrypted with OPENROUTER_MCP_SECRET_KEY"):
        user_from_row(row, TeamSettings(secret_key=Secret("not the secret key")))
    with pytest.raises(SecretKeyError, match="OPENROUTER_MCP_SECRET_KEY is not set"):
        user_from_row(row, TeamSettings())
    assert decrypt(Secret("k"), encrypt(Secret("k"), "text")) == "text"


async def test_remove_deletes_the_key_upstream_and_it_stops_working(env: dict[str, str]) -> None:
    assert users(env, "add", "ned", "--openrouter-limit-usd", "1").returncode == 0
    settings = load_settings(env)
    row = await stored(settings, "ned")
    user = user_from_row(row, settings.team)
    assert row.openrouter_key_hash is not None

    removed = users(env, "remove", "ned")
    assert removed.returncode == 0, removed.stderr
    assert "OpenRouter key was deleted" in removed.stdout
    async with key_management(settings) as keys:
        assert await keys.get(row.openrouter_key_hash) is None
    gateway = Gateway(settings)
    try:
        with acting_as(user), pytest.raises(ToolFailure) as refused:
            await gateway.chat({"model": "openai/gpt-4o-mini", "messages": HELLO, "max_tokens": 8})
    finally:
        await gateway.aclose()
    assert refused.value.code is ErrorCode.AUTH


async def test_a_users_calls_go_out_with_their_key_and_stop_at_its_limit(env: dict[str, str]) -> None:
    # Far below the cost of one reply: the first call goes through (nothing spent yet), the next is refused.
    assert users(env, "add", "olga", "--openrouter-limit-usd", "0.0000001").returncode == 0
    settings = load_settings(env)
    row = await stored(settings, "olga")
    assert row.openrouter_key_hash is not None
    user = user_from_row(row, settings.team)
    assert user.openrouter_key is not None
    gateway = Gateway(settings)
    try:
        # The server's own key is not limited, and is untouched by the user's spend.
        assert await gateway.chat({"model": "openai/gpt-4o-mini", "messages": HELLO, "max_tokens": 8})
        async with key_management(settings) as keys:
            assert (info := await keys.get(row.openrouter_key_hash)) is not None and info.usage_usd == 0
        with acting_as(user):
            reply = await gateway.chat({"model": "openai/gpt-4o-mini", "messages": HELLO, "max_tokens": 8})
            assert reply.content and reply.cost_usd
            async with key_management(settings) as keys:
                info = await keys.get(row.openrouter_key_hash)
            assert info is not None and info.usage_usd == reply.cost_usd

            with pytest.raises(ToolFailure) as streamed:
                await gateway.chat({"model": "openai/gpt-4o-mini", "messages": HELLO, "max_tokens": 8})
            with pytest.raises(ToolFailure) as posted:
                await create_embeddings(gateway, "openai/text-embedding-3-small", ["hello"])
        assert (await gateway.chat({"model": "openai/gpt-4o-mini", "messages": HELLO, "max_tokens": 8})).content
    finally:
        await gateway.aclose()
    for failure in (streamed.value, posted.value):
        assert failure.code is ErrorCode.NO_CREDITS
        assert "Key limit exceeded" in failure.message and "users set NAME --openrouter-limit-usd" in failure.message
        assert user.openrouter_key.get() not in failure.message


@asynccontextmanager
async def echoing_server() -> AsyncIterator[str]:
    """A loopback server that refuses every request with 401, quoting the Authorization header it got, as a
    careless upstream might."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        fields = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        fields = {k.lower(): v for k, v in fields.items()}
        await reader.readexactly(int(fields.get("content-length", "0")))
        body = json.dumps({"error": {"code": 401, "message": f"unknown key in {fields.get('authorization')}"}}).encode()
        writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async with loopback_api(handle) as url:
        yield url


async def test_the_users_key_is_sent_and_masked_in_what_openrouter_echoes(env: dict[str, str]) -> None:
    key = "sk-or-v1-" + "5" * 64
    user = User("quinn", openrouter_key=Secret(key))
    async with echoing_server() as url:
        gateway = Gateway(load_settings(env).with_overrides(base_url=url))
        try:
            with acting_as(user):
                with pytest.raises(ToolFailure) as streamed:
                    await gateway.chat({"model": "openai/gpt-4o-mini", "messages": HELLO})
                with pytest.raises(ToolFailure) as posted:
                    await create_embeddings(gateway, "openai/text-embedding-3-small", ["hello"])
            with pytest.raises(ToolFailure) as as_server:
                await gateway.get_json("key")
        finally:
            await gateway.aclose()
    for failure in (streamed.value, posted.value):
        assert failure.code is ErrorCode.AUTH
        assert "unknown key in Bearer [redacted]" in failure.message and key not in failure.message
    assert "Bearer [redacted]" in as_server.value.message and SIMULATOR_KEY not in as_server.value.message


def test_the_simulators_key_management_speaks_the_sdks_wire_format(simulator: RunningSimulator) -> None:
    created = management(simulator, "POST", "/keys", json={"name": "contract", "limit": 1.25})
    assert created.status_code == 201
    body = operations.CreateKeysResponse.model_validate(created.json())
    assert body.key.startswith("sk-or-v1-") and body.data.limit == 1.25 and body.data.limit_remaining == 1.25 and body.data.name == "contract"
    key_hash = body.data.hash

    fetched = management(simulator, "GET", f"/keys/{key_hash}")
    assert operations.GetKeyResponse.model_validate(fetched.json()).data.hash == key_hash
    listed = operations.ListResponse.model_validate(management(simulator, "GET", "/keys").json())
    assert key_hash in [k.hash for k in listed.data]
    patched = management(simulator, "PATCH", f"/keys/{key_hash}", json={"limit": 3, "disabled": True})
    assert operations.UpdateKeysResponse.model_validate(patched.json()).data.limit == 3
    assert key_hash not in [k["hash"] for k in management(simulator, "GET", "/keys").json()["data"]]  # disabled keys are left out
    assert key_hash in [k["hash"] for k in management(simulator, "GET", "/keys", params={"include_disabled": "true"}).json()["data"]]
    chat = {"model": "openai/gpt-4o-mini", "messages": HELLO}
    assert management(simulator, "POST", "/chat/completions", key=body.key, json=chat).status_code == 401  # disabled
    management(simulator, "PATCH", f"/keys/{key_hash}", json={"disabled": False})
    assert management(simulator, "POST", "/chat/completions", key=body.key, json=chat).status_code == 200

    deleted = management(simulator, "DELETE", f"/keys/{key_hash}")
    assert operations.DeleteKeysResponse.model_validate(deleted.json()).DELETED is True
    assert management(simulator, "GET", f"/keys/{key_hash}").status_code == 404
    assert management(simulator, "DELETE", f"/keys/{key_hash}").status_code == 404
    assert management(simulator, "POST", "/chat/completions", key=body.key, json=chat).status_code == 401

    assert management(simulator, "POST", "/keys", json={"limit": 1}).status_code == 400  # a name is required
    assert management(simulator, "POST", "/keys", json={"name": "x", "limit": -1}).status_code == 400
    assert management(simulator, "GET", "/keys", key="sk-or-v1-not-a-management-key").status_code == 403
    assert httpx2.get(simulator.api_url + "/keys", timeout=10).status_code == 401
