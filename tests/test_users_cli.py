"""`openrouter-mcp users`, run as a user runs it (a subprocess, without OPENROUTER_API_KEY), on SQLite and on
PostgreSQL: a bearer token is printed once, as the last line, and only its hash is stored; budgets and the admin
flag are set and cleared; a rotated or removed token stops working at once; bad input is refused with exit 2
and a message that names the flag and the fix."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from openrouter_mcp.storage import open_storage
from openrouter_mcp.storage.users import token_hash

TOKEN = re.compile(r"orm_[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url without padding: 256 bits


def cli_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    """Like conftest.server_env, but with no OPENROUTER_API_KEY: managing users needs none."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(home)
    if database_url is not None:
        env["OPENROUTER_MCP_DATABASE_URL"] = database_url
    return env


def users(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openrouter_mcp", "users", *args], env=env, capture_output=True, text=True, timeout=60)


def token_of(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    token = done.stdout.rstrip("\n").splitlines()[-1]
    assert TOKEN.fullmatch(token), token
    assert done.stdout.count(token) == 1 and token not in done.stderr
    return token


async def stored_users(url: str) -> list[dict[str, Any]]:
    storage = await open_storage(url)
    try:
        async with storage.connection() as conn:
            return [dict(row) for row in await conn.fetch("SELECT * FROM users ORDER BY name")]
    finally:
        await storage.close()


async def user_of_token(url: str, token: str) -> str | None:
    storage = await open_storage(url)
    try:
        row = await storage.user_by_token(token)
    finally:
        await storage.close()
    return None if row is None else row.name



async def test_add_prints_the_token_once_as_its_last_line_and_stores_only_its_hash(database_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, database_url)
    done = users(env, "add", "alice@example.com", "--daily-budget-usd", "5", "--monthly-budget-usd", "50.25", "--admin")
    token = token_of(done)
    assert "alice@example.com" in done.stdout and "$5" in done.stdout and "$50.25" in done.stdout
    other = token_of(users(env, "add", "bob"))
    assert other != token

    rows = await stored_users(database_url)
    assert [r["name"] for r in rows] == ["alice@example.com", "bob"]
    assert token not in repr(rows) and other not in repr(rows)
    assert rows[0]["token_hash"] == token_hash(token)
    if database_url.startswith("sqlite"):
        files = list(Path(database_url.removeprefix("sqlite://")).parent.iterdir())
        assert files and not [f for f in files if token.encode() in f.read_bytes()]
    assert await user_of_token(database_url, token) == "alice@example.com"


async def test_list_set_rotate_and_remove(database_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, database_url)
    old = token_of(users(env, "add", "carol", "--daily-budget-usd", "2.5"))
    token_of(users(env, "add", "dave", "--admin", "--monthly-budget-usd", "100"))

    listed = users(env, "list")
    assert listed.returncode == 0, listed.stderr
    header, carol, dave = listed.stdout.splitlines()
    assert header.split()[:2] == ["name", "admin"]
    assert carol.split()[:5] == ["carol", "no", "$2.5", "none", "no"]
    assert dave.split()[:5] == ["dave", "yes", "none", "$100", "no"]

    changed = users(env, "set", "carol", "--daily-budget-usd", "none", "--monthly-budget-usd", "30", "--admin")
    assert changed.returncode == 0, changed.stderr
    assert "daily budget: none" in changed.stdout and "monthly budget: $30" in changed.stdout
    assert users(env, "set", "dave", "--no-admin").returncode == 0
    as_json = json.loads(users(env, "list", "--json").stdout)
    assert [(u["name"], u["admin"], u["daily_budget_usd"], u["monthly_budget_usd"], u["openrouter_key"]) for u in as_json] == [
        ("carol", True, None, 30.0, False),
        ("dave", False, None, 100.0, False),
    ]
    assert Decimal(str(as_json[0]["monthly_budget_usd"])) == Decimal(30)
    assert {"created_at", "updated_at", "openrouter_limit_usd"} <= set(as_json[0])

    before = {r["name"]: r["token_hash"] for r in await stored_users(database_url)}
    new = token_of(users(env, "rotate", "carol"))
    after = {r["name"]: r["token_hash"] for r in await stored_users(database_url)}
    assert after["carol"] == token_hash(new) != before["carol"] and after["dave"] == before["dave"]
    assert await user_of_token(database_url, old) is None
    assert await user_of_token(database_url, new) == "carol"

    removed = users(env, "remove", "carol")
    assert removed.returncode == 0, removed.stderr
    assert await user_of_token(database_url, new) is None
    assert [u["name"] for u in json.loads(users(env, "list", "--json").stdout)] == ["dave"]


def test_an_unknown_or_taken_name_is_refused_clearly(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    token_of(users(env, "add", "erin"))
    taken = users(env, "add", "erin")
    assert taken.returncode == 1 and "already exists" in taken.stderr and "orm_" not in taken.stdout
    for action in (["set", "zed", "--admin"], ["rotate", "zed"], ["remove", "zed"]):
        done = users(env, *action)
        assert done.returncode == 1, action
        assert "no user named 'zed'" in done.stderr and "users list" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["add", "local"], "argument NAME: 'local' is reserved"),
        (["add", "two words"], "argument NAME: 'two words' is not a user name: use 1 to 64 letters"),
        (["add", "--", "-dash"], "argument NAME: '-dash' is not a user name"),
        (["add", "x" * 65], "is not a user name"),
        (["add", "ok", "--daily-budget-usd", "abc"], "argument --daily-budget-usd: 'abc' is not an amount in USD: use e.g. 5"),
        (["add", "ok", "--monthly-budget-usd", "-1"], "argument --monthly-budget-usd: '-1' is not an amount in USD: use 0 or more"),
        (["add", "ok", "--daily-budget-usd", "NaN"], "argument --daily-budget-usd: 'NaN' is not an amount in USD"),
        (["add", "ok", "--daily-budget-usd", "1e12"], "is too large"),
        (["add", "ok", "--openrouter-limit-usd", "5"], "--openrouter-limit-usd needs OPENROUTER_PROVISIONING_KEY"),
        (["set", "ok", "--daily-budget-usd", "lots"], "or none to remove the budget"),
        (["set", "ok"], "nothing to change: give --daily-budget-usd"),
        (["set", "local", "--admin"], "'local' is reserved"),
    ],
)
def test_bad_input_exits_2_naming_the_flag_and_the_fix(tmp_path: Path, args: list[str], expected: str) -> None:
    done = users(cli_env(tmp_path), *args)
    assert done.returncode == 2, done
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    listed = users(cli_env(tmp_path), "list", "--json")
    assert json.loads(listed.stdout) == []  # nothing was added


def test_simulate_manages_the_simulated_servers_users_only(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    added = users(env, "--simulate", "add", "sim-user")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().splitlines()[-1].startswith("orm_")
    assert "sim-user" in users(env, "--simulate", "list").stdout
    assert "sim-user" not in users(env, "list").stdout  # the real database never sees it
    refused = users(env, "--simulate", "add", "other", "--openrouter-limit-usd", "5")
    assert refused.returncode == 2 and "--openrouter-limit-usd" in refused.stderr
