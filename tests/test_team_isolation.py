"""The team server keeps users apart: two users, two replicas sharing one database (SQLite or PostgreSQL),
the official MCP client over Streamable HTTP with each user's bearer token. Everything user A makes (a
job, a generation, a video, saved media, a benchmark run and its report) is answered to user B exactly as
an id that does not exist, and no answer B receives holds anything of A's (a marker planted in A's
prompts, A's ids, A's costs). A's links work through either replica."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.storage import open_storage

from .conftest import HttpServer, server_env
from .pg import schema_url

pytestmark = pytest.mark.timeout(600)


def new_token() -> str:
    return "orm_" + secrets.token_urlsafe(32)


@asynccontextmanager
async def user_client(url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(120, read=300))
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=300) as client:
        yield client


class Team:
    """Two replicas of the team server on one database, with users `ann` and `bob` (and admin `ada`)."""

    def __init__(self, servers: list[HttpServer], tokens: dict[str, str], database_url: str) -> None:
        self.servers = servers
        self.tokens = tokens
        self.database_url = database_url

    def client(self, user: str, replica: int) -> Any:
        return user_client(self.servers[replica].url, self.tokens[user])


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def team_server(simulator: RunningSimulator, tmp_path: Path, backend: str, *, daily: dict[str, Decimal] | None = None, **env: str) -> AsyncIterator[Team]:
    async with _database(backend, tmp_path) as url:
        storage = await open_storage(url)
        tokens = {name: new_token() for name in ("ann", "bob", "ada")}
        try:
            for name, token in tokens.items():
                await storage.add_user(name, token=token, admin=name == "ada", daily_budget_usd=(daily or {}).get(name))
        finally:
            await storage.close()
        # SQLite: two processes on one machine share its home (and so its output folder). PostgreSQL: each
        # replica has a home of its own, as on two machines; saved files reach the other through the database.
        homes = [tmp_path / "home", tmp_path / "home"] if backend == "sqlite" else [tmp_path / "home-a", tmp_path / "home-b"]
        servers = [HttpServer(server_env(simulator, homes[n], OPENROUTER_MCP_DATABASE_URL=url, **env), tmp_path / f"replica{n}.log") for n in range(2)]
        try:
            yield Team(servers, tokens, url)
        finally:
            for server in servers:
                server.stop()
            for n in range(2):
                log = (tmp_path / f"replica{n}.log").read_text(errors="replace")
                assert not any(token in log for token in tokens.values()), "a bearer token reached the server log"


@asynccontextmanager
async def _database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "postgresql":
        async with schema_url("team_isolation") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'team.db'}"


def answer(result: Any) -> dict[str, Any]:
    """A tool result as data: its structured content, or its error."""
    return result.structured_content or {"text": result.content[0].text if result.content else ""}


def ok_answer(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text if result.content else result
    return dict(result.structured_content)


def error_of(result: Any) -> dict[str, Any]:
    assert result.is_error, result.content[0].text if result.content else result
    return dict(result.structured_content["error"])


def same_shape(theirs: dict[str, Any], unknown: dict[str, Any], their_id: str, unknown_id: str) -> None:
    """An error about another user's id reads exactly as the one about an id that does not exist."""
    left = json.loads(json.dumps(theirs).replace(their_id, "<id>"))
    right = json.loads(json.dumps(unknown).replace(unknown_id, "<id>"))
    assert left == right, (theirs, unknown)


async def read_resource_error(client: Client, uri: str) -> str:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    return str(caught.value.error.message if hasattr(caught.value, "error") else caught.value)


def blob_of(read: Any) -> bytes:
    content = read.contents[0]
    return base64.b64decode(content.blob) if getattr(content, "blob", None) else content.text.encode()


