"""MCP tasks end to end, through the official `mcp` client against `openrouter-mcp serve` on the simulator:
the 2025-11-25 core tasks (task-augmented `tools/call`, `tasks/get`, `tasks/result`, `tasks/cancel`,
`tasks/list`, `notifications/tasks/status`) over stdio, and the 2026-07-28 `io.modelcontextprotocol/tasks`
extension (server-directed tasks, polling `tasks/get`) over Streamable HTTP. Replicas sharing PostgreSQL
are in test_tasks_replicas.py."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, NotificationBinding, ResultClaim
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
    CancelTaskRequest,
    CancelTaskRequestParams,
    CancelTaskResult,
    CreateTaskResult,
    GetTaskPayloadRequest,
    GetTaskPayloadRequestParams,
    GetTaskRequest,
    GetTaskRequestParams,
    GetTaskResult,
    ListTasksRequest,
    ListTasksResult,
    PaginatedRequestParams,
    Result,
    TaskMetadata,
    TaskStatusNotificationParams,
)
from pydantic import BaseModel, ConfigDict

from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, HttpServer, SimLog, only_ledger_row_once_costed, server_env

TASKS = "io.modelcontextprotocol/tasks"


class Wire(Result):
    """Any result, every field kept (read with `wire[...]`)."""

    model_config = ConfigDict(extra="allow")

    def __getitem__(self, key: str) -> Any:
        return (self.model_extra or {})[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


ANY_DICT = Wire


class Holder(ClientHolder):
    """`ClientHolder` with the client's own options (protocol era, extensions, handlers)."""

    def __init__(self, target: Any, **options: Any) -> None:
        super().__init__(target)
        self._options = options

    async def _run(self) -> None:
        try:
            async with Client(self._target, read_timeout_seconds=120, **self._options) as client:
                self.client = client
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self.error = exc
            self._ready.set()


# --- the 2025-11-25 requests, sent with the client's generic send_request ----------------------------


async def create(client: Client, name: str, arguments: dict[str, Any]) -> Any:
    request = CallToolRequest(params=CallToolRequestParams(name=name, arguments=arguments, task=TaskMetadata(ttl=60_000)))
    return (await client.session.send_request(request, CreateTaskResult)).task


async def get(client: Client, task_id: str) -> GetTaskResult:
    return await client.session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=task_id)), GetTaskResult)


async def result(client: Client, task_id: str) -> CallToolResult:
    return await client.session.send_request(GetTaskPayloadRequest(params=GetTaskPayloadRequestParams(task_id=task_id)), CallToolResult)


async def cancel(client: Client, task_id: str) -> CancelTaskResult:
    return await client.session.send_request(CancelTaskRequest(params=CancelTaskRequestParams(task_id=task_id)), CancelTaskResult)


async def list_tasks(client: Client, cursor: str | None = None) -> ListTasksResult:
    return await client.session.send_request(ListTasksRequest(params=PaginatedRequestParams(cursor=cursor)), ListTasksResult)


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


