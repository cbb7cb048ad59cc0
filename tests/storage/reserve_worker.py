"""A separate server process in miniature, for the cross-process tests: waits for "go" on stdin, opens the
storage (racing the other process's migrations), fires many concurrent reservations under a daily cap,
and prints how many were accepted. MODE `transaction` reserves each call in a transaction of its own
(`reserve`); `now` as a server does for a lone call (`reserve_now`, on SQLite one statement on the event
loop's thread once the day's total is there; the whole reservation when that cannot be done).

Usage: python reserve_worker.py URL ATTEMPTS ESTIMATE_USD DAILY_CAP_USD NOW_ISO [MODE]
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from datetime import datetime
from decimal import Decimal

from openrouter_mcp.storage import BudgetedCall, BudgetRefused, LedgerReservation, open_storage


async def main(url: str, attempts: int, estimate: Decimal, cap: Decimal, now: datetime, mode: str) -> int:
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    storage = await open_storage(url)

    async def one() -> bool:
        call = LedgerReservation(
            call_id=uuid.uuid4().hex,
            tool="chat",
            model_requested="m",
            estimate_usd=estimate,
            caller=None,
            created_at=now,
        )
        if mode == "now":
            # Calls arrive spread out, as at a server, so most find the database free.
            await asyncio.sleep(random.random() / 20)
            item = BudgetedCall(call, cap, None, now)
            [result] = storage.reserve_now([item]) or await storage.reserve_many([item])
            if isinstance(result, BudgetRefused):
                return False
            if result is not None:
                raise result
            return True
        try:
            await storage.reserve(call, daily_cap_usd=cap, monthly_cap_usd=None, now=now)
        except BudgetRefused:
            return False
        return True

    try:
        results = await asyncio.gather(*(one() for _ in range(attempts)))
    finally:
        await storage.close()
    return sum(results)


if __name__ == "__main__":
    url, attempts, estimate, cap, now = sys.argv[1:6]
    mode = sys.argv[6] if len(sys.argv) > 6 else "transaction"
    accepted = asyncio.run(main(url, int(attempts), Decimal(estimate), Decimal(cap), datetime.fromisoformat(now), mode))
    print(accepted, flush=True)
