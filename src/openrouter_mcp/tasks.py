"""MCP tasks: a long tool call answers at once with a task, and the client polls it. Both protocol eras:

- 2025-11-25 (handshake era, tasks in the core protocol: `docs/specification/2025-11-25/basic/utilities/
  tasks.mdx`): the server declares `capabilities.tasks`, the tools below say `execution.taskSupport:
  "optional"`, a `tools/call` with `params.task` answers a `CreateTaskResult` at once, and the client uses
  `tasks/get`, `tasks/result` (waits for the end), `tasks/cancel` and `tasks/list`; status changes go out
  as `notifications/tasks/status` on the session that created the task.
- 2026-07-28 (the `io.modelcontextprotocol/tasks` extension, modelcontextprotocol/ext-tasks
  `specification/draft/tasks.md`): server-directed. For a client that declares the extension on its
  request, a call of one of these tools still running after its `wait_seconds` (default
  `TASK_AFTER_S`) answers `resultType: "task"`; `tasks/get` carries the result once done, `tasks/cancel`
  and `tasks/update` acknowledge, and `notifications/tasks` reach a `subscriptions/listen` stream that
  asked for the task's id (`notifications.taskIds`).

A task is a job: the same rows as `get_job` and `cancel_job` (services/jobs.py), so any replica sharing
the database answers for it, and a task belongs to the user who created it (another user's task id
answers exactly as an unknown one). Status changes travel on the event bus (services/events.py):
PostgreSQL LISTEN/NOTIFY between replicas, in-process otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.subscriptions import ResourcesListChanged, ServerEvent, SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY, event_matches, event_to_notification
from mcp_types import (
    SERVER_INFO_META_KEY,
    CallToolResult,
    GetTaskPayloadRequestParams,
    GetTaskRequestParams,
    PaginatedRequestParams,
    RequestParams,
    ServerTasksCapability,
    ServerTasksRequestsCapability,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    TasksCallCapability,
    TasksCancelCapability,
    TasksListCapability,
    TasksToolsCapability,
    ToolExecution,
)
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, MISSING_REQUIRED_CLIENT_CAPABILITY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict

from .core.identity import user_of_request
from .services.events import Bus, ResourcesChangedFor, TaskStatus

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from .app import App
    from .storage import JobRow

log = logging.getLogger("openrouter_mcp.tasks")

IDENTIFIER = "io.modelcontextprotocol/tasks"
RELATED_TASK_KEY = "io.modelcontextprotocol/related-task"
IMMEDIATE_RESPONSE_KEY = "io.modelcontextprotocol/model-immediate-response"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
LEGACY_VERSIONS = frozenset({"2025-11-25"})

# The tools that can run long, and what their own `wait_seconds` becomes when they run as a task: "job"
# (it would make the call a JOB_PENDING job: dropped, the task runs to the end), "poll" (how long to
# follow an upstream job: the most allowed) or None (no such argument).
TASK_TOOLS: dict[str, str | None] = {
    "chat_completion": "job",
    "analyze_image": "job",
    "analyze_audio": "job",
    "analyze_video": "job",
    "analyze_document": "job",
    "generate_image": None,
    "generate_audio": None,
    "generate_video": "poll",
    "collective_chat_completion": "job",
    "ensemble_reasoning": "job",
    "cross_model_validation": "job",
    "collaborative_problem_solving": "job",
    "benchmark_models": "job",
}
EXECUTION = ToolExecution(task_support="optional")

POLL_INTERVAL_MS = 1000
# 2026-07-28: a call of a task tool by a client that declared the extension becomes a task when it is
# still running after its `wait_seconds`, or after this long when it gave none.
TASK_AFTER_S = 10.0
POLL_VIDEO_S = 300.0
MIN_MODERN_WAIT_S = 0.25
LIST_PAGE = 50
MAX_LISTEN_TASK_IDS = 100
RESULT_POLL_S = 0.25
# A tool result linking one of these is a file saved for the caller: their resources/list changed.
SAVED_FILE_SCHEMES = ("media://", "bench://")

# In a task's stored error: the JSON-RPC error its call answered (rather than a tool result).
JSONRPC_ERROR_KEY = "jsonrpc_error"

_STATUS = {"running": "working", "succeeded": "completed", "failed": "failed", "cancelled": "cancelled"}
_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def execution_of(tool_name: str) -> ToolExecution | None:
    """The `execution` a tool lists (2025-11-25 wire; the 2026-07-28 tool shape has no such field)."""
    return EXECUTION if tool_name in TASK_TOOLS else None


def is_modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def missing_extension() -> MCPError:
    """-32021 for a 2026-07-28 request that uses the tasks extension without declaring it."""
    return MCPError(MISSING_REQUIRED_CLIENT_CAPABILITY, "Missing required client capability", data={"requiredCapabilities": {"extensions": {IDENTIFIER: {}}}})


def declared_extension(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether the client declared the tasks extension for this request (2026-07-28: in its `_meta`)."""
    meta = (ctx.params or {}).get("_meta") if isinstance(ctx.params, Mapping) else None
    caps = meta.get(CLIENT_CAPABILITIES_KEY) if isinstance(meta, Mapping) else None
    extensions = caps.get("extensions") if isinstance(caps, Mapping) else None
    if isinstance(extensions, Mapping):
        return IDENTIFIER in extensions
    declared = ctx.session.client_capabilities
    return bool(declared and declared.extensions and IDENTIFIER in declared.extensions)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def tool_result(row: JobRow) -> dict[str, Any]:
    """The `CallToolResult` (wire form) the task's call returned, from its row."""
    if row.status == "succeeded":
        kept = row.result or {}
        content = kept.get("content") or [{"type": "text", "text": kept.get("text") or ""}]
        out: dict[str, Any] = {"content": content, "isError": False}
        if kept.get("structured") is not None:
            out["structuredContent"] = kept["structured"]
        return out
    error = row.error or {"code": "JOB_FAILED", "message": "failed"}
    text = f"{error.get('code', 'JOB_FAILED')}: {error.get('message', '')}"
    return {"content": [{"type": "text", "text": text}], "structuredContent": {"error": error}, "isError": True}


