"""The chat stream as the gateway reads it straight from its transport: a body compressed against our
wishes is still read, an encoding we cannot read is a clear error, the environment's proxy is honoured,
and a request does not search sys.path for a library that is not installed."""

from __future__ import annotations

import asyncio
import gzip
import importlib.machinery
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from openrouter_mcp.config import load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.upstream.gateway import Gateway, proxy_for

from .conftest import SIMULATOR_KEY

USER = [{"role": "user", "content": "hello"}]


def sse(*texts: str) -> bytes:
    events = [{"id": "gen-local-1", "model": "local/model", "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in texts]
    events.append({"id": "gen-local-1", "model": "local/model", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "cost": 0.00001}})
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


@asynccontextmanager
async def one_shot_server(encoding: str, body: bytes) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback HTTP server that answers every request with `body`, declared as `encoding`, in chunks."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        requests.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: " + encoding.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 40):
            piece = body[i : i + 40]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/v1", requests
    finally:
        server.close()
        await server.wait_closed()


def gateway_at(base_url: str, key: str = "sk-or-test-0000") -> Gateway:
    return Gateway(load_settings({"OPENROUTER_MCP_HOME": "/tmp/openrouter-mcp-test", "OPENROUTER_API_KEY": key, "OPENROUTER_BASE_URL": base_url}))


async def test_a_stream_asks_for_no_compression_and_reads_gzip_when_sent_anyway() -> None:
    async with one_shot_server("gzip", gzip.compress(sse("Hello ", "there."))) as (url, requests):
        gateway = gateway_at(url)
        try:
            result = await gateway.chat({"model": "local/model", "messages": USER})
        finally:
            await gateway.aclose()
    assert b"accept-encoding: identity" in requests[0].lower()
    assert result.content == "Hello there."
    assert result.generation_id == "gen-local-1" and result.finish_reason == "stop"


async def test_a_stream_in_an_unreadable_encoding_is_a_clear_upstream_error() -> None:
    async with one_shot_server("br", b"\x0b\x02\x80hello\x03") as (url, _):
        gateway = gateway_at(url)
        try:
            with pytest.raises(ToolFailure) as info:
                await gateway.chat({"model": "local/model", "messages": USER})
        finally:
            await gateway.aclose()
    assert info.value.code is ErrorCode.UPSTREAM_ERROR
    assert "br" in info.value.message


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, "https://openrouter.ai/api/v1", "http://proxy.example:3128"),
        ({"HTTPS_PROXY": "proxy.example:3128"}, "https://openrouter.ai/api/v1", "http://proxy.example:3128"),
        ({"ALL_PROXY": "http://all.example:8080"}, "https://openrouter.ai/api/v1", "http://all.example:8080"),
        ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "openrouter.ai"}, "https://openrouter.ai/api/v1", None),
        ({"HTTP_PROXY": "http://proxy.example:3128"}, "https://openrouter.ai/api/v1", None),
        ({}, "https://openrouter.ai/api/v1", None),
    ],
)
def test_the_proxy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, expected: str | None) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url) == expected


async def test_a_request_searches_no_folders_for_missing_libraries(simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = gateway_at(simulator.api_url, SIMULATOR_KEY)
    searches: list[str] = []
    real = importlib.machinery.PathFinder.find_spec

    def counting(name: str, *args: Any, **kwargs: Any) -> Any:
        searches.append(name)
        return real(name, *args, **kwargs)

    try:
        await gateway.chat({"model": "sim/instant", "messages": USER})  # warm: the pool and any lazy imports
        monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", counting)
        for stream in (True, False, True):
            await gateway.chat({"model": "sim/instant", "messages": USER}, stream=stream)
    finally:
        monkeypatch.undo()
        await gateway.aclose()
    assert searches == [], f"each request searched sys.path for {sorted(set(searches))}"
