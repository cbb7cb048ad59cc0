"""The SQLite backend: one connection per `Storage`, used only from its own worker thread, in WAL mode with
a busy timeout so that several server processes can share one database file."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from .base import Connection, Lock, Row, SQLStorage, utc

T = TypeVar("T")

# How long a writer waits for another process's write transaction before giving up with "database is locked".
_BUSY_TIMEOUT_S = 30.0


class SQLiteDialect:
    name = "sqlite"
    # Fixed-width ISO 8601 in UTC, so text order is time order and range queries can use the index.
    timestamp_type = "TEXT"
    json_type = "TEXT"
    blob_type = "BLOB"

    def encode_ts(self, moment: datetime) -> str:
        return utc(moment).isoformat(timespec="microseconds")

    def decode_ts(self, value: Any) -> datetime:
        return datetime.fromisoformat(value)

    def utc_day(self, column: str) -> str:
        return f"substr({column}, 1, 10)"


@lru_cache(maxsize=256)
def _qmark(sql: str) -> str:
    """The shared SQL numbers its parameters `$1`; SQLite spells those `?1`."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE), never implicitly by the module.
    con = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        _enable_wal(con)
        # In WAL mode NORMAL cannot corrupt the file; a power cut may only lose the last few commits.
        con.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        con.close()
        raise
    return con


def _enable_wal(con: sqlite3.Connection) -> None:
    # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is locked" at once,
    # without the busy timeout, when another process is opening the same new file: so retry here.
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            con.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _execute(con: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> int:
    return con.execute(_qmark(sql), args).rowcount


def _fetch(con: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[Row]:
    return [dict(row) for row in con.execute(_qmark(sql), args).fetchall()]


class _SQLiteConnection:
    def __init__(self, storage: SQLiteStorage) -> None:
        self._storage = storage

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._storage.run(_execute, self._storage.con, sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._storage.run(_fetch, self._storage.con, sql, args)


class SQLiteStorage(SQLStorage):
    def __init__(self, executor: ThreadPoolExecutor, con: sqlite3.Connection) -> None:
        super().__init__(SQLiteDialect())
        self.con = con
        self._executor = executor
        # The one connection must not interleave two tasks' statements inside one transaction.
        self._lock = asyncio.Lock()
        self._conn = _SQLiteConnection(self)
        self._closed = False

    @classmethod
    async def connect(cls, path: Path) -> SQLiteStorage:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openrouter-mcp-sqlite")
        try:
            con = await asyncio.get_running_loop().run_in_executor(executor, _connect, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, con)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @asynccontextmanager
    async def transaction(self, *, lock: Lock | None = None) -> AsyncIterator[Connection]:
        async with self._lock:
            try:
                await self.run(self.con.execute, "BEGIN IMMEDIATE")
                yield self._conn
                await self.run(self.con.commit)
            except BaseException:
                # The worker runs jobs in order, so even after a cancellation this rollback comes after the
                # statement that was in flight; rollback() does nothing if no transaction is open.
                await asyncio.shield(self.run(self.con.rollback))
                raise

    async def write_batch(self, statements: Sequence[tuple[str, Sequence[Any]]], *, lock: Lock | None = Lock.BUDGET) -> None:
        # One trip to the worker thread for the whole batch: each trip costs the event loop a wake-up and
        # a hand-over of the GIL, which on a busy server shows up as latency on every request.
        def write() -> None:
            self.con.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    _execute(self.con, sql, tuple(args))
                self.con.commit()
            except BaseException:
                self.con.rollback()
                raise

        async with self._lock:
            await asyncio.shield(self.run(write))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield self._conn

    async def close(self) -> None:
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            await self.run(self.con.close)
            self._executor.shutdown(wait=False)
