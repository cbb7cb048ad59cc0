"""The server's cheaper versions of SDK steps on the path of every tool call give the SDK's answers:
the JSON pre-parse of string arguments, and the schema the HTTP transport checks Mcp-Param headers
against (none for a tool that declares no x-mcp-header)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.shared.inbound import validate_mcp_param_headers
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from openrouter_mcp.config import load_settings
from openrouter_mcp.server import OpenRouterMCP, build_server


class Out(BaseModel):
    ok: bool

# Strings an MCP client sends for arguments: JSON held in a string (arrays, objects, null, scalars),
# JSON with leading whitespace (JSON's own and other kinds), and plain text that is not JSON.
STRINGS = [
    '[{"role": "user", "content": "hi"}]',
    ' {"a": 1}',
    "\n[2]",
    "\u00a0[1]",
    "[]  ",
    "{}",
    "null",
    " null ",
    "nullx",
    "true",
    "false",
    "1",
    "-2.5",
    "NaN",
    '"quoted"',
    "sim/instant",
    "[1",
    "",
    "   ",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> object:
    home: Path = tmp_path_factory.mktemp("home")
    built, _ = build_server(load_settings({"OPENROUTER_MCP_HOME": str(home)}, simulate=True))
    return built


def test_pre_parse_gives_the_sdks_arguments_for_every_argument_of_every_tool(server: object) -> None:
    tools = server._tool_manager.list_tools()  # type: ignore[attr-defined]
    assert len(tools) == 30
    checked = 0
    for tool in tools:
        metadata = tool.fn_metadata
        assert type(metadata) is not FuncMetadata, tool.name  # ours is in place
        for key in metadata.arg_model.model_fields:
            for value in STRINGS:
                arguments = {key: value, "other": "[1]"}
                assert metadata.pre_parse_json(arguments) == FuncMetadata.pre_parse_json(metadata, arguments), (tool.name, key, value)
                checked += 1
    assert checked > 1000


def test_a_tool_without_x_mcp_header_gives_the_transport_no_schema_and_loses_no_check(server: object) -> None:
    for tool in server._tool_manager.list_tools():  # type: ignore[attr-defined]
        assert server._tool_input_schema(tool.name) is None, tool.name  # type: ignore[attr-defined]
        # What the transport would have found with the whole schema: nothing to compare.
        assert validate_mcp_param_headers(tool.parameters, {"model": "x", "messages": []}, {"mcp-param-model": "y"}) is None
    assert server._tool_input_schema("no_such_tool") is None  # type: ignore[attr-defined]


def test_a_tool_that_declares_an_x_mcp_header_keeps_its_schema_for_the_check() -> None:
    server = OpenRouterMCP(name="t")

    @server.tool()
    async def routed(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> Annotated[CallToolResult, Out]:
        raise NotImplementedError

    schema = server._tool_input_schema("routed")
    assert schema is not None and schema["properties"]["region"]["x-mcp-header"] == "Region"
    # and the transport's check then catches a header that disagrees with the body
    assert validate_mcp_param_headers(schema, {"region": "eu"}, {"mcp-param-region": "us"}) is not None


async def test_a_second_start_lists_the_same_tools_and_builds_each_model_at_its_first_call(tmp_path: Path) -> None:
    """Start-up reuses the argument schemas of the last start of the same code (core/tool_schemas.py)."""
    from openrouter_mcp.server import _LazyTool

    settings = load_settings({"OPENROUTER_MCP_HOME": str(tmp_path)}, simulate=True)
    first, first_app = build_server(settings)
    assert (tmp_path / "cache" / "tool-schemas.json").is_file()
    second, second_app = build_server(settings)
    listed = [[t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in await s.list_tools()] for s in (first, second)]
    assert listed[0] == listed[1] and len(listed[1]) == 30
    for tool in second._tool_manager.list_tools():
        assert type(tool) is _LazyTool and "fn_metadata" not in tool.__dict__, tool.name
        eager = first._tool_manager.get_tool(tool.name)
        # built at first use, by the SDK, into the same model, schema and output outline
        assert tool.fn_metadata.arg_model.model_json_schema(by_alias=True) == tool.parameters == eager.parameters, tool.name
        assert tool.fn_metadata.output_model is eager.fn_metadata.output_model and tool.output_schema == eager.output_schema, tool.name
    # a lazily built tool checks and runs a call as the eagerly built one does
    answers = []
    for server in (first, second):
        found = await server.call_tool("get_job", {"job_id": "job-0000"})
        refused = await server.call_tool("get_job", {"job_id": ["job-0000"]})
        assert refused.is_error and refused.structured_content["error"]["code"] == "INVALID_INPUT"
        answers.append((found.model_dump(), refused.model_dump()))
    assert answers[0] == answers[1]
    await first_app.aclose()
    await second_app.aclose()


def test_schemas_of_other_code_are_not_reused(tmp_path: Path) -> None:
    import json

    settings = load_settings({"OPENROUTER_MCP_HOME": str(tmp_path)}, simulate=True)
    build_server(settings)
    cache = tmp_path / "cache" / "tool-schemas.json"
    stored = json.loads(cache.read_text())
    stored["tools"] = {key: {"type": "object", "properties": {"stale": {"type": "string"}}} for key in stored["tools"]}
    stored["fingerprint"] = "0" * 64  # written by another version of the code
    cache.write_text(json.dumps(stored))
    server, _ = build_server(settings)
    tool = server._tool_manager.get_tool("chat_completion")
    assert "stale" not in tool.parameters["properties"] and "messages" in tool.parameters["properties"]
    assert json.loads(cache.read_text())["fingerprint"] != "0" * 64  # and written anew for the next start
