"""The SQLite backend: one connection per `Storage`, used only from its own worker thread, in WAL mode with
a busy timeout so that several server processes can share one database file."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from .base import Connection, Lock, Row, SQLStorage, utc

T = TypeVar("T")

log = logging.getLogger("openrouter_mcp.storage")

# Write transactions between two checkpoints of the write-ahead log (a ledger row is about 7 pages).
CHECKPOINT_EVERY = 100

# How long a writer waits for another process's write transaction before giving up with "database is locked".
_BUSY_TIMEOUT_S = 30.0


class SQLiteDialect:
    name = "sqlite"
    # Fixed-width ISO 8601 in UTC, so text order is time order and range queries can use the index.
    timestamp_type = "TEXT"
    json_type = "TEXT"
    blob_type = "BLOB"
    freeze_ledger: str | None = None  # BEGIN IMMEDIATE already holds the database's one write lock

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
    # check_same_thread=False: the storage's lock lets one user at a time hold it, from the worker thread or,
    # for a write that finds the worker idle and the database free, from the event loop's thread.
    con = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        con.row_factory = sqlite3.Row
        _enable_wal(con)
        # In WAL mode NORMAL cannot corrupt the file; a power cut may only lose the last few commits.
        con.execute("PRAGMA synchronous = NORMAL")
        # The write-ahead log is copied back into the database by a connection of its own, on a thread of
        # its own (`SQLiteStorage._committed`), not by whichever commit passes 1000 pages: that one
        # would stall the event loop for the copy and its fsync (writes run on the loop's thread, see _write).
        con.execute("PRAGMA wal_autocheckpoint = 0")
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


class _InlineConnection:
    """The connection as seen from inside the worker thread: statements run at once."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    async def execute(self, sql: str, *args: Any) -> int:
        return _execute(self._con, sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return _fetch(self._con, sql, args)


def _run_inline(awaitable: Awaitable[T]) -> T:
    steps = awaitable.__await__()
    try:
        steps.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    steps.close()
    raise RuntimeError("a transaction run in one trip awaited something other than its connection")


def _finish(con: sqlite3.Connection, body: Callable[[], T]) -> T:
    """The rest of a transaction begun on `con`: `body`, then commit, or roll back if anything failed."""
    try:
        result = body()
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return result


class SQLiteStorage(SQLStorage):
    def __init__(self, executor: ThreadPoolExecutor, con: sqlite3.Connection, path: Path) -> None:
        super().__init__(SQLiteDialect())
        self.con = con
        self._executor = executor
        # The one connection must not interleave two tasks' statements inside one transaction.
        self._lock = asyncio.Lock()
        self._conn = _SQLiteConnection(self)
        self._closed = False
        self._in_worker = 0  # jobs of this connection queued or running in the worker thread
        self._path = path
        self._commits = 0  # since the last checkpoint
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpointing: asyncio.Future[None] | None = None
        self._checkpoint_con: sqlite3.Connection | None = None
        # The connection's busy timeout as last set: 0 for a step on the loop's thread (`_at_once`), the full
        # wait for a job on the worker (`_waiting`). Set only when it changes, so a run of steps on one side
        # pays for no PRAGMA.
        self._busy_ms = int(_BUSY_TIMEOUT_S * 1000)

    @classmethod
    async def connect(cls, path: Path) -> SQLiteStorage:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openrouter-mcp-sqlite")
        try:
            con = await asyncio.get_running_loop().run_in_executor(executor, _connect, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, con, path)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        self._in_worker += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._waiting, fn, args)
        future.add_done_callback(self._worker_done)
        return await future

    def _waiting(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """`fn` on the worker thread, which may wait out another process's lock (the busy timeout)."""
        self._busy_timeout(int(_BUSY_TIMEOUT_S * 1000))
        return fn(*args)

    def _busy_timeout(self, ms: int) -> None:
        # Only one side uses the connection at a time (see `_at_once`), so this needs no lock of its own.
        if self._busy_ms != ms:
            self.con.execute(f"PRAGMA busy_timeout = {ms}")
            self._busy_ms = ms

    def _worker_done(self, _: Any) -> None:
        self._in_worker -= 1

    def _begin_now(self, *, lock_held: bool = False) -> bool:
        """Begin a write transaction here, on the caller's thread, if that needs no wait (`_at_once`). A trip
        to the worker thread costs the event loop a wake-up and a hand-over of the GIL on both sides,
        several times what a small write costs SQLite itself (tens of microseconds in WAL mode)."""
        return self._at_once(lambda con: con.execute("BEGIN IMMEDIATE"), lock_held=lock_held)[0]

    def _at_once(self, step: Callable[[sqlite3.Connection], T], *, lock_held: bool = False) -> tuple[bool, T | None]:
        """`step` on the connection, here and now on the caller's thread, when nothing else is using it (no
        job of this connection in flight on the worker; `_lock` free, unless the caller holds it) and
        without waiting for another process's lock: (True, what it returned), or (False, None) when the
        connection or the database is busy. Nobody else can take the connection while it runs: it never
        leaves the event loop's thread."""
        if self._in_worker or self._closed or (self._lock.locked() and not lock_held):
            return False, None
        self._busy_timeout(0)
        try:
            return True, step(self.con)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            return False, None

    async def _write(self, body: Callable[[], T]) -> T:
        """Run `body` in one write transaction; the caller holds `_lock`. At once on the loop's thread when
        the database is free (`_begin_now`); if it is busy, on the worker, which waits for the lock with
        the busy timeout without holding up the loop."""
        if self._begin_now(lock_held=True):
            try:
                return _finish(self.con, body)
            finally:
                self._committed()

        def work() -> T:
            self.con.execute("BEGIN IMMEDIATE")
            return _finish(self.con, body)

        try:
            return await asyncio.shield(self.run(work))
        finally:
            self._committed()

    def run_now(self, body: Callable[[Connection], Awaitable[T]]) -> tuple[bool, T | None]:
        if not self._begin_now():
            return False, None
        try:
            return True, _finish(self.con, lambda: _run_inline(body(_InlineConnection(self.con))))
        finally:
            self._committed()

    def write_now(self, sql: str, *args: Any) -> bool:
        # As run_now, for one statement: in autocommit mode it is its own transaction, which takes the write
        # lock (or finds it busy, and writes nothing) and commits, with no BEGIN and COMMIT of ours around it.
        ran = self._at_once(lambda con: _execute(con, sql, args))[0]
        if ran:
            self._committed()
        return ran

    def write_rows_now(self, sql: str, *args: Any) -> list[Row] | None:
        # As write_now: in autocommit mode the statement is its own transaction (committed once its rows are read).
        ran, rows = self._at_once(lambda con: _fetch(con, sql, args))
        if ran:
            self._committed()
        return rows

    def read_now(self, sql: str, *args: Any) -> list[Row] | None:
        return self._at_once(lambda con: _fetch(con, sql, args))[1]

    def _committed(self) -> None:
        """Count a write transaction; every CHECKPOINT_EVERY of them, copy the log back into the database
        (a passive checkpoint: it never waits for, nor holds up, readers and writers)."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY or self._closed or (self._checkpointing is not None and not self._checkpointing.done()):
            return
        self._commits = 0
        if self._checkpointer is None:
            self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openrouter-mcp-sqlite-checkpoint")
        self._checkpointing = asyncio.get_running_loop().run_in_executor(self._checkpointer, self._checkpoint)
        self._checkpointing.add_done_callback(_log_checkpoint_failure)

    def _checkpoint(self) -> None:
        if self._checkpoint_con is None:
            self._checkpoint_con = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        self._checkpoint_con.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _close_checkpointer(self) -> None:
        if self._checkpoint_con is not None:
            self._checkpoint_con.close()
            self._checkpoint_con = None

    @asynccontextmanager
    async def transaction(self, *, lock: Lock | None = None) -> AsyncIterator[Connection]:
        async with self._lock:
            try:
                await self.run(self.con.execute, "BEGIN IMMEDIATE")
                yield self._conn
                await self.run(self.con.commit)
                self._committed()
            except BaseException:
                # The worker runs jobs in order, so even after a cancellation this rollback comes after the
                # statement that was in flight; rollback() does nothing if no transaction is open.
                await asyncio.shield(self.run(self.con.rollback))
                raise

    async def write_batch(self, statements: Sequence[tuple[str, Sequence[Any]]], *, lock: Lock | None = Lock.BUDGET) -> None:
        # One transaction for the whole batch, in one step (see _write).
        def write() -> None:
            for sql, args in statements:
                _execute(self.con, sql, tuple(args))

        async with self._lock:
            await self._write(write)

    async def run_transaction(self, body: Callable[[Connection], Awaitable[T]], *, lock: Lock | None = None) -> T:
        # One step for the whole transaction, as in write_batch (see _write): `body` only awaits this inline
        # connection, whose methods never suspend, so its coroutine runs to the end at once.
        def work() -> T:
            return _run_inline(body(_InlineConnection(self.con)))

        async with self._lock:
            return await self._write(work)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield self._conn

    async def close(self) -> None:
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._checkpointer is not None:
                # The last checkpoint finishes, then its connection closes on its own thread.
                await asyncio.get_running_loop().run_in_executor(self._checkpointer, self._close_checkpointer)
                self._checkpointer.shutdown(wait=False)
            await self.run(self.con.close)
            self._executor.shutdown(wait=False)


def _log_checkpoint_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and (exc := done.exception()) is not None:
        # Harmless for the data: the log stays longer and the next checkpoint copies it.
        log.warning("a checkpoint of the SQLite write-ahead log failed: %s", exc)
