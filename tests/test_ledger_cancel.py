"""A paid call cancelled while its ledger row is still being written ahead (before anything is sent) still
has its row, settled as not sent: never a row left pending while the process lives, counting against the
budgets at its estimate. With and without budgets (two different write paths)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from openrouter_mcp.app import App
from openrouter_mcp.config import load_settings


@pytest.mark.parametrize("budget", [None, "5"])
async def test_a_call_cancelled_while_its_row_is_written_is_settled_not_sent(tmp_path: Path, budget: str | None) -> None:
    env = {"OPENROUTER_API_KEY": "sk-or-test-0000", "OPENROUTER_MCP_HOME": str(tmp_path)}
    if budget:
        env["OPENROUTER_MCP_DAILY_BUDGET_USD"] = budget
    app = App(load_settings(env))
    await app.storage()
    sent = []
    try:

        async def call(i: int) -> None:
            async with app.ledger.paid_call(tool="chat_completion", model="openai/gpt-4o-mini", estimate_usd=Decimal("0.01")):
                sent.append(i)  # nothing reaches here: every call is cancelled before its row is written
                await asyncio.sleep(30)

        tasks = [asyncio.create_task(call(i)) for i in range(20)]
        await asyncio.sleep(0)  # each is now waiting for its row to be written
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert sent == []
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            await app.ledger.flush()
            storage = await app.storage()
            rows = await storage.ledger(start=datetime.now(UTC) - timedelta(hours=1), end=datetime.now(UTC) + timedelta(hours=1))
            if (len(rows) == 20 and all(r.status != "pending" for r in rows)) or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        assert len(rows) == 20
        assert {r.status for r in rows} == {"not_sent"}, [r.status for r in rows]
        assert await storage.spent_usd(since=datetime.now(UTC) - timedelta(hours=1)) == 0
    finally:
        await app.aclose()
