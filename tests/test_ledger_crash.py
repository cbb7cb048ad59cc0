"""The ledger survives a killed server: `benchmarks/crash_ledger.py` SIGKILLs a server under 50-in-flight
load ten times at random moments, restarts it on the same database each time, and then checks that
every generation the simulator billed is accounted for (see the script for the invariants)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .pg import admin_connection

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "crash_ledger.py"


def crash(database: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--database", database, "--kills", "10", "--in-flight", "50", "--json"],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.stdout.strip(), run.stderr[-3000:]
    result: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_a_killed_server_loses_no_billed_generation(database: str) -> None:
    if database == "postgresql":
        await (await admin_connection()).close()  # skips (or, in CI, fails) when PostgreSQL is not there
    result = crash(database)
    assert result["problems"] == [], result
    assert result["kills"] == 10
    billed, in_ledger, missing, unknown = (int(result[k]) for k in ("generations_billed", "in_ledger_by_id", "billed_not_in_ledger", "unknown_rows"))  # type: ignore[call-overload]
    # Enough billed calls that the kills landed amid load: usually 150 to 250; 82 on a machine saturated by
    # three full test runs at once, which is why the floor is not higher.
    assert billed >= 40 and in_ledger + missing == billed
    # A billed generation whose id never reached the database is covered by an `unknown` row.
    assert missing <= unknown
    statuses = result["statuses"]
    assert isinstance(statuses, dict) and "pending" not in statuses
