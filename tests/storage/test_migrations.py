"""Migrations: each runs once, an old database upgrades in place, and a failing step leaves no trace."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from openrouter_mcp.storage import connect, migrations, open_storage
from openrouter_mcp.storage.base import Connection, Dialect, SQLStorage
from openrouter_mcp.storage.migrations import MIGRATIONS, Migration, migrate

pytestmark = pytest.mark.asyncio

ALL_VERSIONS = [m.version for m in MIGRATIONS]


async def _recorded(storage: SQLStorage) -> list[dict[str, Any]]:
    async with storage.connection() as conn:
        return await conn.fetch("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")


async def test_each_migration_runs_once(storage_url: str) -> None:
    first = await connect(storage_url)
    try:
        assert await migrate(first) == ALL_VERSIONS
        assert await migrate(first) == []
        recorded = await _recorded(first)
    finally:
        await first.close()
    assert [(row["version"], row["name"]) for row in recorded] == [(m.version, m.name) for m in MIGRATIONS]

    second = await open_storage(storage_url)
    try:
        assert isinstance(second, SQLStorage)
        assert await _recorded(second) == recorded
    finally:
        await second.close()


async def test_old_database_upgrades_in_place(storage_url: str) -> None:
    created = datetime(2026, 3, 15, 12, tzinfo=UTC)
    old = await connect(storage_url)
    try:
        assert await migrate(old, target=1) == [1]
        # A row as the first release wrote it, by hand: today's code writes columns the old schema lacks.
        async with old.connection() as conn:
            await conn.execute(
                "INSERT INTO ledger (call_id, tool, model_requested, caller, estimate_e10, created_at, status, model_used, cost_e10)"
                " VALUES ($1, $2, $3, $4, $5, $6, 'ok', $7, $8)",
                "c1", "chat", "m", "alice", 5_000_000_000, old.dialect.encode_ts(created), "m", 123_456_789,
            )
    finally:
        await old.close()

    storage = await open_storage(storage_url)
    try:
        assert isinstance(storage, SQLStorage)
        assert [row["version"] for row in await _recorded(storage)] == ALL_VERSIONS
        [row] = await storage.ledger(start=created, end=datetime(2026, 3, 16, tzinfo=UTC))
        assert (row.call_id, row.caller, row.cost_usd) == ("c1", "alice", Decimal("0.0123456789"))
        await storage.create_job("j1", tool="research", arguments={}, owner="p1")
        await storage.kv_put("ns", "k", {"v": 1})
        assert await storage.kv_get("ns", "k") == {"v": 1}
    finally:
        await storage.close()


async def test_failed_migration_is_rolled_back(storage_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def half_done(db: Connection, d: Dialect) -> None:
        await db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("step failed midway")

    async def done(db: Connection, d: Dialect) -> None:
        await db.execute("CREATE TABLE half_done (x INTEGER)")

    next_version = len(MIGRATIONS) + 1
    storage = await connect(storage_url)
    try:
        monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, Migration(next_version, "half_done", half_done)])
        with pytest.raises(RuntimeError, match="midway"):
            await migrate(storage)

        # Creating the same tables again only succeeds if the failed attempt left nothing behind.
        monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, Migration(next_version, "done", done)])
        assert await migrate(storage) == [*ALL_VERSIONS, next_version]
    finally:
        await storage.close()
