"""`openrouter-mcp bench`: the commands shown in docs/benchmarking.md run as shown and print the table
shown (timings aside), with a progress bar on stderr; an over-budget run is refused."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarking.md"
# Columns that do not depend on timing: rank, model, ok, quality, $/call, cost.
STABLE = (0, 1, 6, 7, 8, 9)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(home)
    return env


def _bench(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openrouter_mcp", *args], cwd=cwd, env=_env(cwd / "home"), capture_output=True, text=True, timeout=120)


def _documented_runs() -> list[tuple[list[str], list[str]]]:
    """(arguments, output lines) of every `$ openrouter-mcp bench` console block in the doc."""
    runs = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.DOTALL):
        command, *output = block.rstrip("\n").split("\n")
        assert command.startswith("$ openrouter-mcp bench "), command
        runs.append((shlex.split(command[2:])[1:], output))
    return runs


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_the_documented_runs_print_the_documented_table(tmp_path: Path) -> None:
    (tmp_path / "docs").symlink_to(REPO / "docs", target_is_directory=True)
    runs = _documented_runs()
    assert len(runs) == 2
    for args, documented in runs:
        done = _bench(args, tmp_path)
        assert done.returncode == 0, done.stderr
        printed = done.stdout.rstrip("\n").split("\n")
        assert printed[0] == documented[0], "the table's header changed: rerun the command and update the doc"
        table = [line for line in documented[1:] if line.strip() and line.lstrip()[0].isdigit()]
        got = printed[1 : 1 + len(table)]
        assert [[_cells(r)[i] for i in STABLE] for r in got] == [[_cells(r)[i] for i in STABLE] for r in table]
        pareto = next(line for line in documented if line.startswith("Pareto front"))
        assert pareto in printed
        calls = re.search(r": (\d+) calls", "\n".join(documented))
        assert calls is not None and f": {calls.group(1)} calls in " in done.stdout
        assert re.search(r"\[#{28}\] (\d+)/\1 ", done.stderr), done.stderr
        if "--html" in args:
            page = tmp_path / args[args.index("--html") + 1]
            assert 'id="latency-chart"' in page.read_text() and f"HTML report: {page}" in done.stdout


def test_an_over_budget_run_is_refused_before_it_starts(tmp_path: Path) -> None:
    done = _bench(["bench", "--simulate", "--models", "bench/swift,bench/steady", "--suite", "coding", "--max-cost", "0.0001"], tmp_path)
    assert done.returncode == 1
    assert "BUDGET_EXCEEDED" in done.stderr and "max_cost_usd" in done.stderr
    assert "#" not in done.stderr and done.stdout == ""