def legacy_task(row: JobRow) -> dict[str, Any]:
    """A `Task` of 2025-11-25: a tool result with isError is `failed` there."""
    task: dict[str, Any] = {
        "taskId": row.job_id,
        "status": _STATUS[row.status],
        "createdAt": _iso(row.created_at),
        "lastUpdatedAt": _iso(row.updated_at),
        "ttl": None,  # kept until the database is pruned: no expiry of our own
        "pollInterval": POLL_INTERVAL_MS,
    }
    if message := _status_message(row):
        task["statusMessage"] = message
    return task


def modern_task(row: JobRow) -> dict[str, Any]:
    """A `DetailedTask` of the extension: a tool result (isError or not) is `completed`, with the result;
    `failed` is for JSON-RPC errors, which a started call never has here."""
    status = _STATUS[row.status]
    rpc_error = (row.error or {}).get(JSONRPC_ERROR_KEY) if row.status == "failed" else None
    task: dict[str, Any] = {
        "taskId": row.job_id,
        "status": "completed" if status == "failed" and rpc_error is None else status,
        "createdAt": _iso(row.created_at),
        "lastUpdatedAt": _iso(row.updated_at),
        "ttlMs": None,
        "pollIntervalMs": POLL_INTERVAL_MS,
    }
    if message := _status_message(row):
        task["statusMessage"] = message
    if task["status"] == "completed":
        task["result"] = tool_result(row)
    elif rpc_error is not None:
        task["error"] = rpc_error
    return task


def _status_message(row: JobRow) -> str | None:
    if row.status == "running":
        return row.message or f"{row.tool} is running"
    if row.status == "succeeded":
        return f"{row.tool} finished"
    return str((row.error or {}).get("message") or row.status)


def _cursor(row: JobRow) -> str:
    return base64.urlsafe_b64encode(json.dumps([_iso(row.created_at), row.job_id]).encode()).decode()


def _after(cursor: str) -> tuple[datetime, str]:
    try:
        at, job_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(str(at).replace("Z", "+00:00")), str(job_id)
    except (ValueError, TypeError):
        raise MCPError(INVALID_PARAMS, "Invalid cursor: pass the nextCursor of an earlier tasks/list answer, or none") from None


