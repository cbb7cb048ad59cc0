"""The budgets' running totals: equal to a fresh sum of the ledger rows after every kind of write, from two
processes at once, on both backends; rebuilt when lost or found wrong; and what the checks actually read."""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from openrouter_mcp.storage import BudgetedCall, BudgetRefused, LedgerOutcome, LedgerReservation, LedgerRow, Storage, connect, open_storage
from openrouter_mcp.storage.base import SQLStorage
from openrouter_mcp.storage.migrations import MIGRATIONS, migrate
from openrouter_mcp.storage.models import UserCaps
from openrouter_mcp.storage.sqlite import SQLiteStorage

from .test_processes import _env

pytestmark = pytest.mark.asyncio

WORKER = Path(__file__).with_name("totals_worker.py")
NOW = datetime(2026, 3, 15, 12, 30, tzinfo=UTC)


def call(call_id: str, estimate: str = "0.10", *, at: datetime = NOW, user: str = "local") -> LedgerReservation:
    return LedgerReservation(call_id=call_id, tool="chat", model_requested="m", estimate_usd=Decimal(estimate), caller=None, created_at=at, user_name=user)


def counted(row: LedgerRow) -> Decimal:
    """What a row counts against a budget, by the rule the ledger documents, computed here in Python."""
    if row.status in ("pending", "unknown") or row.cost_usd is not None or row.generation_id is not None:
        return row.cost_usd if row.cost_usd is not None else row.estimate_usd
    return Decimal(0)


async def expected_totals(storage: Storage, start: datetime, end: datetime) -> dict[tuple[str, str, str], Decimal]:
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for row in await storage.ledger(start=start, end=end):
        at = row.created_at.astimezone(UTC)
        for period in (f"{at:%Y-%m}", f"{at:%Y-%m-%d}"):
            sums[("server", "", period)] += counted(row)
            sums[("user", row.user_name, period)] += counted(row)
    return sums


async def stored_totals(storage: SQLStorage) -> dict[tuple[str, str, str], Decimal]:
    async with storage.connection() as conn:
        rows = await conn.fetch("SELECT scope, user_name, period, spent_e10 FROM budget_totals")
    return {(r["scope"], r["user_name"], r["period"]): Decimal(int(r["spent_e10"])) / 10**10 for r in rows}


