"""The JSON-RPC errors a protocol-level problem answers with, as the MCP specification names them: an unknown
tool or prompt, a prompt's missing or invalid arguments, a resource that does not exist. A tool's own failures
(bad argument values, upstream errors) are not protocol errors: they stay `isError` results with our error
codes (DESIGN.md). None of these is logged at ERROR: the caller's mistake is not a server fault.

Followed: modelcontextprotocol/modelcontextprotocol docs/specification/{2025-11-25,2026-07-28}/server/
tools.mdx, prompts.mdx and resources.mdx, "Error Handling" (see docs/decisions/0016-protocol-errors-client-logs-conformance.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from ..errors import ErrorCode, ToolFailure

# "Resource not found" before 2026-07-28 (resources.mdx of 2025-11-25 and earlier); 2026-07-28 uses -32602.
RESOURCE_NOT_FOUND = -32002

# A failure with one of these codes is the caller's doing: its prompt answers "invalid params".
CALLER_CODES = frozenset(
    {ErrorCode.INVALID_INPUT, ErrorCode.UNSAFE_PATH, ErrorCode.UNSAFE_URL, ErrorCode.TOO_LARGE, ErrorCode.UNSUPPORTED_FORMAT, ErrorCode.MODEL_NOT_FOUND}
)

MAX_ECHO = 200  # characters of a caller's name or URI repeated in an error message


def _echo(text: str) -> str:
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"


def unknown_tool(name: str) -> MCPError:
    return MCPError(INVALID_PARAMS, f"Unknown tool: {_echo(name)!r}; list the tools (tools/list) to see what this server offers.")


def unknown_prompt(name: str) -> MCPError:
    return MCPError(
        INVALID_PARAMS, f"Unknown prompt: {_echo(name)!r}; list the prompts (prompts/list) to see what this server offers.", data={"name": _echo(name)}
    )


def missing_prompt_arguments(name: str, missing: Iterable[str]) -> MCPError:
    names = sorted(missing)
    return MCPError(
        INVALID_PARAMS,
        f"Prompt {name!r} needs the argument{'s' if len(names) > 1 else ''} {', '.join(names)}; prompts/list names each argument and whether it is required.",
        data={"fields": names},
    )


def resource_not_found(uri: str, protocol_version: str | None, detail: str | None = None) -> MCPError:
    """-32602 from 2026-07-28 on, -32002 before; `data.uri` names the resource either way."""
    code = INVALID_PARAMS if protocol_version in MODERN_PROTOCOL_VERSIONS else RESOURCE_NOT_FOUND
    message = detail or f"Resource not found: {_echo(uri)}; list the resources and resource templates to see what this server offers."
    return MCPError(code, message, data={"uri": _echo(uri)})


class SavedResourceNotFound(ResourceNotFoundError):
    """A URI of ours that names nothing readable; its message says what is wrong with it."""


def resource_failure(failure: ToolFailure) -> ResourceError:
    """The resource error a template function raises for a failure reading what a URI names: a path outside
    the folder, or a file that is not there (or not readable as a resource), is "not found"; anything else
    an error of the server."""
    if failure.code in CALLER_CODES:
        return SavedResourceNotFound(failure.message)
    return ResourceError(failure.message)


def cause_of(exc: BaseException, kind: type[BaseException]) -> Any:
    """The first exception of `kind` in `exc`'s chain of causes (the SDK wraps a prompt's failure twice)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def prompt_failure(name: str, exc: BaseException) -> MCPError | None:
    """The JSON-RPC error for a prompt that failed on its arguments or with one of our failures; None for an
    unexpected failure (which the caller logs and answers as an internal error)."""
    invalid = cause_of(exc, ValidationError)
    if invalid is not None:
        fields = [".".join(str(p) for p in err["loc"]) or "(arguments)" for err in invalid.errors()[:5]]
        problems = "; ".join(f"{f}: {err['msg']}" for f, err in zip(fields, invalid.errors()[:5], strict=False))
        return MCPError(INVALID_PARAMS, f"Prompt {name!r}: {problems}. Fix the named argument.", data={"fields": fields})
    failure = cause_of(exc, ToolFailure)
    if failure is not None:
        return MCPError(INVALID_PARAMS if failure.code in CALLER_CODES else INTERNAL_ERROR, failure.message, data={"code": failure.code.value})
    return None


def internal_prompt_error(name: str) -> MCPError:
    return MCPError(INTERNAL_ERROR, f"Prompt {name!r} failed unexpectedly; the server log has the details. Please report it.")
