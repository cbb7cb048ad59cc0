"""Settings users of the two servers they move from (physics91/openrouter-mcp, stabgan/openrouter-mcp-multimodal)
already have in their environment: the ones that mean what ours mean work as they are, and `doctor` names every
OPENROUTER_* variable that does nothing here, with what to set instead."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.cli.doctor import known_variables
from openrouter_mcp.cli.seed_servers import SEEDS
from openrouter_mcp.config import SEED_ALIASES, load_settings
from openrouter_mcp.simulator.media import mp4_bytes
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, SimLog, server_env

ROOT = Path(__file__).resolve().parents[1]


def cli(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    base.update(OPENROUTER_MCP_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "openrouter_mcp", *args], env=base, capture_output=True, text=True, timeout=120)


async def client_for(env: dict[str, str]) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)
    async with ClientHolder(params) as client:
        yield client


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seed-env")
    (root / "in").mkdir()
    (root / "in" / "clip.mp4").write_bytes(mp4_bytes(2, 16))
    return root


@pytest.fixture(scope="module")
async def stabgan_client(simulator: RunningSimulator, folders: Path) -> AsyncIterator[Client]:
    """Our server started with the environment a stabgan user already had."""
    env = server_env(
        simulator,
        folders / "home",
        OPENROUTER_INPUT_DIR=str(folders / "in"),
        OPENROUTER_OUTPUT_DIR=str(folders / "out"),
        OPENROUTER_MCP_VIDEO_POLL_INTERVAL_S="0.1",
        OPENROUTER_PROVIDER_ORDER='["together","friendli"]',
        OPENROUTER_PROVIDER_IGNORE='["deepinfra"]',
        OPENROUTER_PROVIDER_QUANTIZATIONS='["FP8","bf16"]',
        OPENROUTER_DEFAULT_VIDEO_MODEL="qwen/qwen3-omni-30b-a3b-instruct",
        OPENROUTER_DEFAULT_VIDEO_GEN_MODEL="openai/sora-2",
    )
    async for client in client_for(env):
        yield client


async def test_json_array_provider_lists_reach_openrouter(stabgan_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await stabgan_client.call_tool("chat_completion", {"messages": [{"role": "user", "content": "hi"}], "model": "deepseek/deepseek-v3.2"})
    assert not result.is_error, result.structured_content
    (chat,) = sim_log.chats(mark)
    provider = chat["body"]["provider"]
    assert provider["order"] == ["together", "friendli"] and provider["ignore"] == ["deepinfra"] and provider["quantizations"] == ["fp8", "bf16"]
    assert result.structured_content["provider"] == "Together"


async def test_stabgan_video_model_variables_pick_the_default_models(stabgan_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    made = await stabgan_client.call_tool("generate_video", {"prompt": "a paper boat on a pond", "wait_seconds": 20})
    assert not made.is_error, made.structured_content
    posted = [e for e in sim_log.entries()[mark:] if e["method"] == "POST" and e["path"] == "/api/v1/videos"]
    assert [e["body"]["model"] for e in posted] == ["openai/sora-2"] and made.structured_content["model"] == "openai/sora-2"

    mark = sim_log.mark()
    seen = await stabgan_client.call_tool("analyze_video", {"video_path": "clip.mp4"})
    assert not seen.is_error, seen.structured_content
    assert [c["body"]["model"] for c in sim_log.chats(mark)] == ["qwen/qwen3-omni-30b-a3b-instruct"]


def test_our_names_win_over_the_seed_names() -> None:
    base = {"OPENROUTER_API_KEY": "sk-or-v1-abcdefgh", "OPENROUTER_MCP_HOME": "/tmp/orm-test"}
    theirs = {
        "OPENROUTER_DEFAULT_VIDEO_GEN_MODEL": "openai/sora-2",
        "OPENROUTER_DEFAULT_VIDEO_MODEL": "qwen/qwen3-omni-30b-a3b-instruct",
        "OPENROUTER_APP_NAME": "physics91 app",
    }
    alone = load_settings({**base, **theirs})
    assert (alone.media.models["generate_video"], alone.media.models["analyze_video"], alone.app_title) == (
        "openai/sora-2",
        "qwen/qwen3-omni-30b-a3b-instruct",
        "physics91 app",
    )
    ours = {
        "OPENROUTER_MCP_GENERATE_VIDEO_MODEL": "google/veo-3.1",
        "OPENROUTER_MCP_ANALYZE_VIDEO_MODEL": "google/gemini-2.5-flash",
        "OPENROUTER_APP_TITLE": "mine",
    }
    both = load_settings({**base, **theirs, **ours})
    assert (both.media.models["generate_video"], both.media.models["analyze_video"], both.app_title) == ("google/veo-3.1", "google/gemini-2.5-flash", "mine")


def test_a_malformed_json_provider_list_stops_the_server_with_the_fix(tmp_path: Path) -> None:
    out = cli(["serve"], tmp_path, OPENROUTER_API_KEY="sk-or-v1-x", OPENROUTER_PROVIDER_ORDER='["anthropic",openai]')
    assert out.returncode == 2 and out.stdout == ""
    assert "OPENROUTER_PROVIDER_ORDER='[\"anthropic\",openai]': not a valid JSON array" in out.stderr
    assert """OPENROUTER_PROVIDER_ORDER='["anthropic","openai"]'""" in out.stderr and "comma list such as anthropic,openai" in out.stderr


def test_doctor_names_an_unknown_variable_and_the_closest_setting(tmp_path: Path) -> None:
    out = cli(["doctor", "--simulate"], tmp_path, OPENROUTER_DEFUALT_MODEL="openai/gpt-4o", OPENROUTER_FROBNICATE="1")
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert "[FIX] environment    OPENROUTER_DEFUALT_MODEL is not a setting of openrouter-mcp; did you mean OPENROUTER_DEFAULT_MODEL?" in lines
    assert "[FIX] environment    OPENROUTER_FROBNICATE is not a setting of openrouter-mcp; docs/configuration.md lists the settings" in lines
    assert "2 problem(s) to fix." in lines


def test_doctor_says_what_to_set_instead_of_a_seed_variable_it_ignores(tmp_path: Path) -> None:
    out = cli(
        ["doctor", "--simulate"],
        tmp_path,
        OPENROUTER_MODEL_CACHE_TTL_MS="120000",
        OPENROUTER_ALLOW_UNSAFE_PATHS="1",
        OPENROUTER_DEFAULT_VIDEO_GEN_MODEL="openai/sora-2",
        OPENROUTER_APP_NAME="physics91 app",
        OPENROUTER_APP_TITLE="mine",
    )
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    stabgan = "is a setting of stabgan/openrouter-mcp-multimodal, not read here"
    assert f"[FIX] environment    OPENROUTER_MODEL_CACHE_TTL_MS {stabgan}; set OPENROUTER_MCP_CATALOG_TTL_S=120 instead" in lines
    assert (
        f"[FIX] environment    OPENROUTER_ALLOW_UNSAFE_PATHS {stabgan}: ours reads files only from OPENROUTER_INPUT_DIR and writes only to OPENROUTER_OUTPUT_DIR"
        in lines
    )
    assert "[FIX] environment    OPENROUTER_APP_NAME is ignored: OPENROUTER_APP_TITLE is set too, and wins; remove one of them" in lines
    assert "[ok ] environment    OPENROUTER_DEFAULT_VIDEO_GEN_MODEL is read as OPENROUTER_MCP_GENERATE_VIDEO_MODEL" in lines
    assert "3 problem(s) to fix." in lines


def test_every_variable_on_the_configuration_page_is_one_the_server_reads() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    named = set(re.findall(r"`(OPENROUTER_[A-Z0-9_]*[A-Z0-9])`", page))
    assert len(named) > 40
    assert named - known_variables() == set()


def test_every_command_in_the_migration_guide_runs_as_shown(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "migrating.md").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "CODEX_HOME"))}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / ".config"), OPENROUTER_MCP_HOME=str(tmp_path / "home"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # where `openrouter-mcp` is
    examples = sorted((ROOT / "docs" / "examples").iterdir())
    before = [p.read_bytes() for p in examples]

    def shell(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", command], env=env, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)

    commands = [line for block in re.findall(r"```bash\n(.*?)```", page, re.S) for line in block.splitlines() if line.strip()]
    for command in commands:
        done = shell(command)
        assert done.returncode == 0, (command, done.stderr)
    shown = [block.rstrip("\n").split("\n") for block in re.findall(r"```console\n(.*?)```", page, re.S)]
    for command, *output in shown:
        assert command.startswith("$ "), command
        done = shell(command[2:])
        assert done.stdout.splitlines() == output, f"docs/migrating.md is out of date for `{command}`; it now prints:\n{done.stdout}"
    assert len(commands) >= 2 and len(shown) >= 1
    assert [p.read_bytes() for p in examples] == before


def test_the_migration_guide_names_every_variable_and_tool_that_changes() -> None:
    page = (ROOT / "docs" / "migrating.md").read_text()
    names = {*SEED_ALIASES, *SEED_ALIASES.values()}
    names |= {n for seed in SEEDS.values() for n in (*seed.renamed, *seed.renamed.values(), *seed.no_tool)}
    names |= {old for seed in SEEDS.values() for old, new in seed.tools.items() if old != new}
    assert {n for n in names if f"`{n}`" not in page} == set()
