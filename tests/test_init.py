"""`openrouter-mcp init`: each client's documented config file gets this server merged beside the servers already
there (run as a real command, with HOME pointing at a temporary home), after a backup, only when something
changes; `--dry-run` writes nothing; `--from` turns physics91's and stabgan's entries into ours; bad input
exits 2 and touches nothing; the key never shows on the terminal."""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from openrouter_mcp.cli.config_files import dump_toml
from openrouter_mcp.cli.seed_servers import SEEDS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the expected paths are the POSIX ones")

KEY = "sk-or-v1-" + "5e" * 32
OLD_KEY = "sk-or-v1-" + "0d" * 32
TOKEN = "ghp_" + "t0k3n" * 8
APP_DATA = "Library/Application Support" if sys.platform == "darwin" else ".config"
FILES = {
    "claude-desktop": f"{APP_DATA}/Claude/claude_desktop_config.json",
    "claude-code": ".claude.json",
    "cursor": ".cursor/mcp.json",
    "vscode": f"{APP_DATA}/Code/User/mcp.json",
    "windsurf": ".codeium/windsurf/mcp_config.json",
    "codex": ".codex/config.toml",
    "gemini": ".gemini/settings.json",
}
SERVERS = {"vscode": "servers", "codex": "mcp_servers"}
OTHER = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": TOKEN}, "timeout": 30000}
CODEX = f"""# Codex settings
model = "gpt-5"  # the model I use

[mcp_servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"]
timeout = 30000

[mcp_servers.github.env]
GITHUB_PERSONAL_ACCESS_TOKEN = "{TOKEN}"

# a faster profile
[profiles.fast]
model = "gpt-5-mini"
"""


def our_command() -> list[str]:
    script = Path(sys.executable).parent / "openrouter-mcp"
    return [str(script), "serve"] if script.is_file() else [sys.executable, "-m", "openrouter_mcp", "serve"]


ROOT = Path(__file__).resolve().parents[1]
CLIENTS_MD = ROOT / "docs" / "clients.md"


def init(home: Path, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER", "CODEX_HOME"))}
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "APPDATA": str(home / "AppData" / "Roaming")}
    if key:
        env["OPENROUTER_API_KEY"] = key
    done = subprocess.run(
        [sys.executable, "-m", "openrouter_mcp", "init", *args], env=env, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    shown = done.stdout + done.stderr
    assert KEY not in shown and OLD_KEY not in shown and TOKEN not in shown, shown
    return done


def place(home: Path, client: str, text: str, mode: int = 0o640) -> Path:
    path = home / FILES[client]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def existing(client: str) -> str:
    if client == "codex":
        return CODEX
    doc: dict[str, Any] = {"theme": "dark", SERVERS.get(client, "mcpServers"): {"github": OTHER}}
    if client == "claude-code":
        doc |= {"numStartups": 12, "projects": {"/src/app": {"allowedTools": [], "mcpServers": {}}}}
    return json.dumps(doc, indent=4) + "\n"


def parse(path: Path) -> dict[str, Any]:
    text = path.read_text()
    return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".bak-*"))


@pytest.mark.parametrize("client", list(FILES))
def test_init_merges_our_server_beside_the_others_after_a_backup_and_a_second_run_changes_nothing(tmp_path: Path, client: str) -> None:
    path = place(tmp_path, client, existing(client))
    before = path.read_bytes()
    old = parse(path)

    done = init(tmp_path, client)

    assert done.returncode == 0, done.stderr
    doc = parse(path)
    servers_key = SERVERS.get(client, "mcpServers")
    assert {k: v for k, v in doc.items() if k != servers_key} == {k: v for k, v in old.items() if k != servers_key}
    assert doc[servers_key]["github"] == OTHER
    ours = doc[servers_key]["openrouter"]
    assert [ours["command"], *ours["args"]] == our_command()
    assert ours["env"] == {"OPENROUTER_API_KEY": KEY}
    assert ours.get("type") == ("stdio" if client in ("vscode", "claude-code") else None)
    assert [b.read_bytes() for b in backups(path)] == [before]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "chmod 600" in done.stdout  # the file holds the key now, and others may read it
    if client == "codex":
        text = path.read_text()
        assert all(comment in text for comment in ("# Codex settings", "# the model I use", "# a faster profile"))

    after = path.read_bytes()
    again = init(tmp_path, client)

    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout
    assert path.read_bytes() == after
    assert len(backups(path)) == 1


