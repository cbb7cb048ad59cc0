"""Every tool's output schema, read from its output model's fields at start-up, is exactly the outline the
SDK's full JSON-schema derivation would have been cut down to; and results are still checked against the
whole output model."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from mcp.server.mcpserver.utilities.func_metadata import func_metadata
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from openrouter_mcp.config import load_settings
from openrouter_mcp.server import OpenRouterMCP, build_server, compact_schema, inline_refs, json_types, outline_of, portable_type


def _types_of(node: dict[str, Any]) -> str | list[str] | None:
    if isinstance(node.get("type"), str | list):
        return node["type"]  # type: ignore[no-any-return]
    kinds: list[str] = []
    for option in node.get("anyOf") or ():
        kind = _types_of(option) if isinstance(option, dict) else None
        for k in [kind] if isinstance(kind, str) else kind or []:
            if k not in kinds:
                kinds.append(k)
    return (kinds[0] if len(kinds) == 1 else kinds) or None


def sdk_outline(fn: Any) -> dict[str, Any] | None:
    """The reference: the SDK's full output schema for `fn`, compacted, cut down to each top-level field's
    JSON type(s)."""
    schema = func_metadata(fn).output_schema
    if schema is None:
        return None
    props = {}
    full = inline_refs(schema).get("properties") or {}
    for name, node in (compact_schema(inline_refs(schema), optional_null=False).get("properties") or {}).items():
        kinds = _types_of(node) if isinstance(node, dict) else None
        # A field whose default is null lists null first (the usual value is checked first).
        null_default = "default" in full[name] and full[name]["default"] is None
        props[name] = portable_type([kinds] if isinstance(kinds, str) else kinds, null_first=null_default)
    return {"type": "object", "properties": props}


def test_every_tool_outline_matches_the_sdk_derivation(tmp_path: Any) -> None:
    server, _ = build_server(load_settings({"OPENROUTER_MCP_HOME": str(tmp_path)}, simulate=True))
    tools = server._tool_manager.list_tools()
    assert len(tools) == 30
    for tool in tools:
        assert tool.fn_metadata.output_model is not None, tool.name
        assert tool.output_schema == sdk_outline(tool.fn), tool.name


class Colour(Enum):
    RED = "red"


class Inner(BaseModel):
    x: int


class Shapes(BaseModel):
    a: str
    b: int | None
    c: float = 0
    d: bool = True
    e: list[Inner] = []
    f: dict[str, Any] = {}
    g: Any = None
    h: str | list[str] | None = None
    i: Literal["x", "y"] = "x"
    j: Colour = Colour.RED
    k: datetime | None = None
    m: Inner | None = None
    n: tuple[int, ...] = ()
    aliased: int = Field(0, alias="renamed")


def test_outlines_of_every_kind_of_field_match_the_sdk_derivation() -> None:
    async def tool() -> Any: ...

    tool.__annotations__["return"] = Annotated[CallToolResult, Shapes]
    ours = outline_of(Shapes)
    assert ours == sdk_outline(tool)
    # Null first where the default is null, else in the annotation's order.
    assert ours["properties"]["g"] == {"anyOf": [{"type": t} for t in ("null", "object", "array", "string", "number", "boolean")]}
    assert ours["properties"]["h"] == {"anyOf": [{"type": "null"}, {"type": "string"}, {"type": "array"}]}
    assert ours["properties"]["b"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}


def test_an_unknown_type_or_an_undeclared_output_is_refused_at_registration() -> None:
    class Odd:
        pass

    with pytest.raises(TypeError):
        json_types(Odd)
    with pytest.raises(TypeError):
        json_types(complex)
    server = OpenRouterMCP(name="t")
    with pytest.raises(TypeError):

        @server.tool()
        async def undeclared() -> str:
            return "x"


async def test_a_result_that_breaks_the_output_model_is_caught(tmp_path: Any) -> None:
    server = OpenRouterMCP(name="t")

    @server.tool()
    async def broken() -> Annotated[CallToolResult, Inner]:
        return CallToolResult(content=[TextContent(type="text", text="x")], structured_content={"x": "not a number"})

    assert server._tool_manager.get_tool("broken").output_schema == {"type": "object", "properties": {"x": {"type": "integer"}}}  # type: ignore[union-attr]
    result = await server.call_tool("broken", {})
    assert result.is_error and "INTERNAL" in result.content[0].text