async def test_one_user_never_sees_another_users_work(simulator: RunningSimulator, tmp_path: Path, backend: str) -> None:
    marker = f"ZEBRA{uuid.uuid4().hex[:10]}"
    async with team_server(simulator, tmp_path, backend) as team:
        # ----- no token, or a wrong one: 401 with a Bearer challenge on both replicas, before anything runs -----
        async with httpx2.AsyncClient(timeout=30) as http:
            for server in team.servers:
                for headers in ({}, {"Authorization": "Bearer " + new_token()}, {"Authorization": team.tokens["ann"][:-2]}):
                    answer_401 = await http.post(
                        server.url,
                        headers={**headers, "Accept": "application/json, text/event-stream"},
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                    )
                    assert answer_401.status_code == 401 and answer_401.headers["www-authenticate"].startswith("Bearer "), answer_401.text
        # ----- ann makes one of everything on replica 0 -----
        async with team.client("ann", 0) as ann:
            chat = ok_answer(await ann.call_tool("chat_completion", {"messages": [{"role": "user", "content": f"remember {marker}"}]}))
            generation_id = chat["generation_id"]
            image = await ann.call_tool("generate_image", {"prompt": f"a {marker} on a hill"})
            assert not image.is_error, image.content[0].text
            image_uri = answer(image)["images"][0]["uri"]
            pending = error_of(
                await ann.call_tool(
                    "chat_completion", {"model": "sim/slow-180s", "wait_seconds": 0.5, "messages": [{"role": "user", "content": f"slowly {marker}"}]}
                )
            )
            assert pending["code"] == "JOB_PENDING"
            job_id = pending["details"]["job_id"]
            video = error_of(await ann.call_tool("generate_video", {"prompt": f"a {marker} boat", "wait_seconds": 0}))
            video_id = video["details"]["video_id"]
            done = answer(await ann.call_tool("get_video_status", {"video_id": video_id, "wait_seconds": 30}))
            assert done["status"] == "completed", done
            video_uri = done["videos"][0]["uri"]
            bench = ok_answer(
                await ann.call_tool(
                    "benchmark_models", {"models": ["openai/gpt-4o-mini", "bench/swift"], "prompts": [f"Say {marker}."], "runs": 1, "warmup": 0}
                )
            )
            benchmark_id = bench["benchmark_id"]
            report = ok_answer(await ann.call_tool("export_benchmark_report", {"benchmark_id": benchmark_id, "format": "markdown"}))
            report_uri = report["uri"]
        async with team.client("ann", 1) as ann_b:
            assert len(blob_of(await ann_b.read_resource(image_uri))) > 100
            assert len(blob_of(await ann_b.read_resource(video_uri))) > 100
            assert blob_of(await ann_b.read_resource(report_uri)).decode().startswith(f"# Benchmark {benchmark_id}")
            mine = answer(await ann_b.call_tool("get_job", {"job_id": job_id}))
            assert mine["job_id"] == job_id
            assert answer(await ann_b.call_tool("get_generation", {"generation_id": generation_id}))["generation_id"] == generation_id
            # Her account view: her own spend, the same in every window (all of it made today), from the ledger.
            mine_now = ok_answer(await ann_b.call_tool("get_account", {}))
            spent = mine_now["usage_usd"]
            assert spent["daily"] > 0 and spent["daily"] == spent["weekly"] == spent["monthly"] == spent["total"], spent

        ann_ids = [generation_id, job_id, video_id, benchmark_id, image_uri, video_uri, report_uri]
        seen: list[Any] = []  # every answer bob receives
        unprompted: list[Any] = []  # the answers to questions that named none of ann's ids

        # ----- bob tries each of ann's ids, on both replicas -----
        for replica in (0, 1):
            async with team.client("bob", replica) as bob:

                async def both(tool: str, field: str, theirs: str, unknown: str, **extra: Any) -> None:
                    mine = await bob.call_tool(tool, {field: theirs, **extra})
                    none = await bob.call_tool(tool, {field: unknown, **extra})
                    seen.extend([mine, none])
                    same_shape(error_of(mine), error_of(none), theirs, unknown)

                await both("get_job", "job_id", job_id, "job-" + uuid.uuid4().hex)
                await both("cancel_job", "job_id", job_id, "job-" + uuid.uuid4().hex)
                await both("get_generation", "generation_id", generation_id, "gen-" + uuid.uuid4().hex[:20])
                await both("get_video_status", "video_id", video_id, "gen-vid-" + uuid.uuid4().hex[:16])
                fake_bench = re.sub(r"[0-9a-f]{6}$", "000000", benchmark_id)
                await both("export_benchmark_report", "benchmark_id", benchmark_id, fake_bench)
                for uri, unknown in (
                    (image_uri, image_uri.rsplit("/", 1)[0] + "/nothing-here.png"),
                    (video_uri, video_uri.rsplit("/", 1)[0] + "/nothing-here.mp4"),
                    (report_uri, report_uri.rsplit("/", 1)[0] + "/nothing-here.md"),
                ):
                    theirs_msg = await read_resource_error(bob, uri)
                    unknown_msg = await read_resource_error(bob, unknown)
                    seen.extend([theirs_msg, unknown_msg])
                    assert theirs_msg.replace(uri, "<uri>") == unknown_msg.replace(unknown, "<uri>"), (theirs_msg, unknown_msg)
                history = await bob.call_tool("get_benchmark_history", {})
                seen.append(history)
                unprompted.append(history)
                assert answer(history)["runs"] == []
                usage = await bob.call_tool("get_usage_stats", {})
                seen.append(usage)
                unprompted.append(usage)
                assert answer(usage)["summary"]["total_requests"] == 0
                peek = await bob.call_tool("get_usage_stats", {"user": "ann"})
                seen.append(peek)
                unprompted.append(peek)
                assert error_of(peek)["code"] == "INVALID_INPUT"
                account = await bob.call_tool("get_account", {})
                seen.append(account)
                unprompted.append(account)
                assert answer(account)["local_budget"]["spent_today_usd"] == 0
                listed = await bob.list_resources()
                seen.append(listed)
                unprompted.append(listed)

        # ----- nothing of ann's in anything bob received -----
        # (An answer about one of her ids may repeat the id bob asked about, exactly as for an unknown id:
        # same_shape checked that. Nothing else may name them.)
        assert marker not in "\n".join(_text_of(x) for x in seen)
        quiet = "\n".join(_text_of(x) for x in unprompted)
        for ident in ann_ids:
            assert ident not in quiet, ident

        # ----- ann's cancelled job is still running: bob's cancel did nothing -----
        async with team.client("ann", 0) as ann:
            assert answer(await ann.call_tool("get_job", {"job_id": job_id}))["status"] == "running"
            await ann.call_tool("cancel_job", {"job_id": job_id})

        # ----- an admin sees everyone's usage, and one user's -----
        async with team.client("ada", 1) as ada:
            everyone = answer(await ada.call_tool("get_usage_stats", {}))
            just_ann = answer(await ada.call_tool("get_usage_stats", {"user": "ann"}))
            just_bob = answer(await ada.call_tool("get_usage_stats", {"user": "bob"}))
            assert just_ann["summary"]["total_requests"] > 0 and just_bob["summary"]["total_requests"] == 0
            assert everyone["summary"]["total_requests"] == just_ann["summary"]["total_requests"]

        # ----- the ledger records the user of every row -----
        storage = await open_storage(team.database_url)
        try:
            from datetime import UTC, datetime, timedelta

            rows = await storage.ledger(start=datetime.now(UTC) - timedelta(hours=1), end=datetime.now(UTC) + timedelta(hours=1))
        finally:
            await storage.close()
        assert rows and {r.user_name for r in rows} == {"ann"}


