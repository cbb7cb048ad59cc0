"""The Streamable HTTP server's event loop (cli/serve.py, decision 19's third addendum): uvloop's where it is
installed, asyncio's own where it is not, and the server answers the same on either."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from mcp import Client

from openrouter_mcp.cli.serve import http_loop
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import HttpServer, server_env

MESSAGES = [{"role": "user", "content": "Say hello."}]


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


async def _chat(url: str) -> None:
    async with Client(url) as client:
        result = await client.call_tool("chat_completion", {"model": "sim/instant", "messages": MESSAGES})
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["text"]


def test_the_loop_is_uvloops_when_installed() -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is a dependency on this platform; see pyproject.toml")
    factory = http_loop()
    assert factory is uvloop.new_event_loop
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the server's memory map from /proc")
async def test_http_server_answers_on_uvloop(simulator: RunningSimulator, tmp_path: Path) -> None:
    pytest.importorskip("uvloop", reason="uvloop is a dependency on this platform; see pyproject.toml")
    server = HttpServer(server_env(simulator, tmp_path / "home"), tmp_path / "http.log")
    try:
        await _chat(server.url)
        assert "uvloop/loop" in _maps(server.proc.pid)
    finally:
        server.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the server's memory map from /proc")
async def test_http_server_without_uvloop_answers_on_asyncio(simulator: RunningSimulator, tmp_path: Path) -> None:
    # A machine where uvloop cannot be imported (Windows, PyPy, a broken install): a package of that name
    # that fails to import, first on the path.
    shadow = tmp_path / "shadow" / "uvloop"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('uvloop is not available here')\n")
    env = server_env(simulator, tmp_path / "home", PYTHONPATH=str(shadow.parent))
    server = HttpServer(env, tmp_path / "http.log")
    try:
        await _chat(server.url)
        assert "uvloop" not in _maps(server.proc.pid)
        assert server.proc.poll() is None
    finally:
        server.stop()
    assert "Traceback" not in (tmp_path / "http.log").read_text()


async def test_a_server_without_oauth_does_not_load_pyjwt(simulator: RunningSimulator, tmp_path: Path) -> None:
    # PyJWT brings in most of `cryptography` (about 2 MB of the server's memory); only OAuth tokens need it.
    env = server_env(simulator, tmp_path / "home", PYTHONPROFILEIMPORTTIME="1")
    server = HttpServer(env, tmp_path / "http.log")
    try:
        await _chat(server.url)
    finally:
        server.stop()
    imported = {line.rsplit("|", 1)[-1].strip() for line in (tmp_path / "http.log").read_text().splitlines() if line.startswith("import time:")}
    assert "openrouter_mcp.web.oauth" in imported
    assert "jwt" not in imported
