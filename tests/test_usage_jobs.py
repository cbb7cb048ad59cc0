"""get_usage_stats, get_account, get_generation, get_job and cancel_job through a real MCP client."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.storage import open_storage

from .conftest import ClientHolder, HttpServer, error_of, only_ledger_row_once_costed, server_env


def data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    out: dict[str, Any] = result.structured_content
    return out


@pytest.fixture
async def own_server(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[tuple[Client, Path]]:
    """A server with a ledger of its own, so totals cover only this test's calls."""
    env = server_env(simulator, tmp_path, OPENROUTER_MCP_RECONCILE_INTERVAL_S="0.2", OPENROUTER_MCP_JOB_STALE_AFTER_S="5")
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)
    async with ClientHolder(params) as client:
        yield client, tmp_path


async def test_usage_stats_match_the_ledger_for_every_breakdown(own_server: tuple[Client, Path]) -> None:
    client, home = own_server
    for i, model in enumerate(
        ["openai/gpt-4o-mini", "openai/gpt-4o-mini", "anthropic/claude-3.5-haiku", "google/gemini-2.5-flash", "sim/internal-error", "sim/mid-stream-error"]
    ):
        await client.call_tool("chat_completion", {"model": model, "messages": [{"role": "user", "content": f"usage {i}"}]})
    data(await client.call_tool("get_usage_stats", {}))  # flushes this server's queued ledger rows
    storage = await open_storage(f"sqlite:///{home}/openrouter-mcp.db")
    try:
        for _ in range(50):  # the mid-stream error's cost comes from the reconciler
            rows = await storage.ledger(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime.now(UTC) + timedelta(days=1))
            if all(r.cost_usd is not None for r in rows):
                break
            await asyncio.sleep(0.2)
    finally:
        await storage.close()
    stats = data(await client.call_tool("get_usage_stats", {}))

    def expect(key: str) -> dict[str, tuple[int, int, Decimal]]:
        out: dict[str, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
        for r in rows:
            name = getattr(r, key) or "(no answer)"
            out[name][0] += 1
            out[name][1] += r.prompt_tokens + r.completion_tokens
            out[name][2] += r.cost_usd or Decimal(0)
        return {k: (v[0], v[1], v[2]) for k, v in out.items()}

    for field, key, label in (("by_model", "model_used", "model"), ("by_tool", "tool", "tool"), ("by_provider", "provider", "provider")):
        got = {g[label]: (g["requests"], g["tokens"], Decimal(repr(g["cost"]))) for g in stats[field]}
        want = {k: (n, t, Decimal(repr(float(c)))) for k, (n, t, c) in expect(key).items()}
        assert got == want, field
    total = sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))
    assert stats["summary"]["total_requests"] == len(rows) == 6
    assert stats["summary"]["total_errors"] == 2
    assert Decimal(repr(stats["summary"]["total_cost"])) == Decimal(repr(float(total)))
    today = datetime.now(UTC).date().isoformat()
    (day,) = stats["data"]
    assert day["date"] == today and day["requests"] == 6
    assert {m["model"] for m in day["models"]} == {r.model_used or "(no answer)" for r in rows}
    assert stats["top_costs"][0]["cost"] == max(float(r.cost_usd or 0) for r in rows)
    assert data(await client.call_tool("get_usage_stats", {"start_date": "2001-01-01", "end_date": "2001-01-31"}))["summary"]["total_requests"] == 0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"start_date": "2026-13-01"}, "start_date"),
        ({"end_date": "yesterday"}, "end_date"),
        ({"start_date": "2026-02-10", "end_date": "2026-02-01"}, "start_date"),
        ({"start_date": "2020-01-01", "end_date": "2026-01-01"}, "start_date"),
    ],
)
async def test_bad_dates_are_refused(stdio_client: Client, args: dict[str, str], field: str) -> None:
    error = error_of(await stdio_client.call_tool("get_usage_stats", args))
    assert error["code"] == "INVALID_INPUT" and field in error["message"]


async def test_account_and_generation(stdio_client: Client) -> None:
    account = data(await stdio_client.call_tool("get_account", {}))
    assert account["credits"] is None and "management key" in account["credits_note"]
    assert account["free_daily_requests"]["limit"] == 1000
    assert set(account["local_budget"]) == {"spent_today_usd", "spent_this_month_usd", "daily_budget_usd", "monthly_budget_usd"}
    chat = data(await stdio_client.call_tool("chat_completion", {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "generation stats"}]}))
    after = data(await stdio_client.call_tool("get_account", {}))
    assert abs(after["usage_usd"]["total"] - account["usage_usd"]["total"] - chat["cost_usd"]) < 1e-9
    gen = data(await stdio_client.call_tool("get_generation", {"generation_id": chat["generation_id"]}))
    assert gen["generation_id"] == chat["generation_id"]
    assert gen["cost_usd"] == chat["cost_usd"] and gen["model"] == "openai/gpt-4o"
    assert gen["tokens"]["prompt"] == chat["usage"]["prompt_tokens"]
    error = error_of(await stdio_client.call_tool("get_generation", {"generation_id": "gen-does-not-exist"}))
    assert error["code"] == "INVALID_INPUT" and "generation_id" in error["message"]


