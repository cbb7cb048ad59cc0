"""The PostgreSQL backend: a small asyncpg pool, with advisory locks where a check and a write must be
one step across every process using the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .base import Connection, Lock, Row, SQLStorage

# Every statement is short; a few connections let reads proceed while a reservation holds the budget lock.
_POOL_MIN_SIZE = 1
_POOL_MAX_SIZE = 4


class PostgresDialect:
    name = "postgresql"
    timestamp_type = "TIMESTAMPTZ"
    json_type = "JSONB"
    blob_type = "BYTEA"
    # SHARE conflicts with the ROW EXCLUSIVE lock every INSERT, UPDATE and DELETE takes until its commit.
    freeze_ledger: str | None = "LOCK TABLE ledger IN SHARE MODE"

    def encode_ts(self, moment: datetime) -> datetime:
        return moment

    def decode_ts(self, value: Any) -> datetime:
        # asyncpg returns TIMESTAMPTZ as an aware datetime in UTC.
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from TIMESTAMPTZ, got {type(value).__name__}")
        return value

    def utc_day(self, column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class _PostgresConnection:
    def __init__(self, con: PoolConnectionProxy[asyncpg.Record]) -> None:
        self._con = con

    async def execute(self, sql: str, *args: Any) -> int:
        # asyncpg answers with the command tag, e.g. "UPDATE 3" or "INSERT 0 1"; the count is last.
        count = (await self._con.execute(sql, *args)).rpartition(" ")[2]
        return int(count) if count.isdigit() else 0

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(record) for record in await self._con.fetch(sql, *args)]


class PostgresStorage(SQLStorage):
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        super().__init__(PostgresDialect())
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str) -> PostgresStorage:
        return cls(await asyncpg.create_pool(dsn, min_size=_POOL_MIN_SIZE, max_size=_POOL_MAX_SIZE))

    @asynccontextmanager
    async def transaction(self, *, lock: Lock | None = None) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as con, con.transaction():
            if lock is not None:
                await con.execute("SELECT pg_advisory_xact_lock($1)", int(lock))
            yield _PostgresConnection(con)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as con:
            yield _PostgresConnection(con)

    async def close(self) -> None:
        await self._pool.close()
