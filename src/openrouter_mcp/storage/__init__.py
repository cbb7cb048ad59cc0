"""The server's durable state (the spend ledger and its budgets, long-running jobs, small key/value records)
behind one async interface, on SQLite (default: one file shared by every server process) or PostgreSQL.

Money is `Decimal` in Python and an integer count of 1e-10 USD (BIGINT) in both databases. Budget checks and
usage rollups sum money in SQL, so the sums must be exact: SQLite has no decimal type (SUM over TEXT goes
through floating point), and a single integer type keeps the one list of migrations identical on both
backends. Ten decimal places are finer than any OpenRouter price, and BIGINT still holds $900 million.

Drivers (`sqlite3`, `asyncpg`) are imported only when a storage is opened, to keep server start-up fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .models import (
    BudgetRefused,
    FinishedJobStatus,
    JobRow,
    LedgerOutcome,
    LedgerReservation,
    LedgerRow,
    UsageBucket,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .base import SQLStorage

__all__ = [
    "BudgetRefused",
    "JobRow",
    "LedgerOutcome",
    "LedgerReservation",
    "LedgerRow",
    "Storage",
    "UsageBucket",
    "connect",
    "open_storage",
]


class Storage(Protocol):
    backend: str  # "sqlite" | "postgresql"

    async def close(self) -> None: ...

    # --- ledger: one row per upstream call that can cost money ---

    async def reserve(
        self,
        call: LedgerReservation,
        *,
        daily_cap_usd: Decimal | None,
        monthly_cap_usd: Decimal | None,
        now: datetime,
    ) -> None:
        """Insert `call` as 'pending', atomically across tasks and processes, unless the spend of the UTC
        day or month of `now` plus `call.estimate_usd` would pass its cap: then raise `BudgetRefused` and
        record nothing. Spend is the sum of cost (or, while pending, the estimate) over rows that are pending
        or have a known cost. Raises ValueError if the call_id is already in the ledger."""
        ...

    async def settle(self, call_id: str, outcome: LedgerOutcome) -> bool:
        """Record how a pending call went. False, changing nothing, if it was already settled or never reserved."""
        ...

    async def record(self, call: LedgerReservation, outcome: LedgerOutcome) -> None:
        """Reserve without caps and settle, in one step, for a call made without a reservation;
        a call_id that is already settled keeps its first settlement."""
        ...

    async def settle_batch(self, items: Sequence[tuple[LedgerReservation, LedgerOutcome, bool]]) -> None:
        """Settle many calls in one transaction; `True` marks a reserved call, `False` one to insert first."""
        ...

    async def set_cost(self, call_id: str, cost_usd: Decimal, *, source: str) -> None:
        """Fill in or correct the cost of a call (`source` says where it came from, e.g. 'generation').
        Raises KeyError for an unknown call_id."""
        ...

    async def unreconciled(self, *, older_than: datetime, limit: int) -> list[LedgerRow]:
        """Settled calls with a generation id but no cost yet, settled before `older_than`, oldest first."""
        ...

    async def ledger(self, *, start: datetime, end: datetime, tool: str | None = None) -> list[LedgerRow]:
        """Rows created in [start, end), oldest first."""
        ...

    async def usage_rollup(self, *, start: datetime, end: datetime) -> list[UsageBucket]:
        """Rows created in [start, end), summed per UTC day, tool, model used and provider."""
        ...

    async def top_costs(self, *, start: datetime, end: datetime, limit: int) -> list[LedgerRow]:
        """The `limit` most expensive calls of known cost in [start, end)."""
        ...

    async def spent_usd(self, *, since: datetime) -> Decimal:
        """Spend since `since`, by the rule `reserve` applies."""
        ...

    # --- jobs: long work that outlives a tool call ---

    async def create_job(self, job_id: str, *, tool: str, arguments: dict[str, Any], owner: str) -> None:
        """Start a job as 'running', owned by a process instance. Raises ValueError if the job_id is taken."""
        ...

    async def update_job(
        self,
        job_id: str,
        *,
        progress: float | None = None,
        total: float | None = None,
        message: str | None = None,
    ) -> None:
        """Report progress on a running job (None keeps a field as it was) and bump its heartbeat."""
        ...

    async def heartbeat(self, owner: str) -> None:
        """Bump the heartbeat of every running job of `owner`."""
        ...

    async def finish_job(
        self,
        job_id: str,
        *,
        status: FinishedJobStatus,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Move a running job to its final status. False, changing nothing, if it is not running."""
        ...

    async def get_job(self, job_id: str) -> JobRow | None: ...

    async def request_cancel(self, job_id: str) -> JobRow | None:
        """Flag a running job for cancellation; returns the job as it now is, or None if there is none."""
        ...

    async def fail_stale_jobs(self, *, stale_before: datetime, reason: str) -> int:
        """Fail running jobs whose heartbeat is older than `stale_before` with error
        {"code": "JOB_FAILED", "message": reason}; returns how many."""
        ...

    # --- key/value records, JSON objects ---

    async def kv_get(self, namespace: str, key: str) -> dict[str, Any] | None: ...

    async def kv_put(self, namespace: str, key: str, value: dict[str, Any]) -> None: ...

    async def kv_list(self, namespace: str) -> list[tuple[str, dict[str, Any]]]:
        """All records of a namespace, by key."""
        ...

    async def kv_update(self, namespace: str, key: str, update: Callable[[dict[str, Any] | None], dict[str, Any]]) -> dict[str, Any]:
        """Read-modify-write one record atomically across processes: `update` gets the current value (None
        if there is none) and returns the new one; if it raises, nothing is written and the error propagates."""
        ...

    async def kv_update_many(self, namespace: str, updates: dict[str, Callable[[dict[str, Any] | None], dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        """`kv_update` for several records in one transaction: every record is updated, or (when an update
        raises) none is. Returns the new values by key."""
        ...


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
