"""The official MCP conformance suite (@modelcontextprotocol/conformance) against our server over
Streamable HTTP: the scenarios that apply to any server, with the documented expected failures."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import HttpServer

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "logging-set-level",
    "dns-rebinding-protection",
    "server-sse-polling",
    "server-sse-multiple-streams",
]


def conformance_command() -> list[str]:
    local = ROOT / ".conformance" / "node_modules" / ".bin" / "conformance"
    if local.exists():
        return [str(local)]
    reason = "the conformance suite is not installed (.ci/run installs it into .conformance/)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    if shutil.which("npx") is None:
        pytest.skip(reason + " and there is no npx")
    return ["npx", "-y", "@modelcontextprotocol/conformance@0.1.13"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario(http_server: HttpServer, scenario: str, tmp_path: Path) -> None:
    command = [*conformance_command(), "server", "--url", http_server.url, "--scenario", scenario, "--expected-failures", str(ROOT / "tests" / "conformance-baseline.yml")]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
