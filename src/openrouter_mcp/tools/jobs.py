"""The `jobs` toolset: resume (`get_job`) or stop (`cancel_job`) work that outlived its tool call."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from ..core.identity import current_user
from ..core.results import ok
from ..errors import invalid
from ..shapes import Shape
from ._common import READ_ONLY_LOCAL, WRITES_LOCAL

if TYPE_CHECKING:
    from ..app import App
    from ..storage import JobRow

JobId = Annotated[str, Field(min_length=4, max_length=64)]


class JobOutput(Shape):
    job_id: str
    tool: str
    status: str = Field(description="running, succeeded, failed or cancelled")
    progress: float | None
    total: float | None
    message: str | None
    result: dict[str, Any] | None = Field(description="When succeeded: the tool's own structured output.")
    result_text: str | None
    error: dict[str, Any] | None
    cancel_requested: bool
    created_at: str
    updated_at: str


def _output(row: JobRow) -> JobOutput:
    result = row.result or {}
    return JobOutput(
        job_id=row.job_id,
        tool=row.tool,
        status=row.status,
        progress=row.progress,
        total=row.total,
        message=row.message,
        result=result.get("structured"),
        result_text=result.get("text"),
        error=row.error,
        cancel_requested=row.cancel_requested,
        created_at=row.created_at.isoformat(),
        updated_at=row.updated_at.isoformat(),
    )


def _text(out: JobOutput) -> str:
    if out.status == "succeeded":
        return f"{out.job_id} ({out.tool}) succeeded.\n{out.result_text or ''}".rstrip()
    if out.status in ("failed", "cancelled"):
        return f"{out.job_id} ({out.tool}) {out.status}: {(out.error or {}).get('message', '')}"
    return f"{out.job_id} ({out.tool}) is running: {out.message or 'working'}. Call get_job again for the result."


def register(server: MCPServer[Any], app: App) -> None:
    async def load(job_id: str) -> JobRow:
        storage = await app.storage()
        row = await storage.get_job(job_id.strip())
        if row is not None and row.user_name != current_user().name:
            row = None  # another user's job answers exactly as one that does not exist
        if row is not None and app.jobs.is_stale(row):
            # Its owner stopped heartbeating (a restart, a crash): failed here, so nobody waits forever.
            await app.jobs.sweep_stale()
            row = await storage.get_job(row.job_id)
        if row is None:
            raise invalid("job_id", f"no job {job_id!r}", "Use the job_id from a JOB_PENDING answer")
        return row

    @server.tool(annotations=READ_ONLY_LOCAL, description="Progress or result of a job a tool started (JOB_PENDING); can wait for it.")
    async def get_job(
        job_id: JobId,
        wait_seconds: Annotated[float, Field(ge=0, le=600, description="Wait this long for it to finish")] = 0,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, JobOutput]:
        row = await load(job_id)
        deadline = time.monotonic() + wait_seconds
        while row.status == "running" and time.monotonic() < deadline:
            if ctx is not None:
                await ctx.report_progress(time.monotonic() - deadline + wait_seconds + 0.001, None, row.message or "running")
            await asyncio.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
            row = await load(job_id)
        out = _output(row)
        return ok(out, _text(out))

    @server.tool(annotations=WRITES_LOCAL, description="Stop a running job; work already paid for stays in the ledger.")
    async def cancel_job(job_id: JobId) -> Annotated[CallToolResult, JobOutput]:
        row = await load(job_id)
        if row.status == "running":
            storage = await app.storage()
            app.jobs.cancel_local(row.job_id)
            row = await storage.request_cancel(row.job_id) or row
            # The owner (this process or another replica) sees the request at its next heartbeat.
            for _ in range(50):
                if row.status != "running":
                    break
                await asyncio.sleep(0.1)
                row = await load(job_id)
        out = _output(row)
        return ok(out, _text(out))