@pytest.mark.parametrize("client", list(FILES))
def test_dry_run_prints_the_change_with_keys_masked_and_writes_nothing(tmp_path: Path, client: str) -> None:
    path = place(tmp_path, client, existing(client))
    before = path.read_bytes()

    done = init(tmp_path, client, "--dry-run")

    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == before
    assert backups(path) == []
    assert f"+++ {path} (after init)" in done.stdout
    assert "sk-or-…" + KEY[-4:] in done.stdout
    assert "dry run: nothing was written" in done.stdout


@pytest.mark.parametrize("client", ["cursor", "codex"])
def test_a_new_config_file_holding_the_key_is_readable_only_by_its_owner(tmp_path: Path, client: str) -> None:
    done = init(tmp_path, client)

    assert done.returncode == 0, done.stderr
    path = tmp_path / FILES[client]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert parse(path)[SERVERS.get(client, "mcpServers")]["openrouter"]["env"]["OPENROUTER_API_KEY"] == KEY
    assert backups(path) == []


def test_from_physics91_rewrites_claude_code_entries_and_the_tool_names_in_its_permissions(tmp_path: Path) -> None:
    physics91 = {
        "type": "stdio",
        "command": "npx",
        "args": ["-y", "@physics91/openrouter-mcp@latest", "start"],
        "env": {"OPENROUTER_APP_NAME": "claude-code", "OPENROUTER_HTTP_REFERER": "https://localhost", "LOG_LEVEL": "WARN", "HOST": "localhost", "PORT": "8000"},
    }
    doc: dict[str, Any] = {
        "numStartups": 3,
        "mcpServers": {"openrouter": physics91, "memory": {"type": "stdio", "command": "npx", "args": ["@modelcontextprotocol/server-memory"]}},
        "projects": {"/src/app": {"mcpServers": {"or-local": {"command": "openrouter-mcp", "args": ["start"]}}}},
    }
    config = place(tmp_path, "claude-code", json.dumps(doc, indent=2))
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    rules = {
        "allow": [
            "Bash(ls:*)",
            "mcp__openrouter__chat_with_model",
            "mcp__openrouter__chat_with_vision",
            "mcp__openrouter__compare_model_categories",
            "mcp__memory__read",
        ],
        "deny": ["mcp__openrouter__get_usage_stats", "mcp__or-local__list_available_models"],
    }
    settings.write_text(json.dumps({"permissions": rules, "model": "opus"}, indent=2))

    done = init(tmp_path, "claude-code", "--from", "physics91")

    assert done.returncode == 0, done.stderr
    new = parse(config)
    ours = new["mcpServers"]["openrouter"]
    assert [ours["command"], *ours["args"]] == our_command()
    assert ours["env"] == {
        "OPENROUTER_APP_TITLE": "claude-code",
        "OPENROUTER_HTTP_REFERER": "https://localhost",
        "OPENROUTER_MCP_LOG_LEVEL": "warning",
        "OPENROUTER_API_KEY": KEY,
    }
    assert new["mcpServers"]["memory"] == doc["mcpServers"]["memory"]
    local = new["projects"]["/src/app"]["mcpServers"]["or-local"]
    assert [local["command"], *local["args"]] == our_command()
    assert parse(settings) == {
        "permissions": {
            "allow": ["Bash(ls:*)", "mcp__openrouter__chat_completion", "mcp__memory__read"],
            "deny": ["mcp__openrouter__get_usage_stats", "mcp__or-local__search_models"],
        },
        "model": "opus",
    }
    assert "dropped mcp__openrouter__compare_model_categories" in done.stdout
    assert "dropped HOST" in done.stdout and "renamed OPENROUTER_APP_NAME to OPENROUTER_APP_TITLE" in done.stdout
    assert len(backups(config)) == 1 and len(backups(settings)) == 1

    again = init(tmp_path, "claude-code", "--from", "physics91")
    assert again.returncode == 0 and "nothing to change" in again.stdout


