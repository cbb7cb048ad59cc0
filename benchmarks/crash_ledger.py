"""Crash test for the ledger: a server under load is killed (SIGKILL) again and again and restarted on
the same database; then the ledger must account for every generation the simulator billed.

Each round starts `openrouter-mcp serve --http` on the database, drives it with --in-flight concurrent
chat_completion calls through a real MCP client (a mix of quick replies, slow streams and mid-stream
errors), and kills it at a random moment. After the last round one more server starts and is left idle
for the settle window, in which it settles what the killed ones left. Then:

  - no row is left pending, and none still waits for its cost;
  - no generation id is in the ledger twice;
  - every row with a generation id has exactly the simulator's cost for it;
  - each billed generation that is not in the ledger by id (its id never reached the database before
    the kill) is covered by an `unknown` row, whose estimate bounds what it cost.

Run:  python benchmarks/crash_ledger.py [--database sqlite|postgresql|URL] [--kills 10] [--in-flight 50] [--json]
Exit status 1 when an invariant fails. PostgreSQL: OPENROUTER_MCP_TEST_PG_URL (default
postgresql://postgres@127.0.0.1:5432/test); the run uses a schema of its own and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from mcp import Client

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.simulator.server import RunningSimulator, start_in_thread
from openrouter_mcp.storage import open_storage

PG_URL = os.environ.get("OPENROUTER_MCP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MODELS = ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku", "sim/trickle", "sim/mid-stream-error"]
SETTLE_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(sim: RunningSimulator, home: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env.update(
        OPENROUTER_BASE_URL=sim.api_url,
        OPENROUTER_API_KEY=SIMULATOR_KEY,
        OPENROUTER_MCP_HOME=str(home),
        OPENROUTER_MCP_DATABASE_URL=database_url,
        OPENROUTER_MCP_RETRY_MAX_WAIT_S="1",
        # A short stale window and reconcile interval, so the run settles in seconds, not minutes.
        OPENROUTER_MCP_JOB_STALE_AFTER_S="3",
        OPENROUTER_MCP_RECONCILE_INTERVAL_S="0.5",
    )
    return env


def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "openrouter_mcp", "serve", "--http", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited at start-up; see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return proc, f"http://127.0.0.1:{port}/mcp"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start in 30 s")


async def load_until_killed(url: str, proc: subprocess.Popen[bytes], in_flight: int, kill_after_s: float, rng: random.Random) -> int:
    """Keep `in_flight` calls going until the server is killed `kill_after_s` in; returns calls started."""
    started = 0
    killed = asyncio.Event()

    async def worker(client: Client, n: int) -> None:
        nonlocal started
        while not killed.is_set():
            started += 1
            model = MODELS[(n + started) % len(MODELS)]
            with contextlib.suppress(Exception):
                await client.call_tool("chat_completion", {"model": model, "messages": [{"role": "user", "content": f"question {n}-{started}"}]})

    async def killer() -> None:
        await asyncio.sleep(kill_after_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed.set()

    kill = asyncio.create_task(killer())
    with contextlib.suppress(Exception):
        async with asyncio.timeout(kill_after_s + 15):
            async with Client(url) as client:
                workers = [asyncio.create_task(worker(client, n)) for n in range(in_flight)]
                await killed.wait()
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
    await kill
    return started


def billed(sim: RunningSimulator) -> dict[str, Decimal]:
    with urllib.request.urlopen(sim.url + "/_sim/generations") as resp:
        payload = json.load(resp)
    return {g["id"]: Decimal(g["cost"]) for g in payload["data"]}


async def settled_ledger(database_url: str) -> list[Any]:
    """The ledger once nothing is pending and no cost is awaited (or when SETTLE_TIMEOUT_S runs out)."""
    storage = await open_storage(database_url)
    try:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        start, end = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
        while True:
            rows = await storage.ledger(start=start, end=end)
            open_rows = [r for r in rows if r.status == "pending" or (r.generation_id and r.cost_usd is None)]
            if not open_rows or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.5)
    finally:
        await storage.close()


@contextlib.asynccontextmanager
async def database(kind: str, home: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{home}/ledger.db"
        return
    if kind != "postgresql":
        yield kind
        return
    import asyncpg

    admin = await asyncpg.connect(PG_URL, timeout=5)
    schema = f"crash_{uuid.uuid4().hex}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def crash_run(kind: str, kills: int, in_flight: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    sim = start_in_thread()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            log = home / "servers.log"
            async with database(kind, home) as url:
                env = server_env(sim, home, url)
                calls = 0
                moments = []
                for _ in range(kills):
                    proc, mcp_url = start_server(env, log)
                    moment = rng.uniform(0.5, 2.5)
                    moments.append(round(moment, 2))
                    calls += await load_until_killed(mcp_url, proc, in_flight, moment, rng)
                # One more server, left idle: it settles what the killed ones left.
                proc, _ = start_server(env, log)
                try:
                    rows = await settled_ledger(url)
                finally:
                    proc.terminate()
                    proc.wait(10)
                bill = billed(sim)
    finally:
        sim.stop()
    return check(kind, kills, in_flight, calls, moments, rows, bill)


def check(kind: str, kills: int, in_flight: int, calls: int, moments: list[float], rows: list[Any], bill: dict[str, Decimal]) -> dict[str, Any]:
    ids = Counter(r.generation_id for r in rows if r.generation_id)
    doubled = [g for g, n in ids.items() if n > 1]
    wrong_cost = [r.generation_id for r in rows if r.generation_id in bill and r.cost_usd is not None and abs(r.cost_usd - bill[r.generation_id]) > Decimal("0.000000001")]
    not_billed = [g for g in ids if g not in bill]
    missing = {g: c for g, c in bill.items() if g not in ids}
    unknown = [r for r in rows if r.status == "unknown"]
    still_open = [r for r in rows if r.status == "pending" or (r.generation_id and r.cost_usd is None)]
    statuses = Counter(r.status for r in rows)
    ledger_total = sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))
    unknown_bound = sum((r.estimate_usd for r in unknown), Decimal(0))
    problems = []
    if still_open:
        problems.append(f"{len(still_open)} rows still pending or waiting for their cost")
    if doubled:
        problems.append(f"{len(doubled)} generations in the ledger twice")
    if wrong_cost:
        problems.append(f"{len(wrong_cost)} rows whose cost differs from the bill")
    if not_billed:
        problems.append(f"{len(not_billed)} ledger generation ids the simulator never billed")
    if len(missing) > len(unknown) or sum(missing.values(), Decimal(0)) > unknown_bound:
        problems.append(f"{len(missing)} billed generations not in the ledger, but only {len(unknown)} unknown rows (bound ${unknown_bound})")
    return {
        "database": kind,
        "kills": kills,
        "in_flight": in_flight,
        "kill_moments_s": moments,
        "calls_started": calls,
        "ledger_rows": len(rows),
        "statuses": dict(statuses),
        "generations_billed": len(bill),
        "in_ledger_by_id": len(bill) - len(missing),
        "billed_not_in_ledger": len(missing),
        "unknown_rows": len(unknown),
        "billed_usd": str(sum(bill.values(), Decimal(0))),
        "ledger_usd": str(ledger_total),
        "not_in_ledger_usd": str(sum(missing.values(), Decimal(0))),
        "unknown_bound_usd": str(unknown_bound),
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a database URL")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    # The killed servers' sockets make asyncio warn on every write the client still tries; that is expected.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    result = asyncio.run(crash_run(args.database, args.kills, args.in_flight, args.seed))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:22} {value}")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
