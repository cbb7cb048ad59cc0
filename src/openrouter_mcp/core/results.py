"""A tool call's result: the success shape (short text plus structured output) and the error shape (the
error's code and message, with `structuredContent.error`), built the same way by every layer."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from ..errors import ToolFailure


def tool_args(scope: dict[str, Any]) -> dict[str, Any]:
    """A handler's arguments from its `locals()`, as a job row keeps them."""
    return {k: v for k, v in scope.items() if k not in ("ctx", "app", "server")}


def ok(output: BaseModel | dict[str, Any], text: str) -> CallToolResult:
    """A success: a short text for people and the structured output for programs (a model, or data
    already in its JSON shape; either way the server checks it against the tool's output model)."""
    data = output if isinstance(output, dict) else output.model_dump(mode="json", exclude_none=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def failed(failure: ToolFailure) -> CallToolResult:
    error = failure.to_dict()
    # The message already names any suggestions, in words that fit it; `error.suggestions` lists them for programs.
    text = f"{failure.code.value}: {failure.message}"
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content={"error": error}, is_error=True)