class TaskIdParams(RequestParams):
    """`tasks/update` (2026-07-28): a task id and the answers to its input requests (never asked here)."""

    model_config = ConfigDict(extra="allow")
    task_id: str


class _Notification(BaseModel):
    method: str
    params: dict[str, Any]


class TasksExtension(Extension):
    """Advertises `io.modelcontextprotocol/tasks` (2026-07-28 `server/discover`) and serves the tasks
    methods of both eras."""

    identifier = IDENTIFIER

    def __init__(self, tasks: Tasks) -> None:
        self._tasks = tasks

    def methods(self) -> list[MethodBinding]:
        t, legacy, modern = self._tasks, LEGACY_VERSIONS, frozenset(MODERN_PROTOCOL_VERSIONS)
        return [
            MethodBinding("tasks/get", GetTaskRequestParams, t.get, protocol_versions=legacy | modern),
            MethodBinding("tasks/cancel", GetTaskRequestParams, t.cancel, protocol_versions=legacy | modern),
            MethodBinding("tasks/result", GetTaskPayloadRequestParams, t.result, protocol_versions=legacy),
            MethodBinding("tasks/list", PaginatedRequestParams, t.list, protocol_versions=legacy),
            MethodBinding("tasks/update", TaskIdParams, t.update, protocol_versions=modern),
        ]


