"""`openrouter-mcp login` gets a person's own key through OpenRouter's OAuth PKCE flow, run end to end against the
simulator: the command as a subprocess, the browser played by an HTTP client, the key checked on the simulator."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from openrouter import errors, operations

from openrouter_mcp.cli.login import auth_page_url, s256
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import free_port


def login_env(simulator: RunningSimulator, home: Path, **extra: str) -> dict[str, str]:
    """A person with no key yet, pointed at the simulator; no OS keyring unless a test names one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env.update(OPENROUTER_BASE_URL=simulator.api_url, OPENROUTER_MCP_HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.update(extra)
    return env


class Login:
    """A running `openrouter-mcp login --no-browser ...`, with the authorization URL it printed."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.stderr_head = ""
        while "/auth?" not in self.stderr_head:
            line = proc.stderr.readline() if proc.stderr else ""
            assert line, f"login ended before printing the authorization URL: {self.stderr_head}"
            self.stderr_head += line
        self.auth_url = next(word for word in self.stderr_head.split() if "/auth?" in word)
        self.callback_url = parse_qs(urlsplit(self.auth_url).query)["callback_url"][0]

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, self.stderr_head + err


@contextlib.contextmanager
def login(env: dict[str, str], *args: str) -> Iterator[Login]:
    cmd = [sys.executable, "-m", "openrouter_mcp", "login", "--no-browser", *args]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield Login(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def approve_in_browser(auth_url: str) -> httpx2.Response:
    """What a person's browser does: open the page, press Authorize (its form adds auto=1), follow the redirect."""
    with httpx2.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(auth_url)
        assert page.status_code == 200 and '<button name="auto" value="1">Authorize</button>' in page.text
        return browser.get(auth_url + "&auto=1")


def key_works(simulator: RunningSimulator, key: str) -> bool:
    return httpx2.get(simulator.api_url + "/key", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_login_saves_a_working_key_to_a_private_env_file_and_shows_it_nowhere(simulator: RunningSimulator, tmp_path: Path) -> None:
    env_file = tmp_path / "openrouter.env"
    env_file.write_text("OTHER=kept\nOPENROUTER_API_KEY=sk-or-v1-old\n")
    with login(login_env(simulator, tmp_path), "--save", "env-file", str(env_file)) as running:
        assert running.auth_url.startswith(simulator.url + "/auth?")
        assert parse_qs(urlsplit(running.auth_url).query)["code_challenge_method"] == ["S256"]
        landed = approve_in_browser(running.auth_url)
        assert landed.status_code == 200 and "close this tab" in landed.text
        status, out, err = running.finish()
    assert status == 0, err
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text().splitlines()
    assert lines[0] == "OTHER=kept" and len(lines) == 2
    key = lines[1].removeprefix("OPENROUTER_API_KEY=")
    assert key.startswith("sk-or-v1-") and key != "sk-or-v1-old"
    assert key_works(simulator, key)
    assert key not in out and key not in err
    assert str(env_file) in err


def test_login_print_shows_the_key_on_stdout_only(simulator: RunningSimulator, tmp_path: Path) -> None:
    with login(login_env(simulator, tmp_path), "--print") as running:
        approve_in_browser(running.auth_url)
        status, out, err = running.finish()
    assert status == 0, err
    key = out.strip()
    assert key.startswith("sk-or-v1-") and key_works(simulator, key)
    assert key not in err


def test_a_callback_without_a_code_ends_login_with_status_1_and_says_why(simulator: RunningSimulator, tmp_path: Path) -> None:
    env_file = tmp_path / "never.env"
    with login(login_env(simulator, tmp_path), "--save", "env-file", str(env_file)) as running:
        page = httpx2.get(running.callback_url, params={"error": "access_denied"})
        assert page.status_code == 400 and "no authorization code" in page.text.lower()
        status, out, err = running.finish()
    assert status == 1
    assert "without an authorization code (error=access_denied)" in err and "`openrouter-mcp login` again" in err
    assert not env_file.exists() and out == ""


def test_a_code_someone_else_tried_first_is_refused_and_login_ends_with_status_1(simulator: RunningSimulator, tmp_path: Path) -> None:
    with login(login_env(simulator, tmp_path), "--print") as running:
        redirect = httpx2.get(running.auth_url + "&auto=1")
        code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
        # Whoever caught the code has no verifier: their exchange fails, and spends the code.
        assert exchange(simulator, {"code": code, "code_verifier": "guess" * 10, "code_challenge_method": "S256"}).status_code == 403
        httpx2.get(redirect.headers["location"])
        status, out, err = running.finish()
    assert status == 1 and out == ""
    assert "OpenRouter refused the authorization code" in err


def test_login_gives_up_with_status_1_when_no_approval_comes(simulator: RunningSimulator, tmp_path: Path) -> None:
    with login(login_env(simulator, tmp_path), "--print", "--timeout", "0.5") as running:
        status, out, err = running.finish()
    assert status == 1 and out == ""
    assert "no approval arrived within 0.5 s" in err


def test_without_a_keyring_or_a_terminal_login_asks_for_a_place_before_starting(simulator: RunningSimulator, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openrouter_mcp", "login", "--no-browser"],
        env=login_env(simulator, tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no OS keyring" in done.stderr and "--save env-file PATH or --print" in done.stderr
    assert "/auth?" not in done.stderr


def test_an_env_file_in_a_missing_folder_is_refused_before_starting(simulator: RunningSimulator, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openrouter_mcp", "login", "--no-browser", "--save", "env-file", str(tmp_path / "nowhere" / "key.env")],
        env=login_env(simulator, tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "does not exist" in done.stderr and "/auth?" not in done.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("keyring") is None or importlib.util.find_spec("keyrings.alt") is None,
    reason="needs the `keyring` package and `keyrings.alt` (a file backend kept in the test's folder, so no real OS keyring is touched)",
)
def test_login_saves_the_key_in_the_keyring(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = login_env(simulator, tmp_path, PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring", XDG_DATA_HOME=str(tmp_path / "data"))
    with login(env, "--save", "keyring") as running:
        approve_in_browser(running.auth_url)
        status, out, err = running.finish()
    assert status == 0, err
    read = "import keyring; print(keyring.get_password('openrouter-mcp', 'OPENROUTER_API_KEY'))"
    key = subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert key.startswith("sk-or-v1-") and key_works(simulator, key)
    assert key not in out and key not in err
    # With no OPENROUTER_API_KEY in the environment, the server's settings take the key from the keyring.
    assert "OPENROUTER_API_KEY" not in env
    loaded = "from openrouter_mcp.config import load_settings; s = load_settings(); print(s.api_key.get() if s.api_key else '')"
    assert subprocess.run([sys.executable, "-c", loaded], env=env, capture_output=True, text=True, timeout=60, check=True).stdout.strip() == key


# ---------- the simulator's side of the flow ----------


def code_for(simulator: RunningSimulator, challenge: str) -> str:
    """Approve at once (`auto=1`) and read the code from the redirect to the callback."""
    params = {"callback_url": "http://127.0.0.1:9/callback", "code_challenge": challenge, "code_challenge_method": "S256", "auto": "1"}
    answer = httpx2.get(simulator.url + "/auth", params=params)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.netloc == "127.0.0.1:9" and location.path == "/callback"
    return parse_qs(location.query)["code"][0]


def exchange(simulator: RunningSimulator, body: dict[str, Any]) -> httpx2.Response:
    return httpx2.post(simulator.api_url + "/auth/keys", json=body)


def test_the_simulator_exchanges_a_code_once_and_only_for_its_verifier(simulator: RunningSimulator) -> None:
    verifier = "v" * 50
    refused = exchange(simulator, {"code": code_for(simulator, s256(verifier)), "code_verifier": "w" * 50, "code_challenge_method": "S256"})
    assert refused.status_code == 403
    errors.ForbiddenResponseErrorData.model_validate(refused.json())

    code = code_for(simulator, s256(verifier))
    granted = exchange(simulator, {"code": code, "code_verifier": verifier, "code_challenge_method": "S256"})
    assert granted.status_code == 200
    answer = operations.ExchangeAuthCodeForAPIKeyResponse.model_validate(granted.json())
    assert answer.key.startswith("sk-or-v1-") and key_works(simulator, answer.key)
    again = exchange(simulator, {"code": code, "code_verifier": verifier, "code_challenge_method": "S256"})
    assert again.status_code == 403


def test_the_simulator_refuses_malformed_requests(simulator: RunningSimulator) -> None:
    no_code = exchange(simulator, {"code_verifier": "v" * 50})
    assert no_code.status_code == 400
    errors.BadRequestResponseErrorData.model_validate(no_code.json())
    assert httpx2.get(simulator.url + "/auth", params={"callback_url": "http://example.com/cb"}).status_code == 400
    assert json.loads(httpx2.post(simulator.api_url + "/auth/keys", content=b"{").content)["error"]["code"] == 400


def test_the_auth_page_is_found_from_the_api_base_url() -> None:
    assert auth_page_url("https://openrouter.ai/api/v1") == "https://openrouter.ai/auth"
    assert auth_page_url("http://127.0.0.1:8790/api/v1/") == "http://127.0.0.1:8790/auth"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through plays the browser with curl")
def test_the_simulator_walkthrough_in_docs_login_md_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "login.md").read_text().split("## Try it on the simulator", 1)[1]
    script, shown = re.findall(r"```[a-z]*\n(.*?)```", doc, re.S)[:2]
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env.update(OPENROUTER_MCP_HOME=str(tmp_path / "home"), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    # Its own session, so the simulator and login it starts in the background go too if it fails half-way.
    bash = subprocess.Popen(
        ["bash", "-c", script.replace("8790", port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = bash.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(bash.pid, signal.SIGTERM)
    assert bash.returncode == 0, err
    label = re.compile(r"sk-or-\.\.\.[0-9a-f]{4}")
    assert label.sub("LABEL", out) == label.sub("LABEL", shown)
    assert stat.S_IMODE((tmp_path / "openrouter.env").stat().st_mode) == 0o600
    assert "Saved your OpenRouter key as OPENROUTER_API_KEY in" in (tmp_path / "login.log").read_text()


def test_init_login_gets_a_key_through_the_browser_into_the_clients_config(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = login_env(simulator, tmp_path / "mcp-home", HOME=str(tmp_path))
    cmd = [sys.executable, "-m", "openrouter_mcp", "init", "cursor", "--login", "--no-browser"]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        running = Login(proc)
        approve_in_browser(running.auth_url)
        status, out, err = running.finish()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert status == 0, err
    config = json.loads((tmp_path / ".cursor" / "mcp.json").read_text())
    key = config["mcpServers"]["openrouter"]["env"]["OPENROUTER_API_KEY"]
    assert key.startswith("sk-or-v1-") and key_works(simulator, key)
    assert key not in out and key not in err  # shown masked only
