"""`openrouter-mcp doctor` checks the budgets' running totals against the ledger rows and repairs one that
disagrees, run for real as a subprocess on a real SQLite ledger."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from openrouter_mcp.storage import LedgerOutcome, LedgerReservation, open_storage


def doctor(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(home)
    out = subprocess.run([sys.executable, "-m", "openrouter_mcp", "doctor", "--simulate"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


async def spend(db: Path) -> None:
    storage = await open_storage(f"sqlite:///{db}")
    try:
        now = datetime.now(UTC)
        for i, cost in enumerate(("0.25", "0.5")):
            call = LedgerReservation(f"c{i}", "chat_completion", "m", Decimal("1"), None, now)
            await storage.reserve(call, daily_cap_usd=Decimal(10), monthly_cap_usd=Decimal(100), now=now)
            await storage.settle(call.call_id, LedgerOutcome("ok", cost_usd=Decimal(cost)))
    finally:
        await storage.close()


def test_doctor_repairs_a_running_total_that_disagrees_with_the_rows(tmp_path: Path) -> None:
    assert "[ok ] budgets        no ledger yet" in doctor(tmp_path)
    db = tmp_path / "simulated" / "openrouter-mcp.db"
    asyncio.run(spend(db))
    assert "[ok ] budgets        running totals of today and this month match the ledger" in doctor(tmp_path)

    day = f"{datetime.now(UTC):%Y-%m-%d}"
    with sqlite3.connect(db) as con:
        assert con.execute("UPDATE budget_totals SET spent_e10 = 7 WHERE period = ?", (day,)).rowcount == 1
    out = doctor(tmp_path)
    assert f"repaired the server's total for {day}: $0.0000000007 stored, $0.7500000000 in the ledger rows" in out
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT spent_e10 FROM budget_totals WHERE period = ?", (day,)).fetchone() == (7_500_000_000,)
    assert "running totals of today and this month match the ledger" in doctor(tmp_path)
