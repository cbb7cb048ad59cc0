"""The team server's network edges over real HTTP: Host and Origin checks on every bind (and the official
DNS rebinding conformance scenario), the refusal to serve a network address without authentication, the
client's address behind trusted proxies as the ledger records it, and the per-user stream cap."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.storage import open_storage

from .conftest import HttpServer, free_port, server_env
from .test_conformance import ROOT, conformance_command
from .test_team_auth import CHAT_ARGS, add_user, connected, post, stopped_log


@pytest.fixture(scope="module")
def open_server(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """Bound to every address with --no-auth and no users: open, but only to the names it answers to."""
    home = tmp_path_factory.mktemp("open")
    env = server_env(
        simulator,
        home / "home",
        OPENROUTER_MCP_ALLOWED_HOSTS="mcp.example.com,10.0.0.5:8443",
        OPENROUTER_MCP_ALLOWED_ORIGINS="https://app.example.com",
        OPENROUTER_MCP_PUBLIC_URL="https://public.example.com",
    )
    server = HttpServer(env, home / "server.log", host="0.0.0.0", args=["--no-auth"])
    yield server
    log = stopped_log(server)
    assert "WARNING: --no-auth" in log.split("Streamable HTTP on")[0]


@pytest.mark.parametrize(
    ("host", "origin", "status"),
    [
        ("evil.example.com", None, 421),
        ("evil.example.com:{port}", "http://evil.example.com:{port}", 421),
        ("10.0.0.5:{port}", None, 421),  # allowed on 8443 only
        ("127.0.0.1:{port}", "http://evil.example.com", 403),
        ("127.0.0.1:{port}", "null", 403),
        ("127.0.0.1:{port}", "https://app.example.com:444", 403),
        ("127.0.0.1:{port}", None, 200),
        ("localhost:{port}", "http://localhost:3000", 200),
        ("[::1]:{port}", "http://[::1]:{port}", 200),
        ("mcp.example.com", None, 200),  # an allowed name without a port: any port
        ("MCP.example.com:9999", "https://app.example.com", 200),
        ("10.0.0.5:8443", "https://public.example.com", 200),
        ("public.example.com", "https://public.example.com:443", 200),
    ],
)
async def test_only_allowed_hosts_and_origins_reach_a_server_on_every_address(open_server: HttpServer, host: str, origin: str | None, status: int) -> None:
    headers = {"Host": host.format(port=open_server.port)}
    if origin is not None:
        headers["Origin"] = origin.format(port=open_server.port)
    answer = await post(open_server.url, headers=headers)
    assert answer.status_code == status, answer.text
    if status != 200:
        assert answer.json()["error_description"]


async def test_a_foreign_host_is_refused_on_every_path(open_server: HttpServer) -> None:
    async with httpx2.AsyncClient() as http:
        for path in ("/", "/.well-known/oauth-protected-resource", "/nothing"):
            answer = await http.get(f"http://127.0.0.1:{open_server.port}{path}", headers={"Host": "evil.example.com"})
            assert answer.status_code == 421, path


def test_the_dns_rebinding_conformance_scenario_passes(open_server: HttpServer, tmp_path: Path) -> None:
    command = [*conformance_command(), "server", "--url", open_server.url, "--scenario", "dns-rebinding-protection"]
    command += ["--expected-failures", str(ROOT / "tests" / "conformance-baseline.yml")]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_a_network_address_without_users_or_oauth_is_refused_at_start(simulator: RunningSimulator, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "openrouter_mcp", "serve", "--http", "--host", "0.0.0.0", "--port", str(free_port())],
        env=server_env(simulator, tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    message = run.stderr.strip().splitlines()[-1]
    assert "openrouter-mcp users add" in message and "--no-auth" in message, run.stderr


async def test_a_user_closes_a_no_auth_server(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path / "home")
    server = HttpServer(env, tmp_path / "server.log", host="0.0.0.0", args=["--no-auth"])
    try:
        assert (await post(server.url)).status_code == 200
        token = add_user(env, "kim")
        assert (await post(server.url)).status_code == 401
        assert (await post(server.url, token=token)).status_code == 200
    finally:
        stopped_log(server)


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted peer", "trusted proxy"])
async def test_the_ledger_records_a_forwarded_address_only_from_a_trusted_proxy(simulator: RunningSimulator, tmp_path: Path, trusted: bool) -> None:
    extra = {"OPENROUTER_MCP_TRUSTED_PROXIES": "127.0.0.1/32"} if trusted else {}
    env = server_env(simulator, tmp_path / "home", **extra)
    server = HttpServer(env, tmp_path / "server.log")
    try:
        # A proxy chain: the client claims 198.51.100.9, the first proxy saw 203.0.113.7, ours is 127.0.0.1.
        async with connected(server.url, **{"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}) as client:
            result = await client.call_tool("chat_completion", CHAT_ARGS)
            assert not result.is_error, result.structured_content
    finally:
        stopped_log(server)
    storage = await open_storage(f"sqlite:///{tmp_path}/home/openrouter-mcp.db")
    try:
        rows = await storage.ledger(start=datetime.now(UTC) - timedelta(hours=1), end=datetime.now(UTC) + timedelta(hours=1))
    finally:
        await storage.close()
    assert [r.caller.rsplit("@", 1)[1] if r.caller else None for r in rows] == ["203.0.113.7" if trusted else "127.0.0.1"]


async def test_streams_over_the_per_user_cap_get_429(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path / "home", OPENROUTER_MCP_MAX_STREAMS_PER_USER="2")
    tokens = {name: add_user(env, name) for name in ("lee", "max")}
    server = HttpServer(env, tmp_path / "server.log")
    get_headers = {"Accept": "text/event-stream"}
    try:
        async with httpx2.AsyncClient(timeout=30) as http:

            async def open_stream(name: str) -> httpx2.Response:
                request = http.build_request("GET", server.url, headers={**get_headers, "Authorization": f"Bearer {tokens[name]}"})
                return await http.send(request, stream=True)

            held = [await open_stream("lee"), await open_stream("lee")]
            assert [r.status_code for r in held] == [200, 200] and all(r.headers["content-type"].startswith("text/event-stream") for r in held)

            over = await open_stream("lee")
            assert over.status_code == 429 and over.headers["retry-after"]
            await over.aread()
            assert "OPENROUTER_MCP_MAX_STREAMS_PER_USER" in over.json()["error_description"]
            # Calls are not streams held open: lee's calls still run while the cap is reached.
            assert (await post(server.url, token=tokens["lee"])).status_code == 200
            other = await open_stream("max")  # the cap is per user
            assert other.status_code == 200
            await other.aclose()

            await held.pop().aclose()
            deadline = time.monotonic() + 10
            while (again := await open_stream("lee")).status_code == 429 and time.monotonic() < deadline:
                await again.aclose()
                await asyncio.sleep(0.1)
            assert again.status_code == 200  # a closed stream frees its place
            await again.aclose()
            for response in held:
                await response.aclose()
    finally:
        stopped_log(server)