def chat(model: str, text: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


class LegacyStatus(ClientExtension):
    """Collects `notifications/tasks/status` (2025-11-25) through the client's notification bindings."""

    identifier = "com.example/task-status"

    def __init__(self) -> None:
        self.seen: list[TaskStatusNotificationParams] = []

    async def _seen(self, params: TaskStatusNotificationParams) -> None:
        self.seen.append(params)

    def notifications(self) -> list[NotificationBinding[Any]]:
        return [NotificationBinding(method="notifications/tasks/status", params_type=TaskStatusNotificationParams, handler=self._seen)]


@pytest.fixture
async def legacy(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[tuple[Client, LegacyStatus, Path]]:
    """A 2025-11-25 client of a server of its own over stdio (its own ledger, so costs are this test's)."""
    status = LegacyStatus()
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=server_env(simulator, tmp_path))
    async with Holder(params, mode="legacy", extensions=[status]) as client:
        yield client, status, tmp_path


async def test_a_server_declares_tasks_and_which_tools_run_as_tasks(legacy: tuple[Client, LegacyStatus, Path]) -> None:
    client, _, _ = legacy
    assert client.protocol_version == "2025-11-25"
    tasks = client.server_capabilities.tasks
    assert tasks is not None and tasks.list is not None and tasks.cancel is not None
    assert tasks.requests is not None and tasks.requests.tools is not None and tasks.requests.tools.call is not None
    listed = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("chat_completion", "analyze_image", "generate_image", "generate_video", "ensemble_reasoning", "benchmark_models"):
        execution = listed[name].execution
        assert execution is not None and execution.task_support == "optional", name
    for name in ("get_usage_stats", "search_models", "get_job"):
        assert listed[name].execution is None, name


async def test_a_task_is_created_at_once_polled_and_its_result_read(legacy: tuple[Client, LegacyStatus, Path], sim_log: SimLog) -> None:
    client, status, _ = legacy
    direct = await client.call_tool("chat_completion", chat("openai/gpt-4o-mini", "same question"))
    started = asyncio.get_running_loop().time()
    task = await create(client, "chat_completion", chat("sim/slow-3s", "same question"))
    assert asyncio.get_running_loop().time() - started < 2.5, "the task must come back before the 3 s call ends"
    assert task.status == "working" and task.task_id.startswith("job-") and task.poll_interval
    polled = await get(client, task.task_id)
    assert polled.status == "working" and polled.created_at == task.created_at
    finished = await result(client, task.task_id)  # waits for the end
    assert not finished.is_error
    assert finished.meta is not None and finished.meta["io.modelcontextprotocol/related-task"] == {"taskId": task.task_id}
    assert finished.structured_content is not None and direct.structured_content is not None
    assert set(finished.structured_content) == set(direct.structured_content)
    assert finished.structured_content["model"] == "sim/slow-3s" and finished.structured_content["cost_usd"] > 0
    assert (await get(client, task.task_id)).status == "completed"
    # The same job store as get_job, which clients without tasks keep using.
    job = await client.call_tool("get_job", {"job_id": task.task_id})
    assert job.structured_content is not None and job.structured_content["status"] == "succeeded"
    listed = await list_tasks(client)
    assert task.task_id in [t.task_id for t in listed.tasks]
    await until(lambda: _has(status.seen, task.task_id, "completed"))
    assert [s.status for s in status.seen if s.task_id == task.task_id][-1] == "completed"


async def _has(seen: list[TaskStatusNotificationParams], task_id: str, state: str) -> bool:
    return any(s.task_id == task_id and s.status == state for s in seen)


async def test_a_tool_error_makes_a_failed_task_whose_result_is_that_error(legacy: tuple[Client, LegacyStatus, Path]) -> None:
    client, _, _ = legacy
    task = await create(client, "chat_completion", chat("sim/internal-error", "fail please"))
    finished = await result(client, task.task_id)
    assert finished.is_error and finished.structured_content is not None
    assert finished.structured_content["error"]["code"] in ("UPSTREAM_ERROR", "UPSTREAM_UNAVAILABLE")
    polled = await get(client, task.task_id)
    assert polled.status == "failed" and polled.status_message


async def test_cancelling_a_task_stops_it_and_nothing_more_is_billed(legacy: tuple[Client, LegacyStatus, Path], sim_log: SimLog) -> None:
    client, _, home = legacy
    mark = sim_log.mark()
    task = await create(client, "chat_completion", chat("sim/slow-180s", "cancel me"))
    await until(lambda: _started(sim_log, mark))  # the upstream call is under way
    cancelled = await cancel(client, task.task_id)
    assert cancelled.status == "cancelled"
    assert (await get(client, task.task_id)).status == "cancelled"
    stopped = await result(client, task.task_id)
    assert stopped.is_error and "cancel" in str(stopped.structured_content)
    with pytest.raises(MCPError) as again:
        await cancel(client, task.task_id)
    assert again.value.error.code == -32602 and "terminal" in again.value.error.message
    # The generation had started: its cost (nothing was generated) comes from the reconciler.
    row = await only_ledger_row_once_costed(f"sqlite:///{home}/openrouter-mcp.db")
    assert row.status == "cancelled" and row.cost_usd == Decimal(0)
    assert len(sim_log.chats(mark)) == 1, "no further upstream call after the cancel"


async def _started(sim_log: SimLog, mark: int) -> bool:
    return len(sim_log.chats(mark)) >= 1


async def test_protocol_errors_are_the_ones_the_spec_names(legacy: tuple[Client, LegacyStatus, Path]) -> None:
    client, _, _ = legacy
    for call in (get, result, cancel):
        with pytest.raises(MCPError) as unknown:
            await call(client, "job-does-not-exist")
        assert unknown.value.error.code == -32602 and "not found" in unknown.value.error.message.lower()
    # A tool without execution.taskSupport, called as a task: -32601, and the server keeps serving.
    with pytest.raises(MCPError) as forbidden:
        await create(client, "get_usage_stats", {})
    assert forbidden.value.error.code == -32601 and "without params.task" in forbidden.value.error.message
    with pytest.raises(MCPError) as cursor:
        await list_tasks(client, cursor="not-a-cursor")
    assert cursor.value.error.code == -32602 and "cursor" in cursor.value.error.message.lower()
    plain = await client.call_tool("chat_completion", chat("openai/gpt-4o-mini", "still serving"))
    assert not plain.is_error


async def test_tasks_list_pages_through_every_task(legacy: tuple[Client, LegacyStatus, Path]) -> None:
    client, _, _ = legacy
    made = [(await create(client, "chat_completion", chat("openai/gpt-4o-mini", f"page {i}"))).task_id for i in range(3)]
    for task_id in made:
        await result(client, task_id)
    seen: list[str] = []
    cursor = None
    while True:
        page = await list_tasks(client, cursor)
        seen += [t.task_id for t in page.tasks]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert set(made) <= set(seen) and len(seen) == len(set(seen))


# --- 2026-07-28: the io.modelcontextprotocol/tasks extension, over Streamable HTTP --------------------


class TaskHandle(Result):
    """A `CreateTaskResult` of the extension (`resultType: "task"`)."""

    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None


class TaskNote(BaseModel):
    model_config = ConfigDict(extra="allow")
    taskId: str
    status: str


class ModernTasks(ClientExtension):
    """A client side of the tasks extension on the official client: it claims `resultType: "task"`
    (resolved by polling `tasks/get`) and observes `notifications/tasks`."""

    identifier = TASKS

    def __init__(self) -> None:
        self.notes: list[TaskNote] = []

    async def _note(self, params: TaskNote) -> None:
        self.notes.append(params)

    async def _resolve(self, handle: TaskHandle, ctx: ClaimContext) -> CallToolResult:
        while True:
            state = await ctx.session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=handle.task_id)), ANY_DICT)
            if state["status"] in ("completed", "failed", "cancelled"):
                return CallToolResult.model_validate(state["result"])
            await asyncio.sleep((handle.poll_interval_ms or 1000) / 1000)

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=TaskHandle, resolve=self._resolve)]

    def notifications(self) -> list[NotificationBinding[Any]]:
        return [NotificationBinding(method="notifications/tasks", params_type=TaskNote, handler=self._note)]


