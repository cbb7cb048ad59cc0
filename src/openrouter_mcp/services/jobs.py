"""Long work that outlives a tool call. A tool runs its work through `Jobs.run`: if the work is done
within the caller's `wait_seconds` the tool answers normally; otherwise the work goes on, a job row is
written, and the tool answers JOB_PENDING with the job id, which `get_job` resumes.

Jobs are owned by the process that runs them. The owner heartbeats its running jobs and watches for
cancel requests (which any replica may write); a job whose owner stopped heartbeating (a restart, a
crash) is marked failed with the reason, never left running forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mcp_types import CallToolResult

from ..core.identity import current_user
from ..core.progress import Progress
from ..core.results import failed
from ..errors import ErrorCode, ToolFailure

if TYPE_CHECKING:
    from ..core.context import Core
    from ..storage import JobRow

log = logging.getLogger("openrouter_mcp.jobs")

Work = Callable[[Progress], Coroutine[Any, Any, CallToolResult]]

HEARTBEAT_S = 2.0

# A task's whole result (every content block) is kept with its row up to this size; past it, its text and
# structured output only, as for a job.
MAX_KEPT_CONTENT_BYTES = 256 * 1024

# The error a cancelled job keeps.
_CANCELLED = {"code": ErrorCode.JOB_FAILED.value, "message": "cancelled by request"}

# Called with a job id after its status changed (created, finished, cancelled): how task status
# notifications learn of it.
Watcher = Callable[[str], Awaitable[None]]


class Jobs:
    def __init__(self, core: Core) -> None:
        self._core = core
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._tasks: dict[str, asyncio.Task[CallToolResult]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._finishing: set[asyncio.Future[None]] = set()
        self.watchers: list[Watcher] = []

    async def _changed(self, job_id: str) -> None:
        for watcher in list(self.watchers):
            try:
                await watcher(job_id)
            except Exception:  # a status notification that could not go out must not fail the work
                log.warning("status watcher failed for %s", job_id, exc_info=True)

    def _stale_before(self) -> datetime:
        return datetime.now(UTC) - timedelta(seconds=self._core.settings.job_stale_after_s)

    def is_stale(self, row: JobRow) -> bool:
        """A running job whose owner stopped heartbeating (a restart, a crash)."""
        return row.status == "running" and row.heartbeat_at < self._stale_before()

    async def sweep_stale(self) -> int:
        """Mark failed the jobs whose owner stopped heartbeating (done once per process, at first use, and
        when a job is found stale)."""
        storage = await self._core.storage()
        return await storage.fail_stale_jobs(
            stale_before=self._stale_before(), reason="the server that ran this job stopped before it finished; run the tool again"
        )

    async def run(self, *, tool: str, arguments: dict[str, Any], wait_seconds: float | None, ctx: Any, work: Work) -> CallToolResult:
        """Run `work`, reporting progress to the caller. Past `wait_seconds` (None: no limit), return
        JOB_PENDING with a job id while the work goes on."""
        prog = Progress(ctx)
        if wait_seconds is None:
            if not prog.wanted:
                return await work(prog)  # nobody reads progress and it cannot become a job: no heartbeat
            prog.start_heartbeat()
            try:
                return await work(prog)
            finally:
                prog.stop()
        prog.start_heartbeat()
        task = asyncio.create_task(work(prog))
        try:
            done, _ = await asyncio.wait({task}, timeout=wait_seconds)
            if done:
                return task.result()
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            if task.done():
                prog.stop()
        job_id = "job-" + uuid.uuid4().hex[:20]
        storage = await self._core.storage()
        await storage.create_job(job_id, tool=tool, arguments=_jsonable(arguments), owner=self.owner, user_name=current_user().name)
        self._adopt(job_id, task, prog)
        await self._changed(job_id)
        return failed(
            ToolFailure(
                ErrorCode.JOB_PENDING,
                f"{tool} is still running after {wait_seconds:g} s; it goes on as job {job_id}. Call get_job with this job_id for progress and the result.",
                retry_after_s=5.0,
                details={"job_id": job_id, "tool": tool},
            )
        )

    async def start_task(
        self, *, tool: str, arguments: dict[str, Any], user_name: str, wait_seconds: float, work: Callable[[], Coroutine[Any, Any, CallToolResult]]
    ) -> CallToolResult | str:
        """Run a whole tool call (`work`) for the tasks protocol: its result if it is done within
        `wait_seconds` (0: never, the task is created at once), else the id of the job row written for it
        (durably, before this returns) while the call goes on; `get_job`, `cancel_job` and the tasks
        methods all read that row."""
        task = asyncio.create_task(work())
        if wait_seconds > 0:
            try:
                done, _ = await asyncio.wait({task}, timeout=wait_seconds)
            except asyncio.CancelledError:
                task.cancel()
                raise
            if done:
                return task.result()
        job_id = "job-" + secrets.token_hex(16)  # unguessable: a task id is also a handle to its result
        storage = await self._core.storage()
        try:
            await storage.create_job(job_id, tool=tool, arguments=_jsonable(arguments), owner=self.owner, user_name=user_name)
        except BaseException:
            task.cancel()
            raise
        self._adopt(job_id, task, Progress(None))
        await self._changed(job_id)
        return job_id

    async def cancel(self, job_id: str) -> bool:
        """Cancel a running job from any replica: stop it here if it runs here, flag it for its owner (which
        stops it at its next heartbeat, or at once when told through the event bus), and mark it cancelled
        now. False if it was not running (finished before the request)."""
        self.cancel_local(job_id)
        storage = await self._core.storage()
        await storage.request_cancel(job_id)
        changed = await storage.finish_job(job_id, status="cancelled", error=_CANCELLED)
        if changed:
            await self._changed(job_id)
        return changed

    def _adopt(self, job_id: str, task: asyncio.Task[CallToolResult], prog: Progress) -> None:
        self._tasks[job_id] = task
        prog.sink = lambda value, total, message: self._record_progress(job_id, value, total, message)

        def finished(t: asyncio.Task[CallToolResult]) -> None:
            prog.stop()
            # Hold a reference until the row is written: the loop keeps only weak ones to tasks.
            writing = asyncio.ensure_future(self._finish(job_id, t))
            self._finishing.add(writing)
            writing.add_done_callback(self._finishing.discard)

        task.add_done_callback(finished)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._heartbeat_loop())

    async def _record_progress(self, job_id: str, value: float, total: float | None, message: str | None) -> None:
        storage = await self._core.storage()
        await storage.update_job(job_id, progress=value, total=total, message=message)

    async def _finish(self, job_id: str, task: asyncio.Task[CallToolResult]) -> None:
        self._tasks.pop(job_id, None)
        storage = await self._core.storage()
        if task.cancelled():
            changed = await storage.finish_job(job_id, status="cancelled", error=_CANCELLED)
        elif (exc := task.exception()) is not None:
            log.error("job %s failed", job_id, exc_info=exc)
            changed = await storage.finish_job(job_id, status="failed", error={"code": ErrorCode.INTERNAL.value, "message": "the job failed unexpectedly"})
        elif (result := task.result()).is_error:
            error = (result.structured_content or {}).get("error") or {"code": ErrorCode.JOB_FAILED.value, "message": "failed"}
            changed = await storage.finish_job(job_id, status="failed", error=error)
        else:
            kept: dict[str, Any] = {"structured": result.structured_content, "text": _text(result)}
            content = [c.model_dump(by_alias=True, mode="json", exclude_none=True) for c in result.content]
            if len(json.dumps(content)) <= MAX_KEPT_CONTENT_BYTES:
                kept["content"] = content
            changed = await storage.finish_job(job_id, status="succeeded", result=kept)
        if changed:  # not when a cancel request already marked it cancelled
            await self._changed(job_id)

    async def _heartbeat_loop(self) -> None:
        storage = await self._core.storage()
        while self._tasks:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await storage.heartbeat(self.owner)
                for job_id, task in list(self._tasks.items()):
                    row = await storage.get_job(job_id)
                    if row is not None and row.cancel_requested and not task.done():
                        task.cancel()
            except Exception:
                log.exception("job heartbeat failed")

    async def aclose(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task

    def cancel_local(self, job_id: str) -> bool:
        task = self._tasks.get(job_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True


def _text(result: CallToolResult) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


def _jsonable(arguments: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(arguments, default=str)))
