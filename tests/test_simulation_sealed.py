"""`--simulate` is sealed off from real use. Every simulated entry point (serve, demo, bench, models,
doctor) keeps its state (database, catalog cache, media) under `<home>/simulated/` and leaves the real
database byte-for-byte as it was, whether that database is the home's default or named by
OPENROUTER_MCP_DATABASE_URL. A simulated server marks every result as simulated, and a real server
marks none. Everything runs for real: subprocesses, the `mcp` client over stdio, SQLite files."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.storage import LedgerOutcome, LedgerReservation, open_storage

from .conftest import server_env

MARK_KEY = "openrouter-mcp/simulated"
MARK_TEXT = "[simulated] "
REAL_CALL = "real-call-0001"
REAL_MODEL = "anthropic/claude-sonnet-4.5"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    return {**env, "OPENROUTER_MCP_HOME": str(home), **extra}


def cli(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "openrouter_mcp", *args], env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


async def write_real_ledger(db: Path) -> None:
    """The real database, with one settled call of real spend in it."""
    storage = await open_storage(f"sqlite:///{db}")
    try:
        now = datetime.now(UTC)
        call = LedgerReservation(
            call_id=REAL_CALL, tool="chat_completion", model_requested=REAL_MODEL, estimate_usd=Decimal("0.05"), caller="a-real-client", created_at=now
        )
        await storage.reserve(call, daily_cap_usd=None, monthly_cap_usd=None, now=now)
        outcome = LedgerOutcome(
            "ok", model_used=REAL_MODEL, provider="Anthropic", generation_id="gen-real-1", prompt_tokens=10, completion_tokens=20, cost_usd=Decimal("0.0123")
        )
        assert await storage.settle(REAL_CALL, outcome)
    finally:
        await storage.close()


def files_of(db: Path) -> dict[str, str]:
    """The database file and any -wal/-shm beside it, each with the SHA-256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(db.parent.iterdir()) if p.is_file() and p.name.startswith(db.name)}