async def test_unknown_job_is_invalid_input(stdio_client: Client) -> None:
    error = error_of(await stdio_client.call_tool("get_job", {"job_id": "job-nope"}))
    assert error["code"] == "INVALID_INPUT" and "job_id" in error["message"]


async def test_cancel_job_stops_the_work(own_server: tuple[Client, Path]) -> None:
    client, home = own_server
    pending = error_of(
        await client.call_tool("chat_completion", {"model": "sim/slow-180s", "wait_seconds": 1, "messages": [{"role": "user", "content": "cancel me"}]})
    )
    assert pending["code"] == "JOB_PENDING"
    job_id = pending["details"]["job_id"]
    cancelled = data(await client.call_tool("cancel_job", {"job_id": job_id}))
    assert cancelled["status"] == "cancelled" and cancelled["cancel_requested"] is True
    # The generation had started: its cost (nothing was generated) comes from the reconciler.
    row = await only_ledger_row_once_costed(f"sqlite:///{home}/openrouter-mcp.db")
    assert row.status == "cancelled" and row.cost_usd == Decimal(0)


async def test_job_of_a_stopped_server_is_failed_not_left_running(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path, OPENROUTER_MCP_JOB_STALE_AFTER_S="3")
    first = HttpServer(env, tmp_path / "first.log")
    try:
        async with ClientHolder(first.url) as client:
            pending = error_of(
                await client.call_tool("chat_completion", {"model": "sim/slow-180s", "wait_seconds": 0.5, "messages": [{"role": "user", "content": "orphan"}]})
            )
    finally:
        os.kill(first.proc.pid, signal.SIGKILL)  # no clean shutdown: the job's owner just vanishes
        first.stop()
    second = HttpServer(env, tmp_path / "second.log")
    try:
        async with ClientHolder(second.url) as client:
            await asyncio.sleep(3.5)
            job = data(await client.call_tool("get_job", {"job_id": pending["details"]["job_id"]}))
    finally:
        second.stop()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "JOB_FAILED" and "stopped" in job["error"]["message"]


async def test_three_minute_call_becomes_a_job_and_matches_a_direct_call(simulator: RunningSimulator, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path)
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)
    args = {"model": "sim/slow-180s", "messages": [{"role": "user", "content": "take your time"}]}
    async with ClientHolder(params) as client:
        direct_progress: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            direct_progress.append(progress)

        direct = asyncio.create_task(client.call_tool("chat_completion", args, read_timeout_seconds=400, progress_callback=on_progress))
        started = time.monotonic()
        pending = error_of(await client.call_tool("chat_completion", {**args, "wait_seconds": 10}))
        assert pending["code"] == "JOB_PENDING" and 9 <= time.monotonic() - started < 30
        job_id = pending["details"]["job_id"]
        messages = []
        while True:
            job = data(await client.call_tool("get_job", {"job_id": job_id, "wait_seconds": 30}, read_timeout_seconds=60))
            messages.append(job["message"])
            if job["status"] != "running":
                break
        direct_result = data(await direct)
    assert job["status"] == "succeeded", job
    assert len(set(messages)) >= 4  # progress kept arriving while the model was silent
    assert len(direct_progress) >= 60  # at least every 5 s for three minutes
    result = job["result"]
    for key in ("text", "model", "usage", "cost_usd", "finish_reason", "provider"):
        assert result[key] == direct_result[key], key
    assert result["generation_id"] != direct_result["generation_id"]


async def test_usage_cli_prints_a_table_and_writes_a_chart(own_server: tuple[Client, Path]) -> None:
    import subprocess

    from PIL import Image

    client, home = own_server
    for model in ("openai/gpt-4o-mini", "anthropic/claude-3.5-haiku", "anthropic/claude-3.5-haiku"):
        await client.call_tool("chat_completion", {"model": model, "messages": [{"role": "user", "content": "cli"}]})
    stats = data(await client.call_tool("get_usage_stats", {}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(home)
    chart = home / "charts" / "usage.png"
    out = subprocess.run(
        [sys.executable, "-m", "openrouter_mcp", "usage", "--days", "7", "--by", "model", "--plot", str(chart)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "anthropic/claude-3.5-haiku" in out.stdout and "openai/gpt-4o-mini" in out.stdout
    haiku = next(line for line in out.stdout.splitlines() if line.startswith("anthropic/claude-3.5-haiku"))
    want = next(g for g in stats["by_model"] if g["model"] == "anthropic/claude-3.5-haiku")
    assert haiku.split()[1] == "2" and f"{want['cost']:.6f}" in haiku
    image = Image.open(chart)
    assert image.format == "PNG" and image.size[0] == 900
    bars = sum(1 for px in image.get_flattened_data() if px == (52, 101, 164))
    assert bars > 500  # the cost bars were drawn
    as_json = subprocess.run([sys.executable, "-m", "openrouter_mcp", "usage", "--json"], env=env, capture_output=True, text=True, check=True)
    import json

    assert json.loads(as_json.stdout)["summary"]["total_requests"] == 3
