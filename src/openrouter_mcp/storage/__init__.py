"""The server's durable state (the spend ledger and its budgets, long-running jobs, small key/value records)
behind one async interface, on SQLite (default: one file shared by every server process) or PostgreSQL.

Money is `Decimal` in Python and an integer count of 1e-10 USD (BIGINT) in both databases. Budget checks and
usage rollups sum money in SQL, so the sums must be exact: SQLite has no decimal type (SUM over TEXT goes
through floating point), and a single integer type keeps the one list of migrations identical on both
backends. Ten decimal places are finer than any OpenRouter price, and BIGINT still holds $900 million.

Drivers (`sqlite3`, `asyncpg`) are imported only when a storage is opened, to keep server start-up fast.
"""

from __future__ import annotations

from pathlib import Path

from .base import SQLStorage
from .models import (
    BudgetedCall,
    BudgetRefused,
    JobRow,
    LedgerOutcome,
    LedgerReservation,
    LedgerRow,
    TotalsMismatch,
    UsageBucket,
)

# What the rest of the server programs against; SQLite and PostgreSQL differ only in their Dialect.
Storage = SQLStorage

__all__ = [
    "BudgetRefused",
    "BudgetedCall",
    "JobRow",
    "LedgerOutcome",
    "LedgerReservation",
    "LedgerRow",
    "Storage",
    "TotalsMismatch",
    "UsageBucket",
    "connect",
    "open_storage",
]


async def open_storage(url: str) -> Storage:
    """Open "sqlite:///absolute/path.db" (creating the file and its directory) or "postgresql://...", and
    bring its schema up to date; safe when several processes open the same database at once."""
    from .migrations import migrate

    storage = await connect(url)
    try:
        await migrate(storage)
    except BaseException:
        await storage.close()
        raise
    return storage


async def connect(url: str) -> SQLStorage:
    """Open a storage without touching its schema: `open_storage` is what the server wants."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        path = Path(rest)
        if not path.is_absolute():
            raise ValueError(f"SQLite storage needs an absolute path, sqlite:///absolute/path.db; got {url!r}")
        from .sqlite import SQLiteStorage

        return await SQLiteStorage.connect(path)
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStorage

        return await PostgresStorage.connect(url)
    raise ValueError(f"unsupported storage URL {url!r}: use sqlite:///absolute/path.db or postgresql://...")
