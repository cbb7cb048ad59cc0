"""The ledger end to end, on SQLite and PostgreSQL: hundreds of concurrent paid calls through a real MCP
client, some failing, some cancelled, leave exactly one row per upstream generation and a total that
equals what the simulator billed; budgets shared by two server processes are never overspent."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.simulator.server import RunningSimulator, start_in_thread
from openrouter_mcp.storage import open_storage

from .conftest import ClientHolder, HttpServer, server_env
from .pg import schema_url


@pytest.fixture
def own_simulator() -> Any:
    """A simulator of its own, so its billing total covers only this test's calls."""
    sim = start_in_thread()
    yield sim
    sim.stop()



def simulator_generations(sim: RunningSimulator) -> tuple[list[dict[str, Any]], Decimal]:
    with urllib.request.urlopen(sim.url + "/_sim/generations") as resp:
        payload = json.load(resp)
    return payload["data"], Decimal(payload["usage_usd"])


def key_usage(sim: RunningSimulator) -> Decimal:
    req = urllib.request.Request(sim.api_url + "/key", headers={"Authorization": "Bearer sk-or-test-0000"})
    with urllib.request.urlopen(req) as resp:
        return Decimal(repr(json.load(resp)["data"]["usage"]))


# (model, share of the calls, what the client does)
MIX = [
    ("openai/gpt-4o-mini", 0.45, "wait"),
    ("anthropic/claude-3.5-haiku", 0.15, "wait"),
    ("sim/rate-limit-once", 0.05, "wait"),
    ("sim/internal-error", 0.08, "wait"),
    ("sim/mid-stream-error", 0.08, "wait"),
    ("sim/bad-json", 0.04, "wait"),
    ("sim/trickle", 0.15, "cancel"),
]


async def test_concurrent_calls_leave_one_row_per_generation_and_match_the_bill(own_simulator: RunningSimulator, database_url: str, tmp_path: Path) -> None:
    calls = 500
    env = server_env(own_simulator, tmp_path, OPENROUTER_MCP_DATABASE_URL=database_url, OPENROUTER_MCP_RECONCILE_INTERVAL_S="0.3")
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)
    plan = [(model, how) for model, share, how in MIX for _ in range(round(share * calls))]
    outcomes: Counter[str] = Counter()

    async with ClientHolder(params) as client:

        async def one(i: int, model: str, how: str) -> None:
            arguments = {"model": model, "messages": [{"role": "user", "content": f"question {i}"}]}
            if how == "cancel":
                # Cancel mid-stream: a while after the first progress report says the reply is streaming.
                # (A timer started at submission would, on a busy machine, fire while the call is still
                # queued behind the 400 before it, and nothing would be sent at all.)
                streaming = asyncio.Event()

                async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                    streaming.set()

                call = asyncio.ensure_future(client.call_tool("chat_completion", arguments, progress_callback=on_progress))
                started = asyncio.ensure_future(streaming.wait())
                await asyncio.wait({call, started}, return_when=asyncio.FIRST_COMPLETED)
                started.cancel()
                try:
                    await asyncio.wait_for(call, timeout=0.2 + (i % 5) * 0.2)
                    outcomes["finished before cancel"] += 1
                except TimeoutError:
                    outcomes["cancelled"] += 1
                return
            result = await client.call_tool("chat_completion", arguments)
            outcomes["error" if result.is_error else "ok"] += 1

        await asyncio.gather(*(one(i, model, how) for i, (model, how) in enumerate(plan)))
        assert outcomes["ok"] > 250 and outcomes["error"] > 50 and outcomes["cancelled"] > 30, outcomes

        storage = await open_storage(database_url)
        try:
            # Let cancelled streams close and the reconciler read costs the responses did not carry.
            # Settled means: nothing waits for a cost, every generation is in the ledger, and neither the
            # ledger nor the simulator has changed for two polls in a row (cancelled streams and their rows
            # land a little after the client gave up on them, so one quiet poll can come too early).
            deadline = time.monotonic() + 60
            seen: tuple[int, int] | None = None
            while True:
                rows = await storage.ledger(start=_epoch(), end=_future())
                pending = [r for r in rows if r.status == "pending" or (r.generation_id and r.cost_usd is None)]
                generations, billed = simulator_generations(own_simulator)
                now = (len(rows), len(generations))
                if (not pending and len([r for r in rows if r.generation_id]) >= len(generations) and now == seen) or time.monotonic() > deadline:
                    break
                seen = now
                await asyncio.sleep(1.0)
        finally:
            await storage.close()

    # One row per call that reached the ledger: every call the client waited for, and each cancelled call
    # unless it was cancelled while still queued in the server, before anything was sent.
    per_model = Counter(r.model_requested for r in rows)
    for model, _share, how in MIX:
        planned = sum(1 for m, _ in plan if m == model)
        assert per_model[model] == planned if how == "wait" else 0 < per_model[model] <= planned, (model, per_model[model], planned)
    ledger_ids = Counter(r.generation_id for r in rows if r.generation_id)
    assert all(n == 1 for n in ledger_ids.values()), [g for g, n in ledger_ids.items() if n > 1]
    assert set(ledger_ids) == {g["id"] for g in generations}, [g for g in generations if g["id"] not in ledger_ids]
    assert not pending, pending[:3]
    total = sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))
    assert abs(total - billed) < Decimal("0.000001")  # exact up to the float digits of usage.cost
    assert round(total, 2) == round(key_usage(own_simulator), 2)  # to the cent, against GET /key usage
    assert {r.caller for r in rows} == {"mcp"}  # over stdio: the client's name from initialize
    statuses = Counter(r.status for r in rows)
    assert statuses["cancelled"] + statuses["not_sent"] > 0 and statuses["error"] > 0, statuses


