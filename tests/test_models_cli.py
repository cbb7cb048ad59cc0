"""The `models` command: every example in docs/models.md runs and prints what the page shows, and the
command works against any OpenRouter-compatible base URL without a key."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from openrouter_mcp.simulator.server import RunningSimulator

DOC = Path(__file__).resolve().parents[1] / "docs" / "models.md"


def examples() -> list[tuple[str, str]]:
    """(command, expected output) for each `$ openrouter-mcp models ...` line in the page's console blocks."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), flags=re.S):
        lines = block.rstrip("\n").split("\n")
        assert lines[0].startswith("$ openrouter-mcp models"), lines[0]
        out.append((lines[0][2:], "\n".join(lines[1:])))
    return out


def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)[1:]
    return subprocess.run([sys.executable, "-m", "openrouter_mcp", *args], env=env, capture_output=True, text=True, timeout=60)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    return {**env, "OPENROUTER_MCP_HOME": str(home), **extra}


@pytest.mark.parametrize(("command", "expected"), examples(), ids=[c for c, _ in examples()])
def test_every_example_in_the_docs_runs_and_prints_what_the_docs_show(command: str, expected: str, tmp_path: Path) -> None:
    done = run(command, clean_env(tmp_path))
    printed = (done.stdout + done.stderr).rstrip("\n")
    if "--json" in command:
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["models"][0]["id"] == "openai/gpt-4o" and out["total"] > 1 and out["stale"] is False
        return
    assert printed == expected, f"docs/models.md is out of date for `{command}`; it now prints:\n{printed}"
    assert done.returncode == (2 if "antropic" in command else 0)


def test_the_command_needs_no_key_against_a_live_api(simulator: RunningSimulator, tmp_path: Path) -> None:
    done = run("openrouter-mcp models sonnet 4.5 --limit 1", clean_env(tmp_path, OPENROUTER_BASE_URL=simulator.api_url))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("anthropic/claude-sonnet-4.5 ")
    assert (tmp_path / "cache" / "models.json").exists()