def test_from_stabgan_rewrites_a_docker_entry_in_codex_keeping_its_key_and_the_rest_of_the_file(tmp_path: Path) -> None:
    stabgan = f"""
[mcp_servers.openrouter]
command = "docker"
args = ["run", "--rm", "-i", "-e", "OPENROUTER_API_KEY={OLD_KEY}", "stabgan/openrouter-mcp-multimodal:latest"]
enabled_tools = ["chat_completion", "generate_video_from_image", "generate_video", "rerank_documents"]

[mcp_servers.openrouter.env]
OPENROUTER_LOG_LEVEL = "warn"
OPENROUTER_PROVIDER_ORDER = '["openai", "anthropic"]'
OPENROUTER_MODEL_CACHE_TTL_MS = "600000"
OPENROUTER_ALLOW_UNSAFE_PATHS = "1"
DEFAULT_MODEL = "openai/gpt-4o"
"""
    path = place(tmp_path, "codex", CODEX + stabgan)
    old = parse(path)

    done = init(tmp_path, "codex", "--from", "stabgan", key=None)

    assert done.returncode == 0, done.stderr
    new = parse(path)
    assert {k: v for k, v in new.items() if k != "mcp_servers"} == {k: v for k, v in old.items() if k != "mcp_servers"}
    assert new["mcp_servers"]["github"] == old["mcp_servers"]["github"]
    assert new["mcp_servers"]["openrouter"] == {
        "command": our_command()[0],
        "args": our_command()[1:],
        "enabled_tools": ["chat_completion", "generate_video", "rerank_documents"],
        "env": {
            "OPENROUTER_API_KEY": OLD_KEY,
            "OPENROUTER_MCP_LOG_LEVEL": "warning",
            "OPENROUTER_PROVIDER_ORDER": "openai,anthropic",
            "OPENROUTER_MCP_CATALOG_TTL_S": "600",
            "OPENROUTER_DEFAULT_MODEL": "openai/gpt-4o",
        },
    }
    assert "# a faster profile" in path.read_text()
    assert "rerank_documents" not in done.stdout and "dropped OPENROUTER_ALLOW_UNSAFE_PATHS" in done.stdout
    assert "sk-or-…" + OLD_KEY[-4:] in done.stdout


def test_from_stabgan_maps_gemini_tool_filters(tmp_path: Path) -> None:
    entry = {"command": "npx", "args": ["-y", "@stabgan/openrouter-mcp-multimodal"], "includeTools": ["analyze_image", "health_check"], "trust": False}
    path = place(tmp_path, "gemini", json.dumps({"mcp": {"allowed": ["github"]}, "mcpServers": {"vision": entry, "github": OTHER}}))

    done = init(tmp_path, "gemini", "--from", "stabgan")

    assert done.returncode == 0, done.stderr
    servers = parse(path)["mcpServers"]
    assert servers["github"] == OTHER and parse(path)["mcp"] == {"allowed": ["github"]}
    assert "Gemini CLI will not start 'vision': add it to mcp.allowed" in done.stdout
    assert servers["vision"] == {
        "command": our_command()[0],
        "args": our_command()[1:],
        "includeTools": ["analyze_image"],
        "trust": False,
        "env": {"OPENROUTER_API_KEY": KEY},
    }


def test_from_a_server_the_file_does_not_have_exits_2_and_says_how_to_add_ours(tmp_path: Path) -> None:
    path = place(tmp_path, "cursor", existing("cursor"))
    before = path.read_bytes()

    done = init(tmp_path, "cursor", "--from", "physics91")

    assert done.returncode == 2
    assert str(path) in done.stderr and "openrouter-mcp init cursor" in done.stderr and "Nothing was changed" in done.stderr
    assert path.read_bytes() == before and backups(path) == []


def test_an_unknown_client_exits_2_naming_the_clients(tmp_path: Path) -> None:
    done = init(tmp_path, "claude-desktp")

    assert done.returncode == 2
    assert "unknown client 'claude-desktp'" in done.stderr and "claude-desktop" in done.stderr


@pytest.mark.parametrize(("client", "text"), [("windsurf", '{"mcpServers": {"a": {"command": "b"}\n'), ("codex", "model = \n")])
def test_a_config_that_does_not_parse_exits_2_naming_the_file_and_the_fix_and_is_left_alone(tmp_path: Path, client: str, text: str) -> None:
    path = place(tmp_path, client, text)

    done = init(tmp_path, client)

    assert done.returncode == 2
    assert str(path) in done.stderr and "line" in done.stderr and "fix that line" in done.stderr
    assert path.read_text() == text and backups(path) == []


