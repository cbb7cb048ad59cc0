"""The ledger: reservations against budget caps, settlement exactly once, reconciliation and rollups."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from openrouter_mcp.storage import BudgetRefused, LedgerOutcome, LedgerReservation, LedgerRow, Storage

pytestmark = pytest.mark.asyncio

NOW = datetime(2026, 3, 15, 12, 30, tzinfo=UTC)
DAY = NOW.replace(hour=0, minute=30)
LATER = NOW + timedelta(days=1)


def call(call_id: str, estimate: str = "0.10", *, at: datetime = NOW, tool: str = "chat") -> LedgerReservation:
    return LedgerReservation(
        call_id=call_id,
        tool=tool,
        model_requested="openai/gpt-x",
        estimate_usd=Decimal(estimate),
        caller="client-1",
        created_at=at,
    )


async def test_reserve_then_settle_exactly_once(storage: Storage) -> None:
    await storage.reserve(call("c1"), daily_cap_usd=None, monthly_cap_usd=None, now=NOW)
    [pending] = await storage.ledger(start=DAY, end=LATER)
    assert (pending.status, pending.estimate_usd, pending.cost_usd, pending.settled_at) == (
        "pending",
        Decimal("0.1"),
        None,
        None,
    )
    assert pending.created_at == NOW and pending.created_at.tzinfo is not None

    first = LedgerOutcome(
        "ok",
        model_used="openai/gpt-x-2",
        provider="OpenAI",
        generation_id="gen-1",
        prompt_tokens=120,
        completion_tokens=30,
        reasoning_tokens=7,
        cached_tokens=100,
        cost_usd=Decimal("0.0000123457"),
        latency_ms=812.5,
    )
    assert await storage.settle("c1", first) is True
    assert await storage.settle("c1", LedgerOutcome("error", cost_usd=Decimal("9"), error_code="X")) is False
    assert await storage.settle("never-reserved", first) is False

    [row] = await storage.ledger(start=DAY, end=LATER)
    assert row.status == "ok"
    assert (row.model_used, row.provider, row.generation_id) == ("openai/gpt-x-2", "OpenAI", "gen-1")
    assert (row.prompt_tokens, row.completion_tokens, row.reasoning_tokens, row.cached_tokens) == (120, 30, 7, 100)
    assert row.cost_usd == Decimal("0.0000123457") and row.cost_source == "response"
    assert row.latency_ms == 812.5 and row.error_code is None
    assert row.settled_at is not None and row.settled_at.tzinfo is not None

    with pytest.raises(ValueError, match="already in the ledger"):
        await storage.reserve(call("c1"), daily_cap_usd=None, monthly_cap_usd=None, now=NOW)


async def test_daily_cap_counts_pending_estimates_and_known_costs(storage: Storage) -> None:
    cap = Decimal("1.00")
    for call_id in ("a", "b"):
        await storage.reserve(call(call_id, "0.40"), daily_cap_usd=cap, monthly_cap_usd=None, now=NOW)
    with pytest.raises(BudgetRefused) as refused:
        await storage.reserve(call("c", "0.40"), daily_cap_usd=cap, monthly_cap_usd=None, now=NOW)
    assert (refused.value.window, refused.value.cap_usd) == ("daily", cap)
    assert (refused.value.spent_usd, refused.value.estimate_usd) == (Decimal("0.8"), Decimal("0.40"))

    # The real cost replaces the estimate; a call that failed without a cost stops counting at all.
    await storage.settle("a", LedgerOutcome("ok", cost_usd=Decimal("0.05")))
    await storage.settle("b", LedgerOutcome("error", error_code="UPSTREAM_ERROR"))
    assert await storage.spent_usd(since=DAY) == Decimal("0.05")
    await storage.reserve(call("c", "0.95"), daily_cap_usd=cap, monthly_cap_usd=None, now=NOW)
    with pytest.raises(BudgetRefused):
        await storage.reserve(call("d", "0.0000000001"), daily_cap_usd=cap, monthly_cap_usd=None, now=NOW)

    # The next UTC day starts from zero.
    tomorrow = NOW.replace(hour=0) + timedelta(days=1)
    await storage.reserve(call("e", "1.00", at=tomorrow), daily_cap_usd=cap, monthly_cap_usd=None, now=tomorrow)
    assert await storage.spent_usd(since=DAY) == Decimal("2.00")
    assert await storage.spent_usd(since=tomorrow) == Decimal("1.00")


async def test_monthly_cap_spans_days_and_resets_with_the_month(storage: Storage) -> None:
    first_of_month = datetime(2026, 3, 1, tzinfo=UTC)
    await storage.reserve(call("old", "3.00", at=first_of_month), daily_cap_usd=None, monthly_cap_usd=None, now=first_of_month)
    with pytest.raises(BudgetRefused) as refused:
        await storage.reserve(call("x", "2.50"), daily_cap_usd=Decimal("10"), monthly_cap_usd=Decimal("5"), now=NOW)
    assert (refused.value.window, refused.value.spent_usd) == ("monthly", Decimal("3"))

    april = datetime(2026, 4, 1, tzinfo=UTC)
    await storage.reserve(call("y", "4.99", at=april), daily_cap_usd=None, monthly_cap_usd=Decimal("5"), now=april)
    # Spend recorded the month before is not in this window, but a costed row in it is.
    await storage.record(call("z", at=april), LedgerOutcome("ok", cost_usd=Decimal("0.01")))
    with pytest.raises(BudgetRefused):
        await storage.reserve(call("w", "0.0000000001", at=april), daily_cap_usd=None, monthly_cap_usd=Decimal("5"), now=april)


async def test_record_is_reserve_and_settle_in_one_step(storage: Storage) -> None:
    outcome = LedgerOutcome("ok", generation_id="g", prompt_tokens=5, cost_usd=Decimal("0.02"))
    await storage.record(call("r1"), outcome)
    await storage.record(call("r1"), LedgerOutcome("error", cost_usd=Decimal("7")))
    [row] = await storage.ledger(start=DAY, end=LATER)
    assert (row.status, row.prompt_tokens, row.cost_usd) == ("ok", 5, Decimal("0.02"))


async def test_concurrent_reserves_never_overspend(storage: Storage) -> None:
    cap, estimate = Decimal("1.00"), Decimal("0.03")

    async def attempt(i: int) -> bool:
        try:
            await storage.reserve(call(f"c{i}", str(estimate)), daily_cap_usd=cap, monthly_cap_usd=cap, now=NOW)
        except BudgetRefused:
            return False
        return True

    accepted = sum(await asyncio.gather(*(attempt(i) for i in range(200))))
    assert accepted * estimate <= cap
    assert accepted == 33  # every reservation that fits got in
    assert await storage.spent_usd(since=DAY) == accepted * estimate
    assert len(await storage.ledger(start=DAY, end=LATER)) == accepted


async def test_usage_rollup_matches_sums_over_the_ledger(storage: Storage) -> None:
    outcomes = [
        LedgerOutcome("ok", "m1", "P1", "g1", 10, 5, 1, 2, Decimal("0.0000000003"), 10.0),
        LedgerOutcome("ok", "m1", "P1", "g2", 20, 6, 0, 0, Decimal("0.1234567891"), 11.0),
        LedgerOutcome("error", "m1", None, None, 3, 0, 0, 0, None, 5.0, "UPSTREAM_ERROR"),
        LedgerOutcome("ok", "m2", "P2", "g3", 7, 8, 9, 1, None, 12.0),
        LedgerOutcome("cancelled", "m2", "P2", None, 1, 1, 0, 0, Decimal("0.5")),
        LedgerOutcome("not_sent"),
    ]
    start = datetime(2026, 3, 14, tzinfo=UTC)
    for i, outcome in enumerate(outcomes * 3):
        at = start + timedelta(hours=13 * i)
        await storage.record(call(f"c{i}", at=at, tool="chat" if i % 4 else "embed"), outcome)
    await storage.reserve(call("pending"), daily_cap_usd=None, monthly_cap_usd=None, now=NOW)
    await storage.record(call("outside", at=start - timedelta(microseconds=1)), outcomes[0])

    end = start + timedelta(days=20)
    groups: dict[tuple[str, str, str | None, str | None], list[LedgerRow]] = defaultdict(list)
    for row in await storage.ledger(start=start, end=end):
        groups[(row.created_at.date().isoformat(), row.tool, row.model_used, row.provider)].append(row)
    expected = {
        key: (
            len(rows),
            sum(r.status == "error" for r in rows),
            sum(r.prompt_tokens for r in rows),
            sum(r.completion_tokens for r in rows),
            sum(r.reasoning_tokens for r in rows),
            sum(r.cached_tokens for r in rows),
            sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0)),
        )
        for key, rows in groups.items()
    }

    buckets = await storage.usage_rollup(start=start, end=end)
    got = {
        (b.day, b.tool, b.model_used, b.provider): (
            b.calls,
            b.errors,
            b.prompt_tokens,
            b.completion_tokens,
            b.reasoning_tokens,
            b.cached_tokens,
            b.cost_usd,
        )
        for b in buckets
    }
    assert got == expected
    assert len(buckets) == len(got)  # one bucket per group
    assert sum(b.calls for b in buckets) == 19  # 18 recorded + the pending one, not the row before `start`
    keys = [(b.day, b.tool, b.model_used or "", b.provider or "") for b in buckets]
    assert keys == sorted(keys)


async def test_set_cost_and_unreconciled(storage: Storage) -> None:
    await storage.record(call("needs-cost"), LedgerOutcome("ok", generation_id="gen-a"))
    await storage.record(call("has-cost"), LedgerOutcome("ok", generation_id="gen-b", cost_usd=Decimal("0.2")))
    await storage.record(call("no-generation"), LedgerOutcome("error"))
    await storage.reserve(call("pending"), daily_cap_usd=None, monthly_cap_usd=None, now=NOW)
    now = datetime.now(UTC)

    [row] = await storage.unreconciled(now=now, limit=10)
    assert (row.call_id, row.generation_id, row.cost_usd) == ("needs-cost", "gen-a", None)
    # A row that could not be read waits for its next try, then is due again.
    await storage.reconcile_later("needs-cost", lambda attempts: now + timedelta(minutes=attempts))
    assert await storage.unreconciled(now=now, limit=10) == []
    assert [r.call_id for r in await storage.unreconciled(now=now + timedelta(minutes=1), limit=10)] == ["needs-cost"]
    # A started generation of unknown cost counts at its estimate until the reconciler finds the real cost.
    assert await storage.spent_usd(since=DAY) == Decimal("0.40")

    await storage.set_cost("needs-cost", Decimal("0.0700000001"), source="generation")
    assert await storage.unreconciled(now=now + timedelta(hours=1), limit=10) == []
    rows = {r.call_id: r for r in await storage.ledger(start=DAY, end=LATER)}
    assert (rows["needs-cost"].cost_usd, rows["needs-cost"].cost_source) == (Decimal("0.0700000001"), "generation")
    assert await storage.spent_usd(since=DAY) == Decimal("0.3700000001")

    await storage.set_cost("has-cost", Decimal("0.19"), source="generation")
    assert {r.call_id: r.cost_usd for r in await storage.ledger(start=DAY, end=LATER, tool="chat")}["has-cost"] == Decimal("0.19")
    with pytest.raises(KeyError):
        await storage.set_cost("nope", Decimal("1"), source="generation")


async def test_unreconciled_limit_and_order(storage: Storage) -> None:
    for i in range(5):
        await storage.record(call(f"c{i}"), LedgerOutcome("ok", generation_id=f"g{i}"))
    rows = await storage.unreconciled(now=datetime.now(UTC), limit=3)
    assert [r.call_id for r in rows] == ["c0", "c1", "c2"]
    # A row put back goes behind those never tried, so an unreadable one cannot block the queue.
    await storage.reconcile_later("c0", lambda attempts: datetime.now(UTC))
    rows = await storage.unreconciled(now=datetime.now(UTC) + timedelta(seconds=1), limit=5)
    assert [r.call_id for r in rows] == ["c1", "c2", "c3", "c4", "c0"]


async def test_a_dead_processes_pending_rows_are_settled_and_a_live_ones_are_not(storage: Storage) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(minutes=5)

    def pending(call_id: str, owner: str) -> LedgerReservation:
        return LedgerReservation(call_id=call_id, tool="chat", model_requested="m", estimate_usd=Decimal("0.25"), caller=None, created_at=old, owner=owner)

    await storage.heartbeat_process("alive", now)
    await storage.heartbeat_process("dead", now - timedelta(minutes=10))
    await storage.insert_pending_many([pending(c, o) for c, o in (("alive-1", "alive"), ("dead-with-id", "dead"), ("dead-no-id", "dead"), ("never-beat", "ghost"))])
    await storage.set_generation_ids([("dead-with-id", "gen-d")])

    assert await storage.settle_orphans(stale_before=now - timedelta(seconds=30), now=now) == 3
    rows = {r.call_id: r for r in await storage.ledger(start=old - timedelta(seconds=1), end=now + timedelta(seconds=1))}
    assert rows["alive-1"].status == "pending"
    assert (rows["dead-with-id"].status, rows["dead-with-id"].error_code, rows["dead-with-id"].generation_id) == ("error", "INTERRUPTED", "gen-d")
    assert (rows["dead-no-id"].status, rows["never-beat"].status) == ("unknown", "unknown")
    # The one with an id waits for its cost; the unknown ones count at their estimate, and usage says so.
    assert [r.call_id for r in await storage.unreconciled(now=now, limit=10)] == ["dead-with-id"]
    assert await storage.unknown_cost(start=old - timedelta(seconds=1), end=now + timedelta(seconds=1)) == (4, Decimal("1.00"))
    assert await storage.spent_usd(since=old - timedelta(seconds=1)) == Decimal("1.00")
    # Given up on after the bound: marked, no longer visited, still counted at its estimate.
    assert await storage.give_up_reconciling(settled_before=now + timedelta(seconds=1)) == 1
    assert await storage.unreconciled(now=now, limit=10) == []
    rows = {r.call_id: r for r in await storage.ledger(start=old - timedelta(seconds=1), end=now + timedelta(seconds=1))}
    assert rows["dead-with-id"].cost_source == "unreconciled"
    assert await storage.spent_usd(since=old - timedelta(seconds=1)) == Decimal("1.00")


async def test_money_must_be_decimal_and_times_aware(storage: Storage) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        await storage.record(call("f"), LedgerOutcome("ok", cost_usd=0.1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        await storage.reserve(call("n", "NaN"), daily_cap_usd=None, monthly_cap_usd=None, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        await storage.spent_usd(since=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="cannot settle"):
        await storage.settle("x", LedgerOutcome("pending"))  # type: ignore[arg-type]
    assert await storage.ledger(start=DAY, end=LATER) == []


async def test_cancelled_calls_leave_the_storage_usable(storage: Storage) -> None:
    # Cancel tasks at different moments, some surely inside their transaction, then check nothing is left half-open.
    for round_ in range(6):
        tasks = [
            asyncio.create_task(storage.reserve(call(f"r{round_}-{i}", "0.01"), daily_cap_usd=Decimal(100), monthly_cap_usd=None, now=NOW)) for i in range(20)
        ]
        await asyncio.sleep(0.0005 * round_)
        for task in tasks[::2]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results)

    await storage.reserve(call("after", "0.01"), daily_cap_usd=Decimal(100), monthly_cap_usd=None, now=NOW)
    assert await storage.settle("after", LedgerOutcome("ok", cost_usd=Decimal("0.01"))) is True
    rows = await storage.ledger(start=DAY, end=LATER)
    assert "after" in {r.call_id for r in rows}
    assert await storage.spent_usd(since=DAY) == Decimal("0.01") * len(rows)


async def test_per_user_reads_in_one_query_match_the_per_user_ones(storage: Storage) -> None:
    """The dashboard reads every user's spend and daily cost at once; each user's share is what the one-user
    reads (`spent_since`, `usage_rollup`) give for that user."""
    start = datetime(2026, 3, 14, tzinfo=UTC)
    costs = [Decimal("0.0000000003"), Decimal("0.1234567891"), None, Decimal("0.5")]
    for i in range(24):
        reservation = dataclasses.replace(call(f"u{i}", at=start + timedelta(hours=7 * i)), user_name=("ann", "bob", "cy")[i % 3])
        await storage.record(reservation, LedgerOutcome("ok", "m1", "P1", f"g{i}", 1, 1, 0, 0, costs[i % 4], 1.0))
    windows = (start + timedelta(days=3), start + timedelta(days=1), start)
    together = await storage.spent_since_by_user(windows)
    end = start + timedelta(days=8)
    by_day = await storage.cost_by_user_and_day(start=start, end=end)
    for user in ("ann", "bob", "cy"):
        assert together[user] == await storage.spent_since(windows, user=user)
        expected: dict[str, Decimal] = defaultdict(Decimal)
        for bucket in await storage.usage_rollup(start=start, end=end, user=user):
            expected[bucket.day] += bucket.cost_usd
        assert by_day[user] == dict(expected)
    assert set(together) == {"ann", "bob", "cy"}