class Tasks:
    """The tasks of one server: the `tools/call` middleware that makes them, the methods that read them,
    and their status notifications."""

    def __init__(self, app: App, bus: Bus) -> None:
        self.app = app
        self.bus = bus
        self._sending: set[asyncio.Future[Any]] = set()

    def install(self, server: MCPServer[Any]) -> None:
        """Wire into a server built with `TasksExtension(self)` and this bus as its subscriptions bus."""
        self.server = server
        low = server._lowlevel_server
        low.middleware.append(self.middleware)
        if "subscriptions/listen" in low._request_handlers:
            low.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, TaskListenHandler(self))
        original = low.get_capabilities

        def get_capabilities(*args: Any, **kwargs: Any) -> Any:
            caps = original(*args, **kwargs)
            caps.tasks = ServerTasksCapability(
                list=TasksListCapability(),
                cancel=TasksCancelCapability(),
                requests=ServerTasksRequestsCapability(tools=TasksToolsCapability(call=TasksCallCapability())),
            )
            return caps

        low.get_capabilities = get_capabilities  # type: ignore[method-assign]
        self.app.jobs.watchers.append(self.changed)
        self.bus.subscribe(self._on_event)

    # --- status changes -------------------------------------------------------------------------

    async def changed(self, job_id: str) -> None:
        storage = await self.app.storage()
        row = await storage.get_job(job_id)
        if row is not None:
            await self.bus.publish(TaskStatus(task_id=row.job_id, user=row.user_name, status=row.status))

    def _on_event(self, event: Any) -> None:
        # A cancel made on another replica stops the work here at once (the heartbeat would within seconds).
        if isinstance(event, TaskStatus) and event.status == "cancelled":
            self.app.jobs.cancel_local(event.task_id)

    def _spawn(self, coro: Any) -> None:
        future = asyncio.ensure_future(coro)
        self._sending.add(future)
        future.add_done_callback(self._sending.discard)

    def _notify_session(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> None:
        """2025-11-25: tell the session that made the task of its status changes (optional in the spec;
        only a session that stays connected, such as stdio, can receive them)."""
        if ctx.request is not None:
            return  # over (stateless) HTTP the session ends with the request: nothing stays to carry them
        session = ctx.session
        unsubscribe: Any = None

        async def send() -> None:
            storage = await self.app.storage()
            row = await storage.get_job(task_id)
            if row is None:
                return
            # Not the SDK's typed notification, whose dump would drop `ttl: null` (the spec requires the key).
            note: Any = _Notification(method="notifications/tasks/status", params=legacy_task(row))
            try:
                with anyio.fail_after(5):
                    await session.send_notification(note)
            except Exception:  # the client went away: nobody to tell
                log.debug("task status notification for %s not delivered", task_id)

        def listener(event: Any) -> None:
            if isinstance(event, TaskStatus) and event.task_id == task_id:
                self._spawn(send())
                if event.status in _TERMINAL and unsubscribe is not None:
                    unsubscribe()

        unsubscribe = self.bus.subscribe(listener)

    # --- tools/call -----------------------------------------------------------------------------

    async def saved_files_in(self, answer: Any, ctx: ServerRequestContext[Any, Any]) -> None:
        """Tell the listeners (any replica) of the user of the request `ctx` that their resources changed, if
        this answer saved a file."""
        content = answer.get("content") if isinstance(answer, dict) else None
        if isinstance(content, list) and any(
            isinstance(c, dict) and c.get("type") == "resource_link" and str(c.get("uri", "")).startswith(SAVED_FILE_SCHEMES) for c in content
        ):
            await self.bus.publish(ResourcesChangedFor(user=user_of_request(ctx).name))

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or ctx.request_id is None or not isinstance(ctx.params, Mapping):
            return await call_next(ctx)
        return await self._tools_call(ctx, call_next)

    async def _plain_call(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """A tools/call that is no task (a task's own work tells of its saved files itself)."""
        answer = await call_next(ctx)
        await self.saved_files_in(answer, ctx)
        return answer

    async def _tools_call(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = dict(ctx.params or {})
        name = params.get("name")
        modern = is_modern(ctx)
        if modern:
            if name not in TASK_TOOLS or not declared_extension(ctx):
                return await self._plain_call(ctx, call_next)
        else:
            if params.get("task") is None:
                return await self._plain_call(ctx, call_next)
            if ctx.protocol_version not in LEGACY_VERSIONS or name not in TASK_TOOLS:
                params.pop("task")
                if ctx.protocol_version in LEGACY_VERSIONS and self.server._tool_manager.get_tool(str(name)) is not None:
                    # The spec's answer for a tool whose execution.taskSupport is absent ("forbidden").
                    raise MCPError(METHOD_NOT_FOUND, f"{name} does not run as a task; call it without params.task")
                return await self._plain_call(dataclasses.replace(ctx, params=params), call_next)
        arguments = dict(params.get("arguments") or {}) if isinstance(params.get("arguments"), Mapping) else {}
        wait_s = TASK_AFTER_S if modern else 0.0
        own_wait = TASK_TOOLS[str(name)]
        given = arguments.get("wait_seconds")
        valid = isinstance(given, int | float) and not isinstance(given, bool) and given >= 0
        if own_wait == "job" and (valid or given is None):
            arguments.pop("wait_seconds", None)
            if modern and valid:
                wait_s = float(given)  # type: ignore[arg-type]
        if modern:
            # Long enough for a question to the person (input_required) to come back as the answer itself:
            # the extension wants those settled before a task is made.
            wait_s = max(wait_s, MIN_MODERN_WAIT_S)
        elif own_wait == "poll":
            arguments["wait_seconds"] = POLL_VIDEO_S
        params.pop("task", None)
        params["arguments"] = arguments
        inner = dataclasses.replace(ctx, params=params)
        wire: dict[str, Any] = {}
        user = user_of_request(ctx)

        async def work() -> CallToolResult:
            try:
                answer = await call_next(inner)
            except MCPError as exc:  # kept, so that tasks/result answers this same JSON-RPC error
                error = {"code": "INVALID_INPUT", "message": exc.error.message, JSONRPC_ERROR_KEY: exc.error.model_dump(mode="json", exclude_none=True)}
                return CallToolResult(content=[], structured_content={"error": error}, is_error=True)
            if isinstance(answer, BaseModel):
                answer = answer.model_dump(by_alias=True, mode="json", exclude_none=True)
            wire.update(answer or {})
            await self.saved_files_in(wire, ctx)
            if wire.get("resultType") == "input_required":
                # A question for the person (a spend confirmation) that came after the task was made: a task
                # here cannot ask, so the call says how to go on instead.
                message = "this call needs an answer from you first (a spend confirmation); call it again with a larger wait_seconds, or with max_cost_usd"
                return CallToolResult(content=[], structured_content={"error": {"code": "INVALID_INPUT", "message": message}}, is_error=True)
            return CallToolResult.model_validate(wire)

        outcome = await self.app.jobs.start_task(tool=str(name), arguments=arguments, user_name=user.name, wait_seconds=wait_s, work=work)
        if isinstance(outcome, CallToolResult):
            return wire  # done in time: the ordinary answer
        storage = await self.app.storage()
        row = await storage.get_job(outcome)
        if row is None:
            raise MCPError(INTERNAL_ERROR, "the task was not recorded")
        text = f"{name} runs as task {row.job_id}: poll tasks/get; the result comes from tasks/result."
        if modern:
            text = f"{name} runs as task {row.job_id}: poll tasks/get for its status and result."
            # A middleware's own answer carries its whole envelope: the 2026-07-28 serverInfo stamp too.
            stamp = {SERVER_INFO_META_KEY: self.server._lowlevel_server.server_info_stamp}
            return {"resultType": "task", **modern_task(row), "_meta": {IMMEDIATE_RESPONSE_KEY: text, **stamp}}
        self._notify_session(ctx, row.job_id)
        # `content` too, so that a client which does not know tasks still reads a valid tool result.
        return {"task": legacy_task(row), "content": [{"type": "text", "text": text}], "_meta": {IMMEDIATE_RESPONSE_KEY: text}}

    # --- the tasks methods ----------------------------------------------------------------------

    async def load(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> JobRow:
        storage = await self.app.storage()
        row = await storage.get_job(task_id.strip())
        if row is not None and row.user_name != user_of_request(ctx).name:
            row = None  # another user's task answers exactly as one that does not exist
        if row is not None and self.app.jobs.is_stale(row):
            await self.app.jobs.sweep_stale()
            row = await storage.get_job(row.job_id)
        if row is None:
            raise MCPError(INVALID_PARAMS, f"Failed to retrieve task: Task not found ({task_id!r})")
        return row

    @staticmethod
    def require_extension(ctx: ServerRequestContext[Any, Any]) -> None:
        """2026-07-28: the tasks methods answer -32021 to a request that did not declare the extension (ext-tasks
        specification/draft/tasks.md, "Capability negotiation")."""
        if is_modern(ctx) and not declared_extension(ctx):
            raise missing_extension()

    async def get(self, ctx: ServerRequestContext[Any, Any], params: GetTaskRequestParams) -> dict[str, Any]:
        self.require_extension(ctx)
        row = await self.load(ctx, params.task_id)
        return {"resultType": "complete", **modern_task(row)} if is_modern(ctx) else legacy_task(row)

    async def result(self, ctx: ServerRequestContext[Any, Any], params: GetTaskPayloadRequestParams) -> dict[str, Any]:
        """2025-11-25: waits for the end, then answers what the call itself would have answered."""
        row = await self.load(ctx, params.task_id)
        while row.status not in _TERMINAL:
            await asyncio.sleep(RESULT_POLL_S)
            row = await self.load(ctx, params.task_id)
        if isinstance(rpc_error := (row.error or {}).get(JSONRPC_ERROR_KEY), dict):
            raise MCPError(int(rpc_error.get("code", INTERNAL_ERROR)), str(rpc_error.get("message", "")), rpc_error.get("data"))
        return {**tool_result(row), "_meta": {RELATED_TASK_KEY: {"taskId": row.job_id}}}

    async def cancel(self, ctx: ServerRequestContext[Any, Any], params: GetTaskRequestParams) -> dict[str, Any]:
        self.require_extension(ctx)
        row = await self.load(ctx, params.task_id)
        if row.status in _TERMINAL:
            if is_modern(ctx):
                return {"resultType": "complete"}  # an acknowledgement; the task keeps its final status
            raise MCPError(INVALID_PARAMS, f"Cannot cancel task: already in terminal status '{_STATUS[row.status]}'")
        await self.app.jobs.cancel(row.job_id)
        if is_modern(ctx):
            return {"resultType": "complete"}
        return legacy_task(await self.load(ctx, row.job_id))

    async def list(self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams) -> dict[str, Any]:
        before = _after(params.cursor) if params.cursor else None
        storage = await self.app.storage()
        rows = await storage.list_jobs(user_of_request(ctx).name, limit=LIST_PAGE + 1, before=before)
        out: dict[str, Any] = {"tasks": [legacy_task(r) for r in rows[:LIST_PAGE]]}
        if len(rows) > LIST_PAGE:
            out["nextCursor"] = _cursor(rows[LIST_PAGE - 1])
        return out

    async def update(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        self.require_extension(ctx)
        await self.load(ctx, params.task_id)  # no task of ours ever waits for input: nothing to apply
        return {"resultType": "complete"}


class TaskListenHandler:
    """`subscriptions/listen` (2026-07-28) as the SDK serves it, plus the tasks extension's `taskIds`:
    `notifications/tasks` for those of the caller's tasks, whichever replica changes them."""

    def __init__(self, tasks: Tasks, *, max_buffered_events: int = 1024) -> None:
        self._tasks = tasks
        self._max = max_buffered_events

    async def __call__(self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams) -> SubscriptionsListenResult:
        subscription_id = ctx.request_id
        if subscription_id is None:
            raise MCPError(INVALID_REQUEST, "subscriptions/listen requires a request id")
        requested = params.notifications
        extra = dict(requested.model_extra or {})
        wanted_ids = extra.pop("taskIds", None)
        task_ids: list[str] = []
        if wanted_ids is not None:
            if not declared_extension(ctx):
                raise missing_extension()
            if not isinstance(wanted_ids, list) or len(wanted_ids) > MAX_LISTEN_TASK_IDS or not all(isinstance(i, str) for i in wanted_ids):
                raise MCPError(INVALID_PARAMS, f"notifications.taskIds: a list of at most {MAX_LISTEN_TASK_IDS} task ids")
            user = user_of_request(ctx).name
            storage = await self._tasks.app.storage()
            for task_id in wanted_ids:
                row = await storage.get_job(task_id)
                if row is not None and row.user_name == user:  # another user's task is not honored
                    task_ids.append(task_id)
        honored = SubscriptionFilter(
            tools_list_changed=True if requested.tools_list_changed else None,
            prompts_list_changed=True if requested.prompts_list_changed else None,
            resources_list_changed=True if requested.resources_list_changed else None,
            resource_subscriptions=list(requested.resource_subscriptions) if requested.resource_subscriptions else None,
        )
        if wanted_ids is not None:
            honored = SubscriptionFilter.model_validate({**honored.model_dump(by_alias=True, exclude_none=True), "taskIds": task_ids})
        uris = frozenset(honored.resource_subscriptions or ())
        listener = user_of_request(ctx).name
        watched = set(task_ids)
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: subscription_id}
        send, recv = anyio.create_memory_object_stream[Any](self._max)

        def deliver(event: Any) -> None:
            if isinstance(event, TaskStatus):
                wanted = event.task_id in watched
            elif isinstance(event, ResourcesChangedFor):
                wanted = bool(honored.resources_list_changed) and event.user == listener
            else:
                wanted = event_matches(honored, uris, event)
            if wanted:
                try:
                    send.send_nowait(event)
                except (anyio.ClosedResourceError, anyio.WouldBlock):
                    send.close()

        bus: SubscriptionBus = self._tasks.bus
        await self._tasks.bus.ready()  # listening before the ack, so nothing published after it is missed
        unsubscribe = bus.subscribe(deliver)
        try:
            ack = SubscriptionsAcknowledgedNotification(params=SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta))
            await ctx.session.send_notification(ack, related_request_id=subscription_id)
            storage = await self._tasks.app.storage()
            async for event in recv:
                if isinstance(event, TaskStatus):
                    row = await storage.get_job(event.task_id)
                    if row is None:
                        continue
                    note: Any = _Notification(method="notifications/tasks", params={**modern_task(row), "_meta": meta})
                elif isinstance(event, ResourcesChangedFor):
                    note = event_to_notification(ResourcesListChanged(), meta)
                else:
                    note = event_to_notification(event, meta)
                await ctx.session.send_notification(note, related_request_id=subscription_id)
        finally:
            unsubscribe()
            send.close()
            recv.close()
        return SubscriptionsListenResult(_meta=meta)


__all__ = ["EXECUTION", "IDENTIFIER", "TASK_TOOLS", "ServerEvent", "Tasks", "TasksExtension", "execution_of"]