def query_copy(db: Path, scratch: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql`, read from a copy of the database (so reading cannot touch the file itself)."""
    copy = scratch / f"copy-{db.name}"
    shutil.copyfile(db, copy)
    con = sqlite3.connect(copy)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
        copy.unlink()


def rows_of(db: Path, scratch: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    tables = [str(r[0]) for r in query_copy(db, scratch, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: sorted(query_copy(db, scratch, f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def ledger_models(db: Path, scratch: Path) -> list[str]:
    return sorted(str(r[0]) for r in query_copy(db, scratch, "SELECT model_requested FROM ledger"))


def text_of(result: Any) -> str:
    return str(result.content[0].text)


async def paid_calls_through_a_simulated_server(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """`serve --simulate` driven by the real MCP client: a paid chat call, a paid image, an upstream error
    and a bad argument."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve", "--simulate"], env=env, cwd=str(cwd))
    async with Client(params, read_timeout_seconds=120) as client:
        chat = await client.call_tool("chat_completion", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi."}]})
        image = await client.call_tool("generate_image", {"prompt": "a red square", "save_path": "sealed/"})
        upstream = await client.call_tool("chat_completion", {"model": "sim/internal-error", "messages": [{"role": "user", "content": "hi"}]})
        invalid = await client.call_tool("chat_completion", {"temperature": "hot", "messages": []})
    return {"chat": chat, "image": image, "upstream": upstream, "invalid": invalid}


@pytest.mark.parametrize("where", ["default database in the home", "OPENROUTER_MCP_DATABASE_URL"])
async def test_simulated_runs_never_touch_the_real_database(where: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    real_output = tmp_path / "real-output"
    home.mkdir()
    real_output.mkdir()
    (real_output / "keep.txt").write_text("a real file")
    extra = {"OPENROUTER_OUTPUT_DIR": str(real_output)}
    if where == "OPENROUTER_MCP_DATABASE_URL":
        real_db = tmp_path / "real" / "ledger.db"
        extra["OPENROUTER_MCP_DATABASE_URL"] = f"sqlite:///{real_db}"
    else:
        real_db = home / "openrouter-mcp.db"
    real_db.parent.mkdir(exist_ok=True)
    await write_real_ledger(real_db)
    env = clean_env(home, **extra)
    before_files, before_rows = files_of(real_db), rows_of(real_db, tmp_path)
    assert [r[0] for r in before_rows["ledger"]] == [REAL_CALL]

    # serve --simulate, through a real MCP client, making paid calls
    results = await paid_calls_through_a_simulated_server(env, tmp_path)
    assert not results["chat"].is_error and results["chat"].structured_content["cost_usd"] > 0
    assert not results["image"].is_error, results["image"].structured_content
    saved = Path(results["image"].structured_content["images"][0]["path"])
    assert saved.is_relative_to(home / "simulated" / "output" / "sealed") and saved.is_file()

    # demo, bench --simulate, models --simulate, doctor --simulate
    demo = await asyncio.to_thread(cli, ["demo"], env, tmp_path)
    assert "Simulated reply from openai/gpt-4o-mini" in demo.stdout and str(home / "simulated") in demo.stdout
    prompts = tmp_path / "one-prompt.jsonl"
    prompts.write_text(json.dumps({"prompt": "What is 2 + 2?", "expected": "4"}) + "\n")
    bench = await asyncio.to_thread(
        cli, ["bench", "--simulate", "--models", "bench/swift,bench/steady", "--prompts", str(prompts), "--runs", "1", "--warmup", "0"], env, tmp_path
    )
    assert "bench/swift" in bench.stdout and "bench/steady" in bench.stdout
    models = await asyncio.to_thread(cli, ["models", "--simulate", "sonnet", "4.5", "--limit", "1"], env, tmp_path)
    assert models.stdout.startswith("ID ")
    doctor = await asyncio.to_thread(cli, ["doctor", "--simulate"], env, tmp_path)
    sim_db = home / "simulated" / "openrouter-mcp.db"
    assert f"sqlite:///{sim_db} (the simulator's own)" in doctor.stdout
    assert f"{home / 'simulated' / 'output'} (the simulator's own)" in doctor.stdout
    assert f"the real ones (home {home}) are never touched" in doctor.stdout

    # The real database is byte-for-byte what it was, and so are its rows.
    assert files_of(real_db) == before_files
    assert rows_of(real_db, tmp_path) == before_rows
    # The real folders got nothing: no cache, no output, no media in the user's output folder.
    assert sorted(p.name for p in real_output.iterdir()) == ["keep.txt"]
    assert not (home / "cache").exists() and not (home / "output").exists()

    # The simulator's own database has every simulated call; its cache and output are beside it.
    sim_models = ledger_models(sim_db, tmp_path)
    assert sim_models.count("bench/swift") >= 1 and sim_models.count("bench/steady") >= 1
    assert sim_models.count("openai/gpt-4o-mini") >= 2  # serve's call and the demo's
    assert "sim/internal-error" in sim_models and REAL_MODEL not in sim_models
    assert (home / "simulated" / "cache" / "models.json").is_file()

    # `usage` reads the real ledger; `usage --simulate` the simulator's own.
    real_usage = json.loads((await asyncio.to_thread(cli, ["usage", "--json"], env, tmp_path)).stdout)
    assert [g["model"] for g in real_usage["by_model"]] == [REAL_MODEL]
    sim_usage = json.loads((await asyncio.to_thread(cli, ["usage", "--json", "--simulate"], env, tmp_path)).stdout)
    assert REAL_MODEL not in {g["model"] for g in sim_usage["by_model"]} and "bench/swift" in {g["model"] for g in sim_usage["by_model"]}
    assert files_of(real_db) == before_files


async def test_a_simulated_server_marks_every_result_and_a_real_one_none(simulator: RunningSimulator, tmp_path: Path) -> None:
    sim_results = await paid_calls_through_a_simulated_server(clean_env(tmp_path / "sim-home"), tmp_path)
    for name, result in sim_results.items():
        assert text_of(result).startswith(MARK_TEXT), name
        assert result.meta is not None and result.meta.get(MARK_KEY) is True, name
    assert sim_results["upstream"].is_error and sim_results["invalid"].is_error
    assert sim_results["invalid"].structured_content["error"]["code"] == "INVALID_INPUT"
    assert MARK_TEXT not in json.dumps(sim_results["chat"].structured_content)  # the structured output is untouched

    # The same calls to a server that uses the simulator as an ordinary OpenRouter base URL: no mark.
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=server_env(simulator, tmp_path / "real-home"))
    sim_params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve", "--simulate"], env=clean_env(tmp_path / "sim-home"))
    async with Client(params, read_timeout_seconds=120) as client:
        chat = await client.call_tool("chat_completion", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi."}]})
        failed = await client.call_tool("chat_completion", {"model": "sim/internal-error", "messages": [{"role": "user", "content": "hi"}]})
        real_tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in (await client.list_tools()).tools]
    for result in (chat, failed):
        assert not text_of(result).startswith(MARK_TEXT)
        assert MARK_KEY not in (result.meta or {})
    assert failed.is_error and not chat.is_error

    # Marking changes no schema: tools/list is the same, byte for byte, on both servers.
    async with Client(sim_params, read_timeout_seconds=120) as client:
        sim_tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in (await client.list_tools()).tools]
    assert json.dumps(sim_tools, sort_keys=True) == json.dumps(real_tools, sort_keys=True)


def test_a_postgresql_database_url_is_never_used_by_a_simulated_run(tmp_path: Path) -> None:
    # Nothing listens on port 9: a simulated run that touched this database would fail.
    env = clean_env(tmp_path / "home", OPENROUTER_MCP_DATABASE_URL="postgresql://real@127.0.0.1:9/real")
    prompts = tmp_path / "one-prompt.jsonl"
    prompts.write_text(json.dumps({"prompt": "What is 2 + 2?", "expected": "4"}) + "\n")
    cli(["bench", "--simulate", "--models", "bench/swift,bench/steady", "--prompts", str(prompts), "--runs", "1", "--warmup", "0"], env, tmp_path)
    usage = json.loads(cli(["usage", "--json", "--simulate"], env, tmp_path).stdout)
    assert {g["model"] for g in usage["by_model"]} >= {"bench/swift", "bench/steady"}
    doctor = cli(["doctor", "--simulate"], env, tmp_path)
    assert f"sqlite:///{tmp_path / 'home' / 'simulated' / 'openrouter-mcp.db'} (the simulator's own)" in doctor.stdout
    assert "127.0.0.1:9" not in doctor.stdout
