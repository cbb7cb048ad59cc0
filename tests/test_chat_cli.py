"""`openrouter-mcp chat`: the reply streams to stdout as it arrives with the cost on stderr, or comes as
one JSON object; `-` reads the prompt from stdin; an upstream error exits 1 with its message and bad
usage exits 2; every call lands in the ledger exactly once, as a chat_completion tool call would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import server_env

COMMAND = [sys.executable, "-m", "openrouter_mcp"]
DOC = Path(__file__).resolve().parents[1] / "docs" / "chat.md"


def sim_env(home: Path) -> dict[str, str]:
    """For --simulate: no OPENROUTER_* setting but the home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(home)
    return env


def cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)


def ledger(env: dict[str, str], *, simulate: bool = False) -> dict[str, Any]:
    done = cli(["usage", "--json", *(["--simulate"] if simulate else [])], env)
    assert done.returncode == 0, done.stderr
    stats: dict[str, Any] = json.loads(done.stdout)
    return stats


def test_the_reply_streams_to_stdout_in_pieces_and_the_cost_follows_on_stderr(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path)
    started = time.monotonic()
    proc = subprocess.Popen([*COMMAND, "chat", "-m", "sim/trickle", "Name three uses of a ledger."], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    arrivals: list[tuple[float, bytes]] = []
    while piece := os.read(proc.stdout.fileno(), 4096):
        arrivals.append((time.monotonic() - started, piece))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    # sim/trickle sends about 10 tokens a second, 4 words an event: the reply arrives over seconds, in pieces.
    assert len(arrivals) >= 3, arrivals
    assert arrivals[-1][0] - arrivals[0][0] > 0.5, arrivals
    text = b"".join(piece for _, piece in arrivals).decode()
    assert text.endswith("\n") and len(text.split()) >= 10
    footer = err.decode().strip().splitlines()[-1]
    assert footer.startswith("— sim/trickle via ") and " tokens · $" in footer and " · gen-" in footer
    stats = ledger(env)
    assert stats["summary"]["total_requests"] == 1 and stats["summary"]["total_errors"] == 0
    assert [(g["tool"], g["requests"]) for g in stats["by_tool"]] == [("chat_completion", 1)]


def test_a_prompt_from_stdin_comes_back_as_one_json_object_and_one_ledger_row(tmp_path: Path) -> None:
    env = sim_env(tmp_path)
    done = cli(["chat", "--simulate", "--json", "--system", "Answer briefly.", "-"], env, stdin="What is a ledger for?\n")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # the whole of stdout: nothing streamed before it
    assert set(out) == {"text", "model", "provider", "finish_reason", "usage", "cost_usd", "generation_id"}
    assert out["model"] == "openai/gpt-4o-mini" and out["finish_reason"] == "stop" and out["generation_id"].startswith("gen-")
    assert "ledger" in out["text"]  # the simulator's reply is about the prompt it got
    usage = out["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    stats = ledger(env, simulate=True)
    assert stats["summary"]["total_requests"] == 1
    assert stats["summary"]["total_cost"] == out["cost_usd"] > 0


def test_an_upstream_error_exits_1_with_its_message_once_and_is_in_the_ledger(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path)
    done = cli(["chat", "-m", "sim/no-credits", "Hello"], env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("openrouter-mcp chat: OpenRouter answered 402: Insufficient credits.")
    assert done.stderr.count("https://openrouter.ai/settings/credits") == 1
    ok = cli(["chat", "Hello"], env)
    assert ok.returncode == 0, ok.stderr
    summary = ledger(env)["summary"]
    assert (summary["total_requests"], summary["total_errors"]) == (2, 1)


def test_bad_usage_exits_2_and_sends_nothing(tmp_path: Path) -> None:
    env = sim_env(tmp_path)
    for args, stdin, expected in [
        (["chat", "--simulate", "-"], "  \n", "the prompt is empty"),
        (["chat", "--simulate", "--max-tokens", "0", "Hi"], None, "max_tokens: 0 is out of range"),
        (["chat", "--simulate", "-m", "gpt 4o", "Hi"], None, "model:"),
        (["chat", "--simulate"], None, "PROMPT"),
    ]:
        done = cli(args, env, stdin=stdin)
        assert done.returncode == 2, (args, done.stderr)
        assert expected in done.stderr and done.stdout == ""
    assert ledger(env, simulate=True)["summary"]["total_requests"] == 0


def test_a_mistyped_model_costs_nothing_and_names_the_closest_id_once(tmp_path: Path) -> None:
    env = sim_env(tmp_path)
    done = cli(["chat", "--simulate", "-m", "openai/gpt-4o-mnii", "Hi"], env)
    assert done.returncode == 1
    assert "Did you mean openai/gpt-4o-mini?" in done.stderr
    assert done.stderr.count("Did you mean") == 1 and "?." not in done.stderr
    assert ledger(env, simulate=True)["summary"]["total_requests"] == 0


def examples() -> list[tuple[str, str]]:
    """(command, what the terminal shows) for each console block of docs/chat.md."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), flags=re.S):
        command, *shown = block.rstrip("\n").split("\n")
        assert command.startswith("$ ") and "openrouter-mcp chat" in command, command
        out.append((command[2:], "\n".join(shown)))
    return out


@pytest.mark.parametrize(("command", "shown"), examples(), ids=[c for c, _ in examples()])
def test_every_example_in_the_docs_runs_as_shown(command: str, shown: str, tmp_path: Path) -> None:
    env = sim_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # where `openrouter-mcp` is
    done = subprocess.run(["bash", "-c", command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == (1 if "sim/no-credits" in command or "mnii" in command else 0), done.stderr

    def generation_ids_masked(text: str) -> str:
        return re.sub(r"gen-[0-9a-f-]+", "gen-…", text.rstrip("\n"))

    printed = generation_ids_masked(done.stdout + done.stderr)
    assert printed == generation_ids_masked(shown), f"docs/chat.md is out of date for `{command}`; it now prints:\n{printed}"