async def test_totals_equal_a_fresh_sum_after_concurrent_writes_from_two_processes(storage_url: str) -> None:
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            storage_url,
            name,
            "120",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(),
        )
        for name in ("w1", "w2")
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 20) == b"ready\n"
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate(b"go\n") for w in workers)), 120)
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()
    counts = [tuple(map(int, out.split())) for out, _ in outputs]
    # The caps were in play: both processes had calls accepted and refused.
    assert all(accepted > 0 and refused > 0 for accepted, refused in counts), counts

    storage = await open_storage(storage_url)
    try:
        assert isinstance(storage, SQLStorage)
        expected = await expected_totals(storage, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
        stored = await stored_totals(storage)
        # Every window the reservations checked has its total, on both sides of the month's end...
        checked = {("server", "", p) for p in ("2026-03", "2026-03-31", "2026-04", "2026-04-01")}
        checked |= {("user", "alice", "2026-03-31"), ("user", "alice", "2026-04-01"), ("user", "bob", "2026-03"), ("user", "bob", "2026-04")}
        assert checked <= set(stored)
        # ...and every total equals the sum of its rows, as computed here from the rows themselves.
        assert {key: stored[key] for key in stored} == {key: expected.get(key, Decimal(0)) for key in stored}
        assert await storage.verify_budget_totals(now=datetime(2026, 3, 31, 12, tzinfo=UTC)) == []
        assert await storage.verify_budget_totals(now=datetime(2026, 4, 1, 12, tzinfo=UTC)) == []
        assert expected[("server", "", "2026-04-01")] > 0 and expected[("server", "", "2026-03-31")] > 0
    finally:
        await storage.close()


async def test_a_lost_totals_row_is_rebuilt_from_the_rows(storage: Storage) -> None:
    assert isinstance(storage, SQLStorage)
    cap = Decimal("1.00")
    for i in range(4):
        await storage.reserve(call(f"c{i}", "0.20"), daily_cap_usd=cap, monthly_cap_usd=cap, now=NOW)
    await storage.settle("c0", LedgerOutcome("ok", cost_usd=Decimal("0.05")))
    await storage.settle("c1", LedgerOutcome("error", cost_usd=Decimal(0), error_code="X"))
    assert (await stored_totals(storage))[("server", "", "2026-03-15")] == Decimal("0.45")

    async with storage.connection() as conn:
        assert await conn.execute("DELETE FROM budget_totals") == 2  # the server's day and month
    # Written while the windows have no totals: the rows have it, and the next check sums them.
    await storage.record(call("uncapped", "0.30"), LedgerOutcome("ok", cost_usd=Decimal("0.30")))
    with pytest.raises(BudgetRefused) as refused:
        await storage.reserve(call("big", "0.26"), daily_cap_usd=cap, monthly_cap_usd=None, now=NOW)
    assert refused.value.spent_usd == Decimal("0.75")
    await storage.reserve(call("fits", "0.25"), daily_cap_usd=cap, monthly_cap_usd=None, now=NOW)
    totals = await stored_totals(storage)
    assert totals[("server", "", "2026-03-15")] == Decimal("1.00")
    assert ("server", "", "2026-03") not in totals  # no monthly cap was checked: not built
    await storage.check_budget(Decimal(0), daily_cap_usd=None, monthly_cap_usd=cap, now=NOW)
    assert (await stored_totals(storage))[("server", "", "2026-03")] == Decimal("1.00")


async def test_a_wrong_total_is_found_and_repaired(storage: Storage) -> None:
    assert isinstance(storage, SQLStorage)
    caps = UserCaps("ann", daily_cap_usd=Decimal("5"), monthly_cap_usd=Decimal("5"))
    await storage.reserve(call("a", "0.40", user="ann"), daily_cap_usd=Decimal(5), monthly_cap_usd=None, now=NOW, user=caps)
    await storage.reserve(call("b", "0.10", user="bo"), daily_cap_usd=Decimal(5), monthly_cap_usd=None, now=NOW)
    assert await storage.verify_budget_totals(now=NOW) == []

    # The check reads the totals, not the rows: a total pushed up by hand refuses a call the rows allow.
    async with storage.connection() as conn:
        await conn.execute("UPDATE budget_totals SET spent_e10 = 49000000000 WHERE scope = 'user' AND period = '2026-03-15'")
    with pytest.raises(BudgetRefused) as refused:
        await storage.reserve(call("c", "0.20", user="ann"), daily_cap_usd=None, monthly_cap_usd=None, now=NOW, user=caps)
    assert (refused.value.scope, refused.value.window, refused.value.spent_usd) == ("user", "daily", Decimal("4.9"))

    [mismatch] = await storage.verify_budget_totals(now=NOW)
    assert (mismatch.scope, mismatch.user_name, mismatch.period, mismatch.stored_usd, mismatch.rows_usd) == (
        "user",
        "ann",
        "2026-03-15",
        Decimal("4.9"),
        Decimal("0.4"),
    )
    assert await storage.verify_budget_totals(now=NOW, repair=True) == [mismatch]
    assert await storage.verify_budget_totals(now=NOW) == []
    await storage.reserve(call("c", "0.20", user="ann"), daily_cap_usd=None, monthly_cap_usd=None, now=NOW, user=caps)

    # A total that cannot be right (below zero) is not trusted: the check sums the rows again.
    async with storage.connection() as conn:
        await conn.execute("UPDATE budget_totals SET spent_e10 = -1 WHERE scope = 'server' AND period = '2026-03-15'")
    with pytest.raises(BudgetRefused) as refused:
        await storage.reserve(call("d", "0.31"), daily_cap_usd=Decimal("1.00"), monthly_cap_usd=None, now=NOW)
    assert refused.value.spent_usd == Decimal("0.70")
    assert await storage.verify_budget_totals(now=NOW) == []


async def test_a_batch_sees_its_own_reservations_and_refuses_one_call_at_a_time(storage: Storage) -> None:
    cap = Decimal("0.50")
    items = [BudgetedCall(call(f"c{i}", "0.20"), cap, None, NOW) for i in range(3)]
    items.append(BudgetedCall(call("c0", "0.01"), None, None, NOW))  # a call_id taken earlier in the batch
    items.append(BudgetedCall(call("nan", "NaN"), None, None, NOW))
    items.append(BudgetedCall(call("small", "0.10"), cap, None, NOW))
    results = await storage.reserve_many(items)
    assert results[:2] == [None, None]
    assert isinstance(results[2], BudgetRefused) and results[2].spent_usd == Decimal("0.40")
    assert isinstance(results[3], ValueError) and "already in the ledger" in str(results[3])
    assert isinstance(results[4], ValueError) and "finite" in str(results[4])
    assert results[5] is None  # exactly at the cap: neither the refused call nor the duplicate counted
    rows = await storage.ledger(start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1))
    assert sorted(r.call_id for r in rows) == ["c0", "c1", "small"]
    assert await storage.spent_usd(since=NOW.replace(hour=0)) == Decimal("0.50")
    [again] = await storage.reserve_many([BudgetedCall(call("c1", "0.01"), None, None, NOW)])
    assert isinstance(again, ValueError) and "already in the ledger" in str(again)


