"""A server process in miniature for the running-totals tests: waits for "go" on stdin, opens the storage,
then runs every kind of ledger write that changes what counts against a budget, all at once: capped
reservations (one by one and in batches, for two users, on both sides of a month's end), settles to a
real cost, failures with no cost, batched settles, one-step records, orphaned rows settled as unknown,
costs filled in by the reconciler, and failed jobs. Prints "accepted refused" when done.

Usage: python totals_worker.py URL NAME ROUNDS
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from openrouter_mcp.storage import BudgetedCall, BudgetRefused, LedgerOutcome, LedgerReservation, open_storage
from openrouter_mcp.storage.models import UserCaps

# The last moment of March and the first of April (UTC): every round writes on both sides.
TIMES = (datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
USERS = ("alice", "bob")
DAILY, MONTHLY = Decimal("3.00"), Decimal("4.00")
USER_CAPS = {"alice": UserCaps("alice", daily_cap_usd=Decimal("1.20")), "bob": UserCaps("bob", monthly_cap_usd=Decimal("1.50"))}


async def main(url: str, name: str, rounds: int) -> tuple[int, int]:
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    storage = await open_storage(url)
    rng = random.Random(name)
    owner = f"live-{name}"
    await storage.heartbeat_process(owner, TIMES[1] + timedelta(days=1))
    accepted = refused = 0

    def reservation(at: datetime, user: str, estimate: str, *, row_owner: str = owner) -> LedgerReservation:
        return LedgerReservation(
            call_id=f"{name}-{uuid.uuid4().hex}",
            tool="chat",
            model_requested="m",
            estimate_usd=Decimal(estimate),
            caller=None,
            created_at=at,
            owner=row_owner,
            user_name=user,
        )

    async def then_settle(call: LedgerReservation) -> None:
        """What happens to a reserved call next, picked at random: every way a row's count changes."""
        estimate = call.estimate_usd
        match rng.randrange(7):
            case 0:
                await storage.settle(call.call_id, LedgerOutcome("ok", generation_id="g", cost_usd=estimate / 3))
            case 1:
                await storage.settle(call.call_id, LedgerOutcome("error", cost_usd=Decimal(0), error_code="UPSTREAM_ERROR"))
            case 2:  # started, cost unknown: the reconciler reads it later (sometimes above the estimate)
                await storage.settle(call.call_id, LedgerOutcome("ok", generation_id=f"gen-{call.call_id}"))
                await asyncio.sleep(rng.random() / 100)
                await storage.set_cost(call.call_id, estimate * Decimal(rng.choice(("0.5", "1.5"))), source="generation")
            case 3:  # a video accepted, then failed at what it was billed
                await storage.settle(call.call_id, LedgerOutcome("ok", generation_id=f"job-{call.call_id}"))
                await storage.settle_failed_job(call.call_id, cost_usd=estimate / 7, error_code="JOB_FAILED")
            case 4:
                await storage.settle_batch([(call.call_id, LedgerOutcome("cancelled", generation_id="g2"))])
            case 5:
                await storage.settle(call.call_id, LedgerOutcome("not_sent", cost_usd=Decimal(0), error_code="CANCELLED"))
            case _:
                pass  # stays pending, at its estimate

    async def one(i: int) -> None:
        nonlocal accepted, refused
        at, user = TIMES[i % 2], USERS[(i // 2) % 2]
        call = reservation(at, user, rng.choice(("0.01", "0.02", "0.05")))
        try:
            await storage.reserve(call, daily_cap_usd=DAILY, monthly_cap_usd=MONTHLY, now=at, user=USER_CAPS[user])
        except BudgetRefused:
            refused += 1
            return
        accepted += 1
        await then_settle(call)

    async def batch(i: int) -> None:
        nonlocal accepted, refused
        calls = [reservation(TIMES[(i + k) % 2], USERS[k % 2], "0.03") for k in range(6)]
        results = await storage.reserve_many([BudgetedCall(c, DAILY, MONTHLY, c.created_at, USER_CAPS[c.user_name]) for c in calls])
        for call, result in zip(calls, results, strict=True):
            if result is None:
                accepted += 1
                await then_settle(call)
            else:
                assert isinstance(result, BudgetRefused), result
                refused += 1

    async def uncapped(i: int) -> None:
        at = TIMES[i % 2]
        await storage.record(reservation(at, USERS[i % 2], "0.04"), LedgerOutcome("ok", cost_usd=Decimal("0.004")))
        # Rows of a process that died: pending, one with a generation id; then anyone settles them.
        ghosts = [reservation(at - timedelta(minutes=5), USERS[k % 2], "0.02", row_owner=f"ghost-{name}") for k in range(3)]
        await storage.insert_pending_many(ghosts)
        await storage.set_generation_ids([(ghosts[0].call_id, f"gen-ghost-{i}")])
        await storage.settle_orphans(stale_before=at, now=at)
        await storage.set_cost(ghosts[0].call_id, Decimal("0.015"), source="generation")

    try:
        tasks = [one(i) for i in range(rounds)] + [batch(i) for i in range(rounds // 10)] + [uncapped(i) for i in range(rounds // 10)]
        rng.shuffle(tasks)
        await asyncio.gather(*tasks)
    finally:
        await storage.close()
    return accepted, refused


if __name__ == "__main__":
    url, name, rounds = sys.argv[1:4]
    accepted, refused = asyncio.run(main(url, name, int(rounds)))
    print(accepted, refused, flush=True)
