"""What every query module shares: money as integer units, UTC timestamps, the two-method connection and
the dialect each backend supplies, PostgreSQL's advisory lock keys, and the abstract storage base."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import IntEnum
from typing import Any, Protocol, TypeVar

Row = dict[str, Any]
T = TypeVar("T")


# Money is stored as an integer count of 1e-10 USD: see the package docstring for why.
MONEY_SCALE: int = 10**10
_QUANTUM = Decimal(1).scaleb(-10)


def to_units(amount: Decimal) -> int:
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"money must be finite, not {amount}")
    return int(amount.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN).scaleb(10))


def from_units(units: int | Decimal) -> Decimal:
    # PostgreSQL's SUM(bigint) is NUMERIC, which asyncpg hands over as a Decimal.
    return (Decimal(int(units)) / MONEY_SCALE).quantize(_QUANTUM)


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


class Lock(IntEnum):
    """PostgreSQL advisory lock keys; on SQLite every write transaction already holds the one write lock."""

    MIGRATIONS = 0x6F726D6370_01
    BUDGET = 0x6F726D6370_02
    KV = 0x6F726D6370_03


class Connection(Protocol):
    """Positional parameters are written `$1`, `$2`, ... in every backend's SQL."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...


class Dialect(Protocol):
    name: str
    timestamp_type: str
    json_type: str
    blob_type: str

    def encode_ts(self, moment: datetime) -> Any: ...

    def decode_ts(self, value: Any) -> datetime: ...

    def utc_day(self, column: str) -> str:
        """An SQL expression giving the 'YYYY-MM-DD' UTC date of a timestamp column."""
        ...

    # A statement that, inside a transaction, waits for every ledger write under way and holds off new ones
    # until commit, so a sum over the rows cannot miss a write whose trigger found no totals row yet. None
    # where a write transaction already excludes every other writer (SQLite).
    freeze_ledger: str | None


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(month_start: datetime) -> datetime:
    return (month_start + timedelta(days=32)).replace(day=1)


class SQLBase(ABC):
    """A database reached through connections and transactions; the query modules build on it."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    @abstractmethod
    def transaction(self, *, lock: Lock | None = None) -> AbstractAsyncContextManager[Connection]:
        """A write transaction, committed on clean exit. SQLite takes the database write lock up front
        (BEGIN IMMEDIATE); PostgreSQL takes `lock`, if given, as a transaction-scoped advisory lock."""

    async def run_transaction(self, body: Callable[[Connection], Awaitable[T]], *, lock: Lock | None = None) -> T:
        """Run `body` in a write transaction (see `transaction`) and return what it returns. `body` may only
        await the connection's own methods: a backend may run it in one trip to its database thread."""
        async with self.transaction(lock=lock) as conn:
            return await body(conn)

    def run_now(self, body: Callable[[Connection], Awaitable[T]]) -> tuple[bool, T | None]:
        """Run `body` as one write transaction at once, without a turn of the event loop, when the backend
        can do that without waiting: (True, what `body` returned). (False, None) when it cannot (the
        database is busy, or reaching it means waiting on the network): then use `run_transaction`. `body`
        may only await the connection's own methods, as in `run_transaction`."""
        return False, None

    def write_now(self, sql: str, *args: Any) -> bool:
        """One statement, a transaction of its own, at once, without a turn of the event loop, where the
        backend can do that without waiting (as `run_now`): whether it ran (False: nothing was written)."""
        return False

    def write_rows_now(self, sql: str, *args: Any) -> list[Row] | None:
        """`write_now` for a statement that returns rows (`RETURNING`): its rows, or None where it did not
        run (nothing was written)."""
        return None

    def read_now(self, sql: str, *args: Any) -> list[Row] | None:
        """The rows of a small read (one that takes microseconds: a lookup by key, an EXISTS), at once,
        without a turn of the event loop, where the backend can do that without waiting; None where it
        cannot (then read through `connection`)."""
        return None

    @abstractmethod
    def connection(self) -> AbstractAsyncContextManager[Connection]:
        """A connection in autocommit mode, for single statements."""

    @abstractmethod
    async def close(self) -> None: ...