def test_a_server_of_the_same_name_that_is_not_ours_is_never_overwritten(tmp_path: Path) -> None:
    stabgan = {"command": "npx", "args": ["-y", "@stabgan/openrouter-mcp-multimodal"], "env": {"OPENROUTER_API_KEY": OLD_KEY}}
    path = place(tmp_path, "claude-desktop", json.dumps({"mcpServers": {"openrouter": stabgan}}))
    before = path.read_bytes()

    done = init(tmp_path, "claude-desktop")

    assert done.returncode == 2
    assert "--from stabgan" in done.stderr and "--name" in done.stderr
    assert path.read_bytes() == before


def test_without_a_key_or_a_terminal_init_exits_2_and_no_key_writes_an_entry_without_one(tmp_path: Path) -> None:
    path = place(tmp_path, "windsurf", existing("windsurf"))

    refused = init(tmp_path, "windsurf", key=None)

    assert refused.returncode == 2
    assert "OPENROUTER_API_KEY" in refused.stderr and "--no-key" in refused.stderr
    assert backups(path) == []

    done = init(tmp_path, "windsurf", "--no-key", key=None)

    assert done.returncode == 0, done.stderr
    ours = parse(path)["mcpServers"]["openrouter"]
    assert "env" not in ours and [ours["command"], *ours["args"]] == our_command()


def test_keyring_keeps_the_key_out_of_the_config_and_the_server_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A file keyring in the test's folder (keyrings.alt), so no real OS keyring is touched.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    done = init(tmp_path, "cursor", "--keyring")
    assert done.returncode == 0, done.stderr
    ours = parse(tmp_path / FILES["cursor"])["mcpServers"]["openrouter"]
    assert KEY not in json.dumps(ours) and "env" not in ours
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER")} | {"HOME": str(tmp_path)}
    read = "from openrouter_mcp.config import load_settings; s = load_settings(); print(s.api_key.get() if s.api_key else '')"
    assert subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True, timeout=60, check=True).stdout.strip() == KEY


def test_keyring_without_a_usable_keyring_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    done = init(tmp_path, "cursor", "--keyring")
    assert done.returncode == 2 and "no OS keyring is usable" in done.stderr
    assert not (tmp_path / FILES["cursor"]).exists()


def test_vscode_comments_are_read_and_the_rewrite_says_they_are_not_kept(tmp_path: Path) -> None:
    path = place(
        tmp_path, "vscode", '// my servers\n{\n  "servers": {\n    "github": {"type": "stdio", "command": "npx", "args": ["a//b"]}, /* more later */\n  },\n}\n'
    )

    done = init(tmp_path, "vscode")

    assert done.returncode == 0, done.stderr
    assert parse(path)["servers"]["github"] == {"type": "stdio", "command": "npx", "args": ["a//b"]}
    assert "comments or trailing commas, which are not kept" in done.stdout
    assert backups(path)[0].read_text().startswith("// my servers")


def test_a_codex_file_with_inline_servers_is_rewritten_whole_keeping_every_value_and_the_dry_run_says_so(tmp_path: Path) -> None:
    text = 'model = "gpt-5"\nmcp_servers = { github = { command = "npx", args = ["x"] } }\n\n[profiles.fast]\nmodel = "gpt-5-mini"\n'
    path = place(tmp_path, "codex", text)

    shown = init(tmp_path, "codex", "--dry-run")

    assert shown.returncode == 0, shown.stderr
    assert "rewritten whole: every table and value is kept, but its comments and layout are not" in shown.stdout
    assert path.read_text() == text

    done = init(tmp_path, "codex")

    assert done.returncode == 0, done.stderr
    new = parse(path)
    assert new["model"] == "gpt-5" and new["profiles"] == {"fast": {"model": "gpt-5-mini"}}
    assert new["mcp_servers"]["github"] == {"command": "npx", "args": ["x"]}
    assert new["mcp_servers"]["openrouter"]["env"] == {"OPENROUTER_API_KEY": KEY}