async def test_two_servers_sharing_a_database_never_overspend_the_daily_budget(own_simulator: RunningSimulator, tmp_path: Path) -> None:
    cap = Decimal("0.002")
    async with schema_url("budget_e2e") as url:
        servers = [
            HttpServer(server_env(own_simulator, tmp_path / f"home{n}", OPENROUTER_MCP_DATABASE_URL=url, OPENROUTER_MCP_DAILY_BUDGET_USD=str(cap)), tmp_path / f"server{n}.log")
            for n in range(2)
        ]
        try:
            results: Counter[str] = Counter()
            async with ClientHolder(servers[0].url) as a, ClientHolder(servers[1].url) as b:

                async def one(i: int) -> None:
                    client = a if i % 2 else b
                    # gpt-4o-mini: worst case ~ (prompt + 200 completion tokens) x price, about $0.00013 a call.
                    result = await client.call_tool("chat_completion", {"model": "openai/gpt-4o-mini", "max_tokens": 200, "messages": [{"role": "user", "content": f"budget {i}"}]})
                    code = (result.structured_content or {}).get("error", {}).get("code") if result.is_error else "ok"
                    results[str(code)] += 1

                await asyncio.gather(*(one(i) for i in range(60)))
        finally:
            for server in servers:
                server.stop()
        storage = await open_storage(url)
        try:
            rows = await storage.ledger(start=_epoch(), end=_future())
            spent = await storage.spent_usd(since=_epoch())
        finally:
            await storage.close()
    assert results["BUDGET_EXCEEDED"] > 0 and results["ok"] > 0, results
    assert spent <= cap
    assert sum((r.cost_usd or Decimal(0)) for r in rows) <= cap
    assert {r.caller for r in rows} == {"mcp@127.0.0.1"}  # over HTTP: the client's name and address
    _, billed = simulator_generations(own_simulator)
    assert billed <= cap  # what OpenRouter actually billed stayed inside the budget too


def _epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


def _future() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(days=1)
