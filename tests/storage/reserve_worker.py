"""A separate server process in miniature, for the cross-process tests: waits for "go" on stdin, opens the
storage (racing the other process's migrations), fires many concurrent reservations under a daily cap,
and prints how many were accepted.

Usage: python reserve_worker.py URL ATTEMPTS ESTIMATE_USD DAILY_CAP_USD NOW_ISO
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime
from decimal import Decimal

from openrouter_mcp.storage import BudgetRefused, LedgerReservation, open_storage


async def main(url: str, attempts: int, estimate: Decimal, cap: Decimal, now: datetime) -> int:
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
    accepted = asyncio.run(main(url, int(attempts), Decimal(estimate), Decimal(cap), datetime.fromisoformat(now)))
    print(accepted, flush=True)