def test_without_a_client_init_lists_every_client_its_file_and_what_it_holds(tmp_path: Path) -> None:
    place(tmp_path, "cursor", existing("cursor"))
    place(tmp_path, "codex", CODEX + '\n[mcp_servers.old]\ncommand = "npx"\nargs = ["-y", "@physics91/openrouter-mcp", "start"]\n')

    done = init(tmp_path)

    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert set(rows) == set(FILES)
    assert str(tmp_path / FILES["cursor"]) in rows["cursor"] and "1 server" in rows["cursor"]
    assert "physics91 as 'old' (--from physics91)" in rows["codex"]
    assert "no file yet" in rows["gemini"]


def test_the_toml_writer_reads_back_every_kind_of_value() -> None:
    doc = {
        "title": 'quotes " and \\ and \n newlines, tabs\t and ünïcode',
        "n": 3,
        "x": 1.5,
        "big": 1e300,
        "on": True,
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 1, 2),
        "list": [1, "two", [3]],
        "inline": [{"a": 1}, 2],
        "odd key.with dot": {"v": "w"},
        "table": {"sub": {"deep": {"k": "v"}}, "empty": {}},
        "array": [{"name": "a", "sub": {"k": 1}}, {"name": "b"}],
    }

    assert tomllib.loads(dump_toml(doc)) == doc


def test_a_symlinked_config_stays_a_link_and_windows_line_ends_stay(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "mcp.json"
    real.parent.mkdir()
    real.write_bytes(existing("cursor").replace("\n", "\r\n").encode())
    link = tmp_path / FILES["cursor"]
    link.parent.mkdir(parents=True)
    link.symlink_to(real)

    done = init(tmp_path, "cursor")

    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == real
    assert b"\r\n" in real.read_bytes() and b"\n" not in real.read_bytes().replace(b"\r\n", b"")
    assert parse(real)["mcpServers"]["openrouter"]["env"] == {"OPENROUTER_API_KEY": KEY}


def test_every_command_in_the_clients_guide_runs_as_written_and_writes_nothing(tmp_path: Path) -> None:
    blocks = re.findall(r"```bash\n(.*?)```", CLIENTS_MD.read_text(), re.S)
    commands = [shlex.split(line) for block in blocks for line in block.splitlines() if line.strip()]
    assert len(commands) >= 5 and all(c[:2] == ["openrouter-mcp", "init"] for c in commands)
    examples = sorted((ROOT / "docs" / "examples").iterdir())
    before = [p.read_bytes() for p in examples]

    for command in commands:
        done = init(tmp_path, *command[2:], key=None)
        assert done.returncode == 0, (command, done.stderr)

    assert [p.read_bytes() for p in examples] == before
    assert not any(tmp_path.rglob("*.json")) and not any(tmp_path.rglob("*.toml"))


def test_the_clients_guide_names_every_renamed_variable_and_tool() -> None:
    text = CLIENTS_MD.read_text()
    names = {n for seed in SEEDS.values() for n in (*seed.renamed, *seed.renamed.values(), *seed.no_tool)}
    names |= {old for seed in SEEDS.values() for old, new in seed.tools.items() if old != new}
    assert {n for n in names if f"`{n}`" not in text} == set()


def test_in_a_terminal_the_key_is_asked_for_without_echo(tmp_path: Path) -> None:
    import pty

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER", "CODEX_HOME"))} | {"HOME": str(tmp_path)}
    pid, fd = pty.fork()
    if pid == 0:  # the child: init on a terminal
        os.execve(sys.executable, [sys.executable, "-m", "openrouter_mcp", "init", "cursor"], env)
    seen = b""
    while b"[Y/n]" not in seen:  # with no key set, init first offers to get one through the browser
        seen += os.read(fd, 1024)
    os.write(fd, b"n\n")
    while b"input hidden" not in seen:
        seen += os.read(fd, 1024)
    os.write(fd, KEY.encode() + b"\n")
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the terminal closes when init exits
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert KEY.encode() not in seen and b"typed at the prompt (sk-or-\xe2\x80\xa6" + KEY[-4:].encode() in seen
    assert parse(tmp_path / FILES["cursor"])["mcpServers"]["openrouter"]["env"] == {"OPENROUTER_API_KEY": KEY}
