"""Installing without a checkout: the wheel and sdist hold the whole package and its metadata; the wheel,
installed into a fresh venv (the only one these tests make), runs `openrouter-mcp demo`, and runs through
`uvx` and `pipx run` too; the Claude Desktop bundle validates and packs with the official mcpb CLI and serves through
`uv run` exactly as its manifest tells the app to; server.json is valid for the MCP registry.

Slow (a build and a venv, about a minute). Outside CI a missing tool (npx, uv, pipx) skips its check; under CI
it fails, since .ci/run installs them."""

from __future__ import annotations

import email.parser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import jsonschema
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import server_env

ROOT = Path(__file__).resolve().parents[1]
PROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
# The settings a user gives the bundle and the registry entry, and the variables they become.
SETTINGS = {
    "openrouter_api_key": "OPENROUTER_API_KEY",
    "daily_budget_usd": "OPENROUTER_MCP_DAILY_BUDGET_USD",
    "monthly_budget_usd": "OPENROUTER_MCP_MONTHLY_BUDGET_USD",
    "input_dir": "OPENROUTER_INPUT_DIR",
    "output_dir": "OPENROUTER_OUTPUT_DIR",
}

pytestmark = pytest.mark.timeout(600)


def need(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must run this check")
    pytest.skip(reason)


def run(command: list[str | Path], env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(part) for part in command], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command} exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def outside_env(simulator: RunningSimulator, home: Path) -> dict[str, str]:
    """The test servers' environment, without the checkout's venv."""
    env = server_env(simulator, home)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    return env