async def test_an_old_ledger_gets_its_totals_from_its_rows(storage_url: str) -> None:
    old = await connect(storage_url)
    try:
        await migrate(old, target=len(MIGRATIONS) - 1)
        for i in range(3):  # rows written before the totals existed
            await old.record(call(f"old{i}", "0.30"), LedgerOutcome("ok", cost_usd=Decimal("0.30")))
    finally:
        await old.close()
    storage = await open_storage(storage_url)
    try:
        with pytest.raises(BudgetRefused) as refused:
            await storage.reserve(call("new", "0.20"), daily_cap_usd=Decimal("1.00"), monthly_cap_usd=None, now=NOW)
        assert refused.value.spent_usd == Decimal("0.90")
    finally:
        await storage.close()


async def test_a_lone_reservation_that_fits_is_one_statement_and_one_that_does_not_is_refused_as_before(tmp_path: Path) -> None:
    # On SQLite a lone budgeted call is reserved at once on the event loop's thread (`reserve_now`). Once
    # its windows have their running totals, a call that fits is one INSERT that reads them under the
    # write lock; everything else (the first call of a window, a refusal, a call_id already there) runs
    # the whole reservation, which says why.
    storage = await open_storage(f"sqlite:///{tmp_path}/one.db")
    assert isinstance(storage, SQLiteStorage)
    caps = UserCaps("alice", daily_cap_usd=Decimal("0.50"), monthly_cap_usd=Decimal("5"))
    statements: list[str] = []
    storage.con.set_trace_callback(statements.append)
    try:

        def lone(call_id: str, estimate: str) -> list[Exception | None] | None:
            statements.clear()
            return storage.reserve_now([BudgetedCall(call(call_id, estimate, user="alice"), Decimal("1.00"), Decimal("10"), NOW, caps)])

        assert lone("first", "0.20") == [None]  # builds the four windows' totals: the whole reservation
        assert any(s.startswith("BEGIN") for s in statements), statements
        assert lone("second", "0.20") == [None]
        # One statement (SQLite's trace names it again for each trigger it runs), that reads the totals.
        assert len(set(statements)) == 1 and statements[0].startswith("INSERT INTO ledger") and "budget_totals" in statements[0], statements
        # 0.40 of alice's 0.50 a day is spent: 0.20 more is refused, by her daily window, with what she spent.
        [refused] = lone("third", "0.20") or [None]
        assert isinstance(refused, BudgetRefused), refused
        assert (refused.scope, refused.user_name, refused.window, refused.spent_usd) == ("user", "alice", "daily", Decimal("0.40"))
        assert any(s.startswith("BEGIN") for s in statements), statements
        # A call_id already in the ledger writes nothing, and is refused as before.
        [again] = lone("first", "0.0001") or [None]
        assert isinstance(again, ValueError) and "already in the ledger" in str(again)
        # Exactly at the cap still fits, in one statement.
        assert lone("fourth", "0.10") == [None]
        assert len(set(statements)) == 1 and statements[0].startswith("INSERT INTO ledger"), statements
        rows = await storage.ledger(start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1))
        assert sorted(r.call_id for r in rows) == ["first", "fourth", "second"]
        assert all(r.status == "pending" and r.user_name == "alice" for r in rows)
        assert await storage.verify_budget_totals(now=NOW) == []
    finally:
        storage.con.set_trace_callback(None)
        await storage.close()
