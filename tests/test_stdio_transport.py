"""The stdio transport (core/stdio.py): over pipes, as MCP clients start servers, the event loop reads and
writes them itself; with stdin from a file it is the SDK's threaded transport. Both answer the same, keep
stdout for JSON-RPC alone, take a message longer than asyncio's default line limit, and keep serving after
a line that is not JSON-RPC."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tty
from pathlib import Path
from typing import Any

from openrouter_mcp.core import stdio

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env.update(OPENROUTER_MCP_HOME=str(home), OPENROUTER_MCP_LOG_LEVEL="warning")
    return env


def _call(i: int, text: str, model: str = "sim/instant") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "chat_completion", "arguments": {"model": model, "messages": [{"role": "user", "content": text}]}}}


def _session(home: Path, lines: list[bytes], *, through_a_terminal: bool = False) -> tuple[list[dict[str, Any]], bytes]:
    """Every line the server writes to stdout for `lines` (each parsed: a non-JSON line fails the test).
    stdin stays open until every request is answered (at end of input the server answers the calls
    still running with "Connection closed", on either transport). `through_a_terminal`: stdin is a
    pseudo-terminal in raw mode, which the loop does not serve (the SDK's threads do)."""
    wanted = {json.loads(line)["id"] for line in lines if line.startswith(b"{") and b'"id"' in line}
    argv = [sys.executable, "-m", "openrouter_mcp", "serve", "--simulate"]
    if through_a_terminal:
        leader, follower = pty.openpty()
        tty.setraw(follower)
        proc = subprocess.Popen(argv, stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(home))
        os.close(follower)
        send = lambda data: os.write(leader, data)  # noqa: E731
    else:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(home))
        assert proc.stdin is not None

        def send(data: bytes) -> None:
            proc.stdin.write(data)  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]

    assert proc.stdout is not None
    for line in lines:
        send(line)
    messages: list[dict[str, Any]] = []
    answered: set[Any] = set()
    while not wanted <= answered:
        raw = proc.stdout.readline()
        assert raw, proc.stderr.read().decode()[-3000:] if proc.stderr else "stdout closed"
        messages.append(json.loads(raw))
        answered.add(messages[-1].get("id"))
    if through_a_terminal:
        proc.terminate()
        os.close(leader)
    _, err = proc.communicate(timeout=30)
    return messages, err


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def test_pipes_are_served_by_the_loop_and_a_file_by_the_sdk(tmp_path: Path) -> None:
    probe = "from openrouter_mcp.core import stdio; print(stdio.on_the_loop())"
    piped = subprocess.run([sys.executable, "-c", probe], stdin=subprocess.PIPE, capture_output=True, text=True, timeout=30)
    assert piped.stdout.strip() == "True"
    (tmp_path / "in").write_text("")
    with (tmp_path / "in").open() as stdin:
        from_file = subprocess.run([sys.executable, "-c", probe], stdin=stdin, capture_output=True, text=True, timeout=30)
    assert from_file.stdout.strip() == "False"
    leader, follower = pty.openpty()
    try:
        from_terminal = subprocess.run([sys.executable, "-c", probe], stdin=follower, capture_output=True, text=True, timeout=30)
    finally:
        os.close(leader)
        os.close(follower)
    assert from_terminal.stdout.strip() == "False"
    assert stdio.LINE_LIMIT > 64 * 1024


def test_both_transports_answer_the_same(tmp_path: Path) -> None:
    lines = [_line(INIT), _line(INITIALIZED), *(_line(_call(i, f"hello {i}")) for i in range(2, 6))]
    answers = {}
    for name, terminal in (("loop", False), ("sdk", True)):
        messages, _ = _session(tmp_path / name, lines, through_a_terminal=terminal)
        by_id = {m["id"]: m for m in messages if "id" in m}
        assert sorted(by_id) == [1, 2, 3, 4, 5], (name, messages)
        answers[name] = {i: by_id[i]["result"]["structuredContent"]["text"] for i in range(2, 6)}
        assert all(not by_id[i]["result"]["isError"] for i in range(2, 6))
    assert answers["loop"] == answers["sdk"]


def test_a_message_past_asyncios_default_line_limit_is_read(tmp_path: Path) -> None:
    """The whole of a 300 KB line reaches the tool (asyncio's default line limit is 64 KiB): its prompt is
    priced in the estimate a tiny max_cost_usd refuses, which nothing is sent upstream for."""

    def capped(i: int, text: str) -> bytes:
        call = _call(i, text, "openai/gpt-4o-mini")
        call["params"]["arguments"]["max_cost_usd"] = 1e-9
        return _line(call)

    messages, err = _session(tmp_path, [_line(INIT), _line(INITIALIZED), capped(2, "word " * 60_000), capped(3, "word")])
    estimates = {}
    for m in messages:
        if m.get("id") in (2, 3):
            error = m["result"]["structuredContent"]["error"]
            assert error["code"] == "BUDGET_EXCEEDED", err.decode()[-2000:]
            estimates[m["id"]] = error["details"]["estimate_usd"]
    short_prompt_cost = estimates[3]
    assert estimates[2] > short_prompt_cost * 1.5 and estimates[2] - short_prompt_cost > 1e-3  # 60,000 words priced


def test_a_bad_line_is_answered_and_the_server_goes_on(tmp_path: Path) -> None:
    lines = [_line(INIT), _line(INITIALIZED), b"{this is not json\n", b"\xff\xfe not utf-8\n", _line(_call(2, "still here?"))]
    messages, _ = _session(tmp_path, lines)
    answer = next(m for m in messages if m.get("id") == 2)
    assert answer["result"]["isError"] is False
    assert all(m["jsonrpc"] == "2.0" for m in messages)


def test_a_child_process_writing_to_stdout_does_not_reach_the_wire(tmp_path: Path) -> None:
    """Descriptor 1 points at stderr while the server runs (the SDK's claim, kept by this transport)."""
    script = (
        "import asyncio, subprocess, sys\n"
        "from openrouter_mcp.core.stdio import stdio_transport\n"
        "async def main():\n"
        "    async with stdio_transport() as (read, write):\n"
        "        subprocess.run(['echo', 'stray output of a child'])\n"
        "        print('stray print', flush=True)\n"
        "        await write.aclose()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], stdin=subprocess.PIPE, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""
    assert b"stray output of a child" in done.stderr and b"stray print" in done.stderr