def build_mcpb_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_mcpb", ROOT / "scripts" / "build_mcpb.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_files() -> set[str]:
    """Every file of the package under src/, as a path inside the package's distribution."""
    src = ROOT / "src"
    return {path.relative_to(src).as_posix() for path in (src / "openrouter_mcp").rglob("*") if path.is_file() and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("build") is None:
        need("the `build` package is not installed (it is in the dev extras)")
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT])
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (its dependencies from the machine's package indexes)."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", root])
    run([root / "bin" / "python", "-m", "pip", "install", "-q", wheel], timeout=540)
    return root


def test_the_wheel_and_sdist_hold_the_whole_package_and_its_metadata(dist: Path, wheel: Path) -> None:
    assert {"description", "readme", "license", "license-files", "authors", "keywords", "classifiers", "urls", "requires-python", "scripts"} <= PROJECT.keys()
    info = f"openrouter_mcp-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = email.parser.Parser().parsestr(whl.read(f"{info}/METADATA").decode())
        entry_points = whl.read(f"{info}/entry_points.txt").decode()
    assert source_files() - names == set(), "files under src/ missing from the wheel"
    assert f"{info}/licenses/LICENSE" in names
    assert "openrouter-mcp = openrouter_mcp.cli:main" in entry_points

    assert (metadata["Name"], metadata["Version"], metadata["Summary"]) == (PROJECT["name"], VERSION, PROJECT["description"])
    assert metadata["Requires-Python"] == PROJECT["requires-python"]
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Author"] == PROJECT["authors"][0]["name"]
    assert set(metadata["Keywords"].split(",")) == set(PROJECT["keywords"])
    assert set(metadata.get_all("Classifier", [])) == set(PROJECT["classifiers"])
    assert len(metadata.get_all("Project-URL", [])) == len(PROJECT["urls"])
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload() == (ROOT / "README.md").read_text()

    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        prefix = f"openrouter_mcp-{VERSION}/"
        held = {name.removeprefix(prefix) for name in tar.getnames()}
    assert {f"src/{name}" for name in source_files()} - held == set(), "files under src/ missing from the sdist"
    assert {"pyproject.toml", "README.md", "LICENSE", "server.json", "packaging/mcpb/manifest.json", "scripts/build_mcpb.py"} <= held
    assert not any(name.startswith(".ci/") for name in held)


def test_the_wheel_runs_from_a_fresh_venv(venv: Path, simulator: RunningSimulator, tmp_path: Path) -> None:
    cli = venv / "bin" / "openrouter-mcp"
    env = outside_env(simulator, tmp_path / "home")
    where = run([venv / "bin" / "python", "-c", "import openrouter_mcp; print(openrouter_mcp.__file__)"], env, tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv), where

    demo = run([cli, "demo"], env, tmp_path).stdout
    assert "Connected to openrouter-mcp over stdio" in demo and "(simulated)" in demo, demo

    # `chat PROMPT` talks to the test simulator like any configured server: the reply on stdout, the cost
    # footer after it on stderr.
    chat = run([cli, "chat", "hi", "-m", "openai/gpt-4o-mini"], env, tmp_path)
    assert "“hi”" in chat.stdout, chat.stdout
    assert "openai/gpt-4o-mini via " in chat.stderr and " · $0.0" in chat.stderr, chat.stderr


def test_uvx_runs_the_wheel_without_installing_it(wheel: Path, simulator: RunningSimulator, tmp_path: Path) -> None:
    uvx = shutil.which("uvx") or need("uv is not installed (pip install uv)")
    demo = run([uvx, "--from", wheel, "openrouter-mcp", "demo"], outside_env(simulator, tmp_path / "home"), tmp_path).stdout
    assert "Connected to openrouter-mcp over stdio" in demo, demo


def test_pipx_runs_the_wheel_without_installing_it(wheel: Path, simulator: RunningSimulator, tmp_path: Path) -> None:
    pipx = shutil.which("pipx") or need("pipx is not installed (pip install pipx)")
    env = {**outside_env(simulator, tmp_path / "home"), "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "pipx-bin")}
    demo = run([pipx, "run", "--spec", wheel, "openrouter-mcp", "demo"], env, tmp_path).stdout
    assert "Connected to openrouter-mcp over stdio" in demo, demo


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    script = build_mcpb_script()
    mcpb = script.mcpb_command() or need("the mcpb CLI is not installed (.ci/run installs it into .mcpb-cli/) and there is no npx")
    built: Path = script.build(tmp_path_factory.mktemp("mcpb"), mcpb)
    return built


def test_the_claude_desktop_bundle_validates_packs_and_declares_the_settings(bundle: Path) -> None:
    assert bundle.name == f"openrouter-mcp-{VERSION}.mcpb"
    with zipfile.ZipFile(bundle) as mcpb:
        names = set(mcpb.namelist())
        manifest = json.loads(mcpb.read("manifest.json"))
    assert {"manifest.json", "icon.png", "server/main.py", "pyproject.toml", "README.md", "LICENSE"} <= names
    assert {f"src/{name}" for name in source_files()} - names == set()
    assert not any("__pycache__" in name for name in names)
    assert manifest["version"] == VERSION
    assert manifest["compatibility"]["runtimes"] == {"python": PROJECT["requires-python"]}
    assert manifest["server"]["type"] == "uv"

    options = manifest["user_config"]
    assert manifest["server"]["mcp_config"]["env"] == {var: f"${{user_config.{key}}}" for key, var in SETTINGS.items()}
    types = {key: option["type"] for key, option in options.items()}
    assert types == {
        "openrouter_api_key": "string",
        "daily_budget_usd": "number",
        "monthly_budget_usd": "number",
        "input_dir": "directory",
        "output_dir": "directory",
    }
    assert options["openrouter_api_key"]["sensitive"] is True and options["openrouter_api_key"]["required"] is True
    # Claude Desktop passes an optional setting left blank as its literal `${user_config.…}` unless it has a
    # default (modelcontextprotocol/mcpb#250); an empty default reaches the server as unset.
    assert all(option.get("default") == "" for option in options.values() if not option.get("required"))


async def test_the_bundle_serves_through_uv_as_its_manifest_says(bundle: Path, simulator: RunningSimulator, tmp_path: Path) -> None:
    if shutil.which("uv") is None:
        need("uv is not installed (pip install uv)")
    installed = tmp_path / "extension"
    with zipfile.ZipFile(bundle) as mcpb:
        mcpb.extractall(installed)
    manifest = json.loads((installed / "manifest.json").read_text())
    # What the user typed in the app; the blank settings take their defaults, as the app does.
    values = {key: option.get("default") for key, option in manifest["user_config"].items()}
    values |= {"openrouter_api_key": SIMULATOR_KEY, "daily_budget_usd": 5}

    def substitute(text: str) -> str:
        text = text.replace("${__dirname}", str(installed))
        return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: str(values[m.group(1)]), text)

    config = manifest["server"]["mcp_config"]
    env = outside_env(simulator, tmp_path / "home") | {name: substitute(value) for name, value in config["env"].items()}
    params = StdioServerParameters(command=config["command"], args=[substitute(arg) for arg in config["args"]], env=env)
    async with Client(params, read_timeout_seconds=300) as client:
        assert len((await client.list_tools()).tools) > 10
        result = await client.call_tool("chat_completion", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["cost_usd"] > 0


def test_server_json_is_valid_for_the_mcp_registry() -> None:
    schema = json.loads((ROOT / "tests" / "schemas" / "server.schema.json").read_text())
    server = json.loads((ROOT / "server.json").read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(server)
    assert server["$schema"] == schema["$id"]
    assert server["version"] == VERSION

    (package,) = server["packages"]
    assert (package["registryType"], package["identifier"], package["version"]) == ("pypi", PROJECT["name"], VERSION)
    assert package["transport"] == {"type": "stdio"}
    assert [arg["value"] for arg in package["packageArguments"]] == ["serve"]
    variables = {var["name"]: var for var in package["environmentVariables"]}
    assert variables.keys() == set(SETTINGS.values())
    assert all(var["description"] for var in variables.values())
    assert [name for name, var in variables.items() if var.get("isSecret")] == ["OPENROUTER_API_KEY"]
