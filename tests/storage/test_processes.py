"""Several OS processes on one database: concurrent start-up migrations and a shared daily budget; and the
drivers staying out of the import of the storage package."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from openrouter_mcp.storage import open_storage

WORKER = Path(__file__).with_name("reserve_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["transaction", "now"])
async def test_two_processes_share_one_budget(storage_url: str, mode: str) -> None:
    cap, estimate, attempts = Decimal("2.00"), Decimal("0.01"), 150
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            storage_url,
            str(attempts),
            str(estimate),
            str(cap),
            now.isoformat(),
            mode,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(),
        )
        for _ in range(2)
    ]
    # Both are started before either opens the database, so their migrations and reservations overlap.
    for worker in workers:
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 20) == b"ready\n"
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate(b"go\n") for w in workers)), 60)
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()

    accepted = [int(out) for out, _ in outputs]
    assert sum(accepted) * estimate <= cap
    assert sum(accepted) == 200  # all that fit, from both processes together
    storage = await open_storage(storage_url)
    try:
        assert await storage.spent_usd(since=now - timedelta(days=1)) == cap
    finally:
        await storage.close()


def test_importing_the_package_loads_no_driver() -> None:
    probe = "import sys, openrouter_mcp.storage; print(sorted({'sqlite3', '_sqlite3', 'asyncpg'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], env=_env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
