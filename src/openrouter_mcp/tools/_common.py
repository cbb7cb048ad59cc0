"""What every tool handler shares beyond `core`: the annotation presets and running work as a job
(`run_job`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel

from ..core.progress import Progress, ProgressFn
from ..core.results import ok

if TYPE_CHECKING:
    from ..app import App

# Hints equal to the protocol's defaults are left out, since every tools/list is read into the model's
# context. The MCP schema's ToolAnnotations: readOnlyHint defaults to false, destructiveHint to true and
# idempotentHint to false (both meaningful only when readOnlyHint is false), openWorldHint to true.
READ_ONLY_LOCAL = ToolAnnotations(read_only_hint=True, open_world_hint=False)
READ_ONLY_REMOTE = ToolAnnotations(read_only_hint=True)
# A paid call changes nothing the caller owns, but is not idempotent: each call is billed.
PAID_CALL = ToolAnnotations(destructive_hint=False)
WRITES_LOCAL = ToolAnnotations(destructive_hint=False, open_world_hint=False)


def run_job(
    app: App,
    tool: str,
    args: dict[str, Any],
    wait_seconds: float | None,
    ctx: Any,
    run: Callable[[ProgressFn], Awaitable[tuple[BaseModel | dict[str, Any], str]]],
) -> Awaitable[CallToolResult]:
    """Run `run` (which returns the output and its text) as a job-capable work unit, its progress
    reported to the caller or the job row."""

    async def work(prog: Progress) -> CallToolResult:
        async def report(value: float, total: float | None, message: str) -> None:
            await prog.update(value, message, total=total)

        return ok(*await run(report))

    return app.jobs.run(tool=tool, arguments=args, wait_seconds=wait_seconds, ctx=ctx, work=work)
