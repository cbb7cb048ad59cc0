"""In stdio mode nothing but JSON-RPC reaches stdout, even when the built-in simulator runs in the same
process and a tool fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_only_json_rpc_reaches_stdout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(tmp_path)
    env["OPENROUTER_MCP_LOG_LEVEL"] = "debug"
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        # The server's log records then go to the client too: as JSON-RPC notifications, never as text.
        {"jsonrpc": "2.0", "id": 6, "method": "logging/setLevel", "params": {"level": "debug"}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "chat_completion", "arguments": {"messages": [{"role": "user", "content": "hi"}]}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "chat_completion", "arguments": {"model": "sim/internal-error", "messages": [{"role": "user", "content": "hi"}]}}},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "chat_completion", "arguments": {"temperature": "hot", "messages": []}}},
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "chat_completion", "arguments": {"model": "sim/server-error-once", "messages": [{"role": "user", "content": "hi"}]}}},
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "openrouter_mcp", "serve", "--simulate"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    answers: dict[int, dict[str, object]] = {}
    lines: list[bytes] = []
    for req in requests:
        proc.stdin.write(json.dumps(req).encode() + b"\n")
        proc.stdin.flush()
        if "id" not in req:
            continue
        while req["id"] not in answers:
            line = proc.stdout.readline()
            assert line, proc.stderr.read().decode() if proc.stderr else "server closed stdout"
            lines.append(line)
            message = json.loads(line)
            assert message["jsonrpc"] == "2.0"
            if "id" in message:
                answers[message["id"]] = message
    rest, stderr = proc.communicate(timeout=20)  # closes stdin: the server exits
    for line in rest.splitlines():
        assert json.loads(line)["jsonrpc"] == "2.0"
    assert answers[3]["result"]["isError"] is False  # type: ignore[index]
    assert answers[4]["result"]["isError"] is True  # type: ignore[index]
    assert answers[5]["result"]["structuredContent"]["error"]["code"] == "INVALID_INPUT"  # type: ignore[index]
    assert b"simulator listening" in stderr  # logs went to stderr
    assert answers[6]["result"] == {}
    notes = [json.loads(line) for line in lines if b'"notifications/message"' in line]
    assert any("retrying" in str(n["params"]["data"]) for n in notes), notes  # and to the client that asked
