"""Protocol-level problems answer with the JSON-RPC errors the MCP specification names (tools.mdx, prompts.mdx
and resources.mdx, "Error Handling", 2025-11-25 and 2026-07-28), in both protocol eras, over stdio and
Streamable HTTP, with nothing logged at ERROR and no traceback: an unknown tool or prompt is -32602, a
resource that does not exist -32002 before 2026-07-28 and -32602 from it, a malformed request -32602. A
tool's own failures stay `isError` results with our error codes."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, CallToolRequest, CallToolRequestParams, CallToolResult

from openrouter_mcp.config import load_settings
from openrouter_mcp.core.protocol_errors import RESOURCE_NOT_FOUND
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.server import build_server
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import HttpServer, error_of, server_env

ERAS = {"legacy": RESOURCE_NOT_FOUND, "2026-07-28": INVALID_PARAMS}  # mode -> the code of "resource not found"


@contextlib.asynccontextmanager
async def served(transport: str, mode: str, simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[tuple[Client, Path]]:
    """Our server as a subprocess on `transport`, a client speaking era `mode`, and the file its stderr goes to."""
    log = tmp_path / f"{transport}.log"
    env = server_env(simulator, tmp_path / "home")
    if transport == "stdio":
        with log.open("w") as errlog:
            params = StdioServerParameters(command="python", args=["-m", "openrouter_mcp", "serve"], env=env)
            async with Client(stdio_client(params, errlog=errlog), mode=mode, read_timeout_seconds=60) as client:
                yield client, log
        return
    http = HttpServer(env, log)
    try:
        async with Client(http.url, mode=mode, read_timeout_seconds=60) as client:
            yield client, log
    finally:
        http.stop()


async def rpc_error(call: object) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await call  # type: ignore[misc]
    return caught.value


@pytest.mark.parametrize("mode", list(ERAS))
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_protocol_problems_answer_the_spec_errors_and_log_no_error(transport: str, mode: str, simulator: RunningSimulator, tmp_path: Path) -> None:
    async with served(transport, mode, simulator, tmp_path) as (client, log):
        assert (client.session.protocol_version == "2026-07-28") == (mode != "legacy")

        unknown = await rpc_error(client.call_tool("no_such_tool", {"x": 1}))
        assert unknown.code == INVALID_PARAMS and "no_such_tool" in unknown.message and "tools/list" in unknown.message

        prompt = await rpc_error(client.get_prompt("no_such_prompt"))
        assert prompt.code == INVALID_PARAMS and "no_such_prompt" in prompt.message

        missing = await rpc_error(client.read_resource("media://output/nothing-here.png"))
        assert missing.code == ERAS[mode] and missing.data == {"uri": "media://output/nothing-here.png"}
        assert "does not exist" in missing.message
        outside = await rpc_error(client.read_resource("media://output/../../etc/passwd.png"))
        assert outside.code == ERAS[mode] and outside.data == {"uri": "media://output/../../etc/passwd.png"}
        nowhere = await rpc_error(client.read_resource("nowhere://at/all"))
        assert nowhere.code == ERAS[mode] and nowhere.data == {"uri": "nowhere://at/all"} and "Resource not found" in nowhere.message

        # A request that does not satisfy the CallToolRequest schema (arguments must be an object).
        malformed = CallToolRequest(params=CallToolRequestParams.model_construct(name="chat_completion", arguments=["not", "an", "object"]))
        with warnings.catch_warnings():  # pydantic notes that it serializes a list where the schema says object
            warnings.simplefilter("ignore", UserWarning)
            assert (await rpc_error(client.session.send_request(malformed, CallToolResult))).code == INVALID_PARAMS

        # A tool's own failure on a bad argument value stays a tool result, with our error code.
        error = error_of(await client.call_tool("chat_completion", {"temperature": "hot", "messages": []}))
        assert error["code"] == "INVALID_INPUT"

        assert (await client.list_tools()).tools  # still serving
    logged = log.read_text()
    assert "Traceback" not in logged
    assert not [line for line in logged.splitlines() if " ERROR " in line], logged[-3000:]


async def test_prompt_arguments_missing_or_invalid_answer_invalid_params(tmp_path: Path) -> None:
    """Through a prompt registered the ordinary way: missing and ill-typed arguments are -32602, a failure of
    ours on the caller's input -32602 with its message, an unexpected one -32603 with no details."""
    server, _ = build_server(load_settings({"OPENROUTER_MCP_HOME": str(tmp_path)}, simulate=True))

    @server.prompt(name="needs_a_count")
    def needs_a_count(model: str, count: int) -> str:
        if model == "no/such-model":
            raise ToolFailure(ErrorCode.MODEL_NOT_FOUND, "There is no model no/such-model; search_models lists them.")
        if model == "broken":
            raise RuntimeError("a bug with secret internals")
        return f"{count} times {model}"

    for mode in ERAS:
        async with Client(server, mode=mode) as client:
            assert (await client.get_prompt("needs_a_count", {"model": "a/b", "count": "3"})).messages
            missing = await rpc_error(client.get_prompt("needs_a_count", {"model": "a/b"}))
            assert missing.code == INVALID_PARAMS and "count" in missing.message and missing.data == {"fields": ["count"]}
            wrong = await rpc_error(client.get_prompt("needs_a_count", {"model": "a/b", "count": "many"}))
            assert wrong.code == INVALID_PARAMS and "count" in wrong.message
            ours = await rpc_error(client.get_prompt("needs_a_count", {"model": "no/such-model", "count": "1"}))
            assert ours.code == INVALID_PARAMS and ours.message.startswith("There is no model") and ours.data == {"code": "MODEL_NOT_FOUND"}
            broken = await rpc_error(client.get_prompt("needs_a_count", {"model": "broken", "count": "1"}))
            assert broken.code == INTERNAL_ERROR and "secret internals" not in broken.message and "server log" in broken.message