def _text_of(item: Any) -> str:
    if isinstance(item, str):
        return item
    if hasattr(item, "model_dump_json"):
        return str(item.model_dump_json())
    return repr(item)


async def test_per_user_budgets_hold_under_100_concurrent_calls_over_two_replicas(simulator: RunningSimulator, tmp_path: Path, backend: str) -> None:
    # gpt-4o-mini with max_tokens 200: a worst case of about $0.00013 a call, and a simulated reply costs at
    # least $0.000015 (20-odd tokens). Each user's cap holds three worst cases, so some calls pass, and
    # less than 50 real replies, so 50 calls each must run into it however soon each one settles.
    caps = {"ann": Decimal("0.0004"), "bob": Decimal("0.0005")}
    async with team_server(simulator, tmp_path, backend, daily=caps) as team:
        results: dict[str, list[dict[str, Any]]] = {"ann": [], "bob": []}
        clients: dict[tuple[str, int], Client] = {}
        async with team.client("ann", 0) as a0, team.client("ann", 1) as a1, team.client("bob", 0) as b0, team.client("bob", 1) as b1:
            clients = {("ann", 0): a0, ("ann", 1): a1, ("bob", 0): b0, ("bob", 1): b1}

            async def one(i: int) -> None:
                user = "ann" if i % 2 else "bob"
                client = clients[(user, (i // 2) % 2)]
                result = await client.call_tool(
                    "chat_completion", {"model": "openai/gpt-4o-mini", "max_tokens": 200, "messages": [{"role": "user", "content": f"budget {i}"}]}
                )
                results[user].append({"ok": True} if not result.is_error else error_of(result))

            await asyncio.gather(*(one(i) for i in range(100)))

        storage = await open_storage(team.database_url)
        try:
            from datetime import UTC, datetime

            day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            for user, cap in caps.items():
                spent = await storage.spent_usd(since=day, user=user)
                assert spent <= cap, (user, spent, cap)
                refused = [r for r in results[user] if r.get("code") == "BUDGET_EXCEEDED"]
                passed = [r for r in results[user] if r.get("ok")]
                assert refused and passed, (user, len(refused), len(passed))
                print(f"[{backend}] {user}: cap ${cap}, spent or reserved ${spent}, {len(passed)} ok, {len(refused)} refused")
                # The refusal says whose budget it is, what is left, and who can raise it.
                message = refused[0]["message"]
                assert f"your ({user}) daily budget" in message and "left" in message and f"users set {user}" in message, message
                assert refused[0]["details"]["budget"] == "user" and refused[0]["details"]["user"] == user
        finally:
            await storage.close()


async def test_the_server_budget_holds_across_users(simulator: RunningSimulator, tmp_path: Path) -> None:
    async with team_server(simulator, tmp_path, "sqlite", OPENROUTER_MCP_DAILY_BUDGET_USD="0.001") as team:
        codes: list[str] = []
        async with team.client("ann", 0) as ann, team.client("bob", 1) as bob:

            async def one(i: int) -> None:
                client = ann if i % 2 else bob
                result = await client.call_tool(
                    "chat_completion", {"model": "openai/gpt-4o-mini", "max_tokens": 200, "messages": [{"role": "user", "content": f"server budget {i}"}]}
                )
                if result.is_error:
                    error = error_of(result)
                    codes.append(error["code"])
                    if error["code"] == "BUDGET_EXCEEDED":
                        assert "the server's daily budget" in error["message"] and "OPENROUTER_MCP_DAILY_BUDGET_USD" in error["message"], error["message"]
                        assert error["details"]["budget"] == "server"
                else:
                    codes.append("ok")

            await asyncio.gather(*(one(i) for i in range(30)))
        assert "BUDGET_EXCEEDED" in codes and "ok" in codes
        storage = await open_storage(team.database_url)
        try:
            from datetime import UTC, datetime

            assert await storage.spent_usd(since=datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)) <= Decimal("0.001")
        finally:
            await storage.close()


async def test_two_replicas_never_give_one_link_to_two_files(simulator: RunningSimulator, tmp_path: Path) -> None:
    # Each replica has an output folder of its own (as on two machines): the same save_path on both.
    async with team_server(simulator, tmp_path, "postgresql") as team, team.client("ann", 0) as a0, team.client("ann", 1) as a1:
        first = ok_answer(await a0.call_tool("generate_image", {"prompt": "a red kite", "save_path": "same.png"}))["images"][0]
        second_result = await a1.call_tool("generate_image", {"prompt": "a blue whale", "save_path": "same.png"})
        second = ok_answer(second_result)["images"][0]
        assert first["uri"].endswith("/same.png") and second["uri"].endswith("/same-r2.png"), (first, second)
        assert "same-r2.png" in second_result.content[0].text  # the note says why
        for client in (a0, a1):  # each link names one file, whichever replica reads it
            assert blob_of(await client.read_resource(first["uri"])) == blob_of(await a0.read_resource(first["uri"]))
            assert blob_of(await client.read_resource(second["uri"])) == blob_of(await a1.read_resource(second["uri"]))
        assert blob_of(await a1.read_resource(first["uri"])) != blob_of(await a1.read_resource(second["uri"]))
