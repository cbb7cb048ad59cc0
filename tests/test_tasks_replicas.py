"""Tasks across replicas: two `openrouter-mcp serve --http` processes sharing one PostgreSQL database,
driven by the official `mcp` client. A task made on one replica is polled, read, listed and cancelled on
the other; a status change made on one reaches a client listening on the other (PostgreSQL LISTEN/NOTIFY
behind the SDK's subscription bus); a task is its user's alone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.subscriptions import ResourcesListChanged, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types import (
    GetTaskRequest,
    GetTaskRequestParams,
    SubscriptionFilter,
    SubscriptionsListenRequest,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
)

from openrouter_mcp.services.events import PostgresBus, TaskStatus
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import HttpServer, SimLog, only_ledger_row_once_costed, server_env
from .pg import schema_url
from .test_tasks import ANY_DICT, ModernTasks, TaskHandle, cancel, chat, create, get, list_tasks, result, until
from .test_team_isolation import team_server

pytestmark = pytest.mark.timeout(300)


@asynccontextmanager
async def replicas(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[tuple[list[HttpServer], str]]:
    """Two replicas, each with a home of its own (as on two machines), on one PostgreSQL schema."""
    async with schema_url("tasks") as url:
        servers = [HttpServer(server_env(simulator, tmp_path / f"home-{n}", OPENROUTER_MCP_DATABASE_URL=url), tmp_path / f"replica{n}.log") for n in "ab"]
        try:
            yield servers, url
        finally:
            for server in servers:
                server.stop()


@asynccontextmanager
async def client_of(url: str, token: str | None = None, **options: Any) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120, read=300))
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=300, **options) as client:
        yield client


async def test_a_task_made_on_one_replica_is_polled_read_and_listed_on_the_other(simulator: RunningSimulator, tmp_path: Path) -> None:
    async with replicas(simulator, tmp_path) as (servers, _), client_of(servers[0].url, mode="legacy") as a, client_of(servers[1].url, mode="legacy") as b:
        assert a.protocol_version == b.protocol_version == "2025-11-25"
        task = await create(a, "chat_completion", chat("sim/slow-3s", "made on A"))
        assert (await get(b, task.task_id)).status == "working"
        finished = await result(b, task.task_id)  # B waits for what A runs
        assert not finished.is_error and finished.structured_content is not None
        assert finished.structured_content["model"] == "sim/slow-3s"
        assert (await get(b, task.task_id)).status == "completed"
        assert task.task_id in [t.task_id for t in (await list_tasks(b)).tasks]
        job = await b.call_tool("get_job", {"job_id": task.task_id})  # the same job store
        assert job.structured_content is not None and job.structured_content["status"] == "succeeded"


async def test_a_task_cancelled_on_the_other_replica_stops_and_bills_nothing_more(simulator: RunningSimulator, sim_log: SimLog, tmp_path: Path) -> None:
    async with replicas(simulator, tmp_path) as (servers, url), client_of(servers[0].url, mode="legacy") as a, client_of(servers[1].url, mode="legacy") as b:
        mark = sim_log.mark()
        task = await create(a, "chat_completion", chat("sim/slow-180s", "cancel me from B"))

        async def started() -> bool:
            return len(sim_log.chats(mark)) >= 1

        await until(started)
        cancelled = await cancel(b, task.task_id)
        assert cancelled.status == "cancelled"
        assert (await get(a, task.task_id)).status == "cancelled"
        row = await only_ledger_row_once_costed(url)  # A learns of the cancel through the database's NOTIFY and stops its call
        assert row.status == "cancelled" and row.cost_usd == Decimal(0)
        assert len(sim_log.chats(mark)) == 1, "no further upstream call after the cancel"
        with pytest.raises(MCPError) as again:
            await cancel(a, task.task_id)
        assert again.value.error.code == -32602


async def test_a_status_change_on_one_replica_reaches_a_client_listening_on_the_other(simulator: RunningSimulator, tmp_path: Path) -> None:
    maker, listener = ModernTasks(), ModernTasks()
    async with (
        replicas(simulator, tmp_path) as (servers, _),
        client_of(servers[0].url, extensions=[maker]) as a,
        client_of(servers[1].url, extensions=[listener]) as b,
    ):
        handle = await a.session.call_tool("chat_completion", {**chat("sim/slow-5s", "watched from B"), "wait_seconds": 0}, allow_claimed=True)
        assert isinstance(handle, TaskHandle) and handle.status == "working"
        wanted = SubscriptionFilter.model_validate({"taskIds": [handle.task_id]})
        listen = asyncio.create_task(
            b.session.send_request(SubscriptionsListenRequest(params=SubscriptionsListenRequestParams(notifications=wanted)), SubscriptionsListenResult)
        )
        try:

            async def completed() -> bool:
                return any(n.taskId == handle.task_id and n.status == "completed" for n in listener.notes)

            await until(completed, 60)
        finally:
            listen.cancel()
            with contextlib.suppress(BaseException):
                await listen
        note = next(n for n in listener.notes if n.status == "completed")
        assert note.model_extra is not None and note.model_extra["result"]["structuredContent"]["model"] == "sim/slow-5s"
        assert not maker.notes, "A opened no listen stream: it is told nothing"


async def test_a_task_is_its_users_alone_on_every_replica(simulator: RunningSimulator, tmp_path: Path) -> None:
    async with team_server(simulator, tmp_path, "postgresql") as team:
        ann_a = client_of(team.servers[0].url, team.tokens["ann"], mode="legacy")
        bob_b = client_of(team.servers[1].url, team.tokens["bob"], mode="legacy")
        ann_b = client_of(team.servers[1].url, team.tokens["ann"], mode="legacy")
        bob_modern = client_of(team.servers[1].url, team.tokens["bob"], extensions=[ModernTasks()])
        async with ann_a as ann, bob_b as bob, ann_b as ann_elsewhere, bob_modern as bob2:
            task = await create(ann, "chat_completion", chat("sim/slow-2s", "ann's secret"))
            for call in (get, result, cancel):
                with pytest.raises(MCPError) as hidden:
                    await call(bob, task.task_id)
                assert hidden.value.error.code == -32602 and "not found" in hidden.value.error.message.lower()
            with pytest.raises(MCPError) as hidden_modern:
                await bob2.session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=task.task_id)), ANY_DICT)
            assert hidden_modern.value.error.code == -32602
            assert task.task_id not in [t.task_id for t in (await list_tasks(bob)).tasks]
            job = await bob.call_tool("get_job", {"job_id": task.task_id})
            assert job.is_error  # get_job answers the same
            assert not (await result(ann_elsewhere, task.task_id)).is_error
            assert task.task_id in [t.task_id for t in (await list_tasks(ann_elsewhere)).tasks]


async def test_list_changed_events_cross_replicas_on_the_bus() -> None:
    """The bus itself: what one replica's bus publishes, every replica's listeners get (the SDK's
    list-changed events and task status alike), and a bus on another schema hears none of it."""
    async with schema_url("bus") as url, schema_url("other") as other_url:
        one, two, apart = PostgresBus(url), PostgresBus(url), PostgresBus(other_url)
        heard: list[Any] = []
        overheard: list[Any] = []
        try:
            two.subscribe(heard.append)
            apart.subscribe(overheard.append)
            await two.ready()
            await apart.ready()
            for event in (ToolsListChanged(), ResourcesListChanged(), TaskStatus(task_id="job-1", user="ann", status="succeeded")):
                await one.publish(event)

            async def all_heard() -> bool:
                return len(heard) == 3

            await until(all_heard, 10)
            assert heard == [ToolsListChanged(), ResourcesListChanged(), TaskStatus(task_id="job-1", user="ann", status="succeeded")]
            assert overheard == []
        finally:
            for bus in (one, two, apart):
                await bus.aclose()


async def test_a_file_saved_on_one_replica_tells_only_its_users_listeners_on_the_other(simulator: RunningSimulator, tmp_path: Path) -> None:
    """resources/list shows each user their saved files: when ann saves one on replica A, ann's
    `subscriptions/listen` stream on replica B (the SDK client's own `listen`) hears that the list changed;
    bob's, on the same replica, hears nothing."""
    async with team_server(simulator, tmp_path, "postgresql") as team:
        ann_a, ann_b, bob_b = (client_of(team.servers[n].url, team.tokens[who]) for n, who in ((0, "ann"), (1, "ann"), (1, "bob")))
        async with ann_a as maker, ann_b as ann, bob_b as bob:
            heard: dict[str, list[Any]] = {"ann": [], "bob": []}
            listening = {"ann": asyncio.Event(), "bob": asyncio.Event()}

            async def listen(client: Client, who: str) -> None:
                async with client.listen(resources_list_changed=True) as stream:
                    listening[who].set()
                    async for event in stream:
                        heard[who].append(event)

            streams = [asyncio.create_task(listen(ann, "ann")), asyncio.create_task(listen(bob, "bob"))]
            try:
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in listening.values())), 30)
                made = await maker.call_tool("generate_image", {"prompt": "a lighthouse at dawn"})
                assert not made.is_error, made.content

                async def ann_heard() -> bool:
                    return ResourcesListChanged() in heard["ann"]

                await until(ann_heard, 30)
                await asyncio.sleep(1.0)  # time enough for a wrong delivery to arrive too
                assert heard["bob"] == []
            finally:
                for stream in streams:
                    stream.cancel()
                for stream in streams:
                    with contextlib.suppress(BaseException):
                        await stream