@pytest.fixture(scope="module")
def tasks_http(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("tasks-http")
    server = HttpServer(server_env(simulator, home), home / "http.log")
    yield server
    server.stop()


async def test_modern_client_with_the_extension_gets_a_task_and_polls_it(tasks_http: HttpServer) -> None:
    ext = ModernTasks()
    async with Holder(tasks_http.url, extensions=[ext]) as client:
        assert client.protocol_version == "2026-07-28"
        assert client.server_capabilities.extensions is not None and TASKS in client.server_capabilities.extensions
        handle = await client.session.call_tool("chat_completion", {**chat("sim/slow-2s", "as a task"), "wait_seconds": 0}, allow_claimed=True)
        assert isinstance(handle, TaskHandle) and handle.status == "working" and handle.poll_interval_ms
        state = await client.session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=handle.task_id)), ANY_DICT)
        assert state["resultType"] == "complete" and state["status"] in ("working", "completed")
        # client.call_tool resolves the task through the extension's claim, transparently.
        done = await client.call_tool("chat_completion", {**chat("sim/slow-2s", "resolved"), "wait_seconds": 0})
        assert not done.is_error and done.structured_content is not None and done.structured_content["model"] == "sim/slow-2s"
        # Fast enough: the ordinary result, no task.
        quick = await client.session.call_tool("chat_completion", chat("openai/gpt-4o-mini", "quick"), allow_claimed=True)
        assert isinstance(quick, CallToolResult) and not quick.is_error
        # A tool that does not run as a task answers as always.
        usage = await client.session.call_tool("get_usage_stats", {}, allow_claimed=True)
        assert isinstance(usage, CallToolResult)
        # Cancel: acknowledged, and the task ends cancelled.
        slow = await client.session.call_tool("chat_completion", {**chat("sim/slow-180s", "stop"), "wait_seconds": 0}, allow_claimed=True)
        assert isinstance(slow, TaskHandle)
        ack = await client.session.send_request(CancelTaskRequest(params=CancelTaskRequestParams(task_id=slow.task_id)), ANY_DICT)
        assert ack.get("resultType") == "complete"
        gone = await client.session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=slow.task_id)), ANY_DICT)
        assert gone["status"] == "cancelled"
        with pytest.raises(MCPError) as unknown:
            await client.session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id="job-unknown")), ANY_DICT)
        assert unknown.value.error.code == -32602


async def test_modern_client_without_the_extension_never_gets_a_task(tasks_http: HttpServer) -> None:
    async with Holder(tasks_http.url) as client:
        pending = await client.call_tool("chat_completion", {**chat("sim/slow-3s", "no tasks here"), "wait_seconds": 0})
        assert pending.is_error and pending.structured_content is not None
        assert pending.structured_content["error"]["code"] == "JOB_PENDING"  # the job handle, as before tasks
        # The tasks methods need the extension declared: -32021, as ext-tasks says, even for a task of one's own.
        job_id = pending.structured_content["error"]["details"]["job_id"]
        with pytest.raises(MCPError) as undeclared:
            await client.session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=job_id)), ANY_DICT)
        assert undeclared.value.error.code == -32021
