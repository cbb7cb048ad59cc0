"""The two listings the dashboard reads, on SQLite and PostgreSQL: the ledger's calls newest first a page at
a time (`latest_calls`), and jobs running first then newest (`recent_jobs`), of one user or of everyone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from openrouter_mcp.storage import LedgerOutcome, LedgerReservation, open_storage


async def test_latest_calls_pages_newest_first_and_keeps_users_apart(database_url: str) -> None:
    storage = await open_storage(database_url)
    try:
        start = datetime(2026, 3, 1, 12, tzinfo=UTC)
        for i in range(7):
            user = "ann" if i % 2 == 0 else "bob"
            call = LedgerReservation(
                call_id=f"c{i}",
                tool="chat",
                model_requested=f"m/{i}",
                estimate_usd=Decimal("0.01"),
                caller=None,
                created_at=start + timedelta(minutes=i),
                user_name=user,
            )
            await storage.record(call, LedgerOutcome(status="ok", model_used=f"m/{i}", cost_usd=Decimal("0.001") * i))
        span = {"start": start, "end": start + timedelta(days=1)}
        first = await storage.latest_calls(**span, limit=3)
        second = await storage.latest_calls(**span, limit=3, offset=3)
        last = await storage.latest_calls(**span, limit=3, offset=6)
        assert [r.call_id for r in first + second + last] == [f"c{i}" for i in range(6, -1, -1)]
        assert [r.call_id for r in await storage.latest_calls(**span, limit=10, user="bob")] == ["c5", "c3", "c1"]
        assert await storage.latest_calls(start=start + timedelta(days=1), end=start + timedelta(days=2), limit=10) == []
    finally:
        await storage.close()


async def test_recent_jobs_lists_running_ones_first_then_the_newest(database_url: str) -> None:
    storage = await open_storage(database_url)
    try:
        for i, user in enumerate(("ann", "bob", "ann", "ann")):
            await storage.create_job(f"job-{i}", tool="benchmark_models", arguments={}, owner="p", user_name=user)
        await storage.finish_job("job-3", status="succeeded", result={"ok": True})
        await storage.finish_job("job-1", status="failed", error={"code": "X"})
        ann = [j.job_id for j in await storage.recent_jobs(limit=10, user="ann")]
        assert ann[:2] in (["job-2", "job-0"], ["job-0", "job-2"]) and ann[2] == "job-3"
        everyone = await storage.recent_jobs(limit=10)
        assert [j.status for j in everyone][:2] == ["running", "running"] and {j.job_id for j in everyone} == {"job-0", "job-1", "job-2", "job-3"}
        assert len(await storage.recent_jobs(limit=1)) == 1
    finally:
        await storage.close()
