"""Shared fixtures: the simulator as a real HTTP server on loopback, and our server as a subprocess
driven by the `mcp` SDK's client over stdio and over Streamable HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.simulator.server import RunningSimulator, start_in_thread


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    sim = start_in_thread()
    yield sim
    sim.stop()


class SimLog:
    """Reads the simulator's request log over HTTP, as any client would."""

    def __init__(self, sim: RunningSimulator) -> None:
        self.url = sim.url

    def entries(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/_sim/requests") as resp:
            return list(json.load(resp)["data"])

    def usage_usd(self) -> str:
        with urllib.request.urlopen(self.url + "/_sim/requests") as resp:
            return str(json.load(resp)["usage_usd"])

    def chats(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.entries()[since:] if e["path"].endswith("/chat/completions")]

    def mark(self) -> int:
        return len(self.entries())


@pytest.fixture(scope="session")
def sim_log(simulator: RunningSimulator) -> SimLog:
    return SimLog(simulator)


def server_env(simulator: RunningSimulator, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env.update(
        OPENROUTER_BASE_URL=simulator.api_url,
        OPENROUTER_API_KEY=SIMULATOR_KEY,
        OPENROUTER_MCP_HOME=str(home),
        OPENROUTER_MCP_RETRY_MAX_WAIT_S="3",
        OPENROUTER_PROVIDER_DATA_COLLECTION="deny",
    )
    env.update(extra)
    return env


class ClientHolder:
    """Owns an `mcp.Client` inside one task (anyio scopes must be exited by the task that entered them)
    while tests in other tasks call it."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.client: Client | None = None
        self.error: BaseException | None = None

    async def _run(self) -> None:
        try:
            async with Client(self._target, read_timeout_seconds=120) as client:
                self.client = client
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # surfaced to the waiting fixture
            self.error = exc
            self._ready.set()

    async def __aenter__(self) -> Client:
        self._task = asyncio.create_task(self._run())
        await self._ready.wait()
        if self.client is None:
            raise RuntimeError(f"could not connect: {self.error!r}")
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 20)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpServer:
    """`openrouter-mcp serve --http` as a subprocess, bound to `host` (reached on 127.0.0.1), with any
    further `serve` arguments."""

    def __init__(self, env: dict[str, str], log_path: Path, *, host: str = "127.0.0.1", args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openrouter_mcp", "serve", "--http", "--host", host, "--port", str(self.port), *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"HTTP server exited: {log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("HTTP server did not start in 30 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database on each backend: a SQLite file, and a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/db/state.db"
        return
    from .pg import schema_url

    async with schema_url(request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")) as url:
        yield url


@pytest.fixture(scope="session")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def stdio_params(simulator: RunningSimulator, server_home: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=server_env(simulator, server_home))


@pytest.fixture(scope="session")
async def stdio_client(stdio_params: StdioServerParameters) -> AsyncIterator[Client]:
    async with ClientHolder(stdio_params) as client:
        yield client


@pytest.fixture(scope="session")
def http_server(simulator: RunningSimulator, server_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    server = HttpServer(server_env(simulator, server_home), tmp_path_factory.mktemp("logs") / "http.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def http_client(http_server: HttpServer) -> AsyncIterator[Client]:
    async with ClientHolder(http_server.url) as client:
        yield client


@pytest.fixture(params=["stdio", "http"])
def mcp_client(request: pytest.FixtureRequest) -> Client:
    """The same tests over both transports."""
    return request.getfixturevalue(f"{request.param}_client")  # type: ignore[no-any-return]


def error_of(result: Any) -> dict[str, Any]:
    assert result.is_error, f"expected an error, got {result.structured_content}"
    assert result.structured_content is not None
    error: dict[str, Any] = result.structured_content["error"]
    text = result.content[0].text
    assert "Traceback" not in text and "sk-or-" not in text
    return error


@contextlib.asynccontextmanager
async def loopback_api(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> AsyncIterator[str]:
    """A hand-written upstream on a free loopback port, for answers the simulator must not give; yields its
    API root (what OPENROUTER_BASE_URL would be)."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api/v1"
    finally:
        server.close()
        await server.wait_closed()


async def only_ledger_row_once_costed(database_url: str) -> Any:
    """The ledger's one row, once its cost is known (a cancelled generation's cost comes from the reconciler,
    a moment after the cancel): waits up to 10 s, then returns the row as it is."""
    from datetime import UTC, datetime, timedelta

    from openrouter_mcp.storage import open_storage

    storage = await open_storage(database_url)
    try:
        for _ in range(50):
            (row,) = await storage.ledger(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime.now(UTC) + timedelta(days=1))
            if row.cost_usd is not None:
                break
            await asyncio.sleep(0.2)
    finally:
        await storage.close()
    return row


def send_json(handler: Any, status: int, body: Any) -> None:
    """Answer a `BaseHTTPRequestHandler` request with `body` as JSON (the tests' small stand-in servers)."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
