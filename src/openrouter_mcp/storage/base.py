"""The ledger, budget, job and key/value queries, written once for both backends against a two-method
connection and a small dialect; each backend only supplies connections, transactions and the dialect."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import IntEnum
from typing import Any, Protocol, cast

from .models import (
    FINISHED_JOB_STATUSES,
    SETTLED_STATUSES,
    BudgetRefused,
    BudgetWindow,
    FinishedJobStatus,
    JobRow,
    LedgerOutcome,
    LedgerReservation,
    LedgerRow,
    UsageBucket,
)

Row = dict[str, Any]

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

    def encode_ts(self, moment: datetime) -> Any: ...

    def decode_ts(self, value: Any) -> datetime: ...

    def utc_day(self, column: str) -> str:
        """An SQL expression giving the 'YYYY-MM-DD' UTC date of a timestamp column."""
        ...


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(month_start: datetime) -> datetime:
    return (month_start + timedelta(days=32)).replace(day=1)


_LEDGER_COLUMNS = (
    "call_id, tool, model_requested, caller, estimate_e10, created_at, status, settled_at, model_used, provider,"
    " generation_id, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_e10, cost_source,"
    " latency_ms, error_code"
)
_JOB_COLUMNS = "job_id, tool, arguments, status, progress, total, message, result, error, cancel_requested, owner, created_at, updated_at, heartbeat_at"
# A row counts against a budget while its call may still cost money (pending, at its estimate), once its
# real cost is known, and, at its estimate, while a started generation's cost is still being reconciled.
_COUNTS_AGAINST_BUDGET = "(status = 'pending' OR cost_e10 IS NOT NULL OR generation_id IS NOT NULL)"
_SPENT_SQL = f"SELECT COALESCE(SUM(COALESCE(cost_e10, estimate_e10)), 0) AS spent FROM ledger WHERE {_COUNTS_AGAINST_BUDGET}"
_SETTLE_SQL = (
    "UPDATE ledger SET status = $2, settled_at = $3, model_used = $4, provider = $5, generation_id = $6,"
    " prompt_tokens = $7, completion_tokens = $8, reasoning_tokens = $9, cached_tokens = $10, cost_e10 = $11,"
    " cost_source = $12, latency_ms = $13, error_code = $14"
    " WHERE call_id = $1 AND status = 'pending'"
)
_INSERT_PENDING_SQL = (
    "INSERT INTO ledger (call_id, tool, model_requested, caller, estimate_e10, created_at, status)"
    " VALUES ($1, $2, $3, $4, $5, $6, 'pending') ON CONFLICT (call_id) DO NOTHING"
)


KV_UPSERT = (
    "INSERT INTO kv (namespace, key, value, updated_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(value: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(value))


def _load_optional(value: str | None) -> dict[str, Any] | None:
    return None if value is None else _load(value)


class SQLStorage(ABC):
    """The server's storage (`openrouter_mcp.storage.Storage`), on any backend that provides the three
    abstract methods."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    @abstractmethod
    def transaction(self, *, lock: Lock | None = None) -> AbstractAsyncContextManager[Connection]:
        """A write transaction, committed on clean exit. SQLite takes the database write lock up front
        (BEGIN IMMEDIATE); PostgreSQL takes `lock`, if given, as a transaction-scoped advisory lock."""

    @abstractmethod
    def connection(self) -> AbstractAsyncContextManager[Connection]:
        """A connection in autocommit mode, for single statements."""

    @abstractmethod
    async def close(self) -> None: ...

    # --- ledger ---

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
        async with self.transaction(lock=Lock.BUDGET) as conn:
            await self._refuse_over_budget(conn, call.estimate_usd, daily_cap_usd, monthly_cap_usd, now)
            if not await self._insert_pending(conn, call, to_units(call.estimate_usd)):
                raise ValueError(f"call_id {call.call_id!r} is already in the ledger")

    async def check_budget(self, estimate_usd: Decimal, *, daily_cap_usd: Decimal | None, monthly_cap_usd: Decimal | None, now: datetime) -> None:
        """Raise `BudgetRefused` where `reserve` would, reserving nothing (for a whole run's worst case)."""
        async with self.connection() as conn:
            await self._refuse_over_budget(conn, estimate_usd, daily_cap_usd, monthly_cap_usd, now)

    async def _refuse_over_budget(self, conn: Connection, estimate_usd: Decimal, daily_cap_usd: Decimal | None, monthly_cap_usd: Decimal | None, now: datetime) -> None:
        estimate = to_units(estimate_usd)
        day_start = utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
        month_start = _month_start(day_start)
        # The monthly window goes first because its refusal is the one that waiting until tomorrow won't lift.
        windows: list[tuple[BudgetWindow, Decimal, datetime, datetime]] = []
        if monthly_cap_usd is not None:
            windows.append(("monthly", monthly_cap_usd, month_start, _next_month(month_start)))
        if daily_cap_usd is not None:
            windows.append(("daily", daily_cap_usd, day_start, day_start + timedelta(days=1)))
        for window, cap, start, end in windows:
            spent = await self._spent(conn, start, end)
            if spent + estimate > to_units(cap):
                raise BudgetRefused(window=window, cap_usd=cap, spent_usd=from_units(spent), estimate_usd=estimate_usd)

    async def settle(self, call_id: str, outcome: LedgerOutcome) -> bool:
        """Record how a pending call went. False, changing nothing, if it was already settled or never reserved."""
        args = self._settle_args(call_id, outcome)
        async with self.connection() as conn:
            return await conn.execute(_SETTLE_SQL, *args) == 1

    async def record(self, call: LedgerReservation, outcome: LedgerOutcome) -> None:
        """Reserve without caps and settle, in one step, for a call made without a reservation;
        a call_id that is already settled keeps its first settlement."""
        estimate = to_units(call.estimate_usd)
        args = self._settle_args(call.call_id, outcome)
        # Under the budget lock too: a capped reservation summing just before this row lands could
        # otherwise pass its cap together with it.
        async with self.transaction(lock=Lock.BUDGET) as conn:
            await self._insert_pending(conn, call, estimate)
            await conn.execute(_SETTLE_SQL, *args)

    def _batch_statements(self, items: Sequence[tuple[LedgerReservation, LedgerOutcome, bool]]) -> list[tuple[str, Sequence[Any]]]:
        statements: list[tuple[str, Sequence[Any]]] = []
        for call, outcome, reserved in items:
            if not reserved:
                encoded = (call.call_id, call.tool, call.model_requested, call.caller, to_units(call.estimate_usd), self.dialect.encode_ts(utc(call.created_at)))
                statements.append((_INSERT_PENDING_SQL, encoded))
            statements.append((_SETTLE_SQL, self._settle_args(call.call_id, outcome)))
        return statements

    async def settle_batch(self, items: Sequence[tuple[LedgerReservation, LedgerOutcome, bool]]) -> None:
        """Write many calls' results in one transaction: settle the reserved ones (`True`), insert and settle
        the others. Each call still lands once: settling only ever changes a pending row."""
        async with self.transaction(lock=Lock.BUDGET) as conn:
            for sql, args in self._batch_statements(items):
                await conn.execute(sql, *args)

    async def set_cost(self, call_id: str, cost_usd: Decimal, *, source: str) -> None:
        """Fill in or correct the cost of a call (`source` says where it came from, e.g. 'generation').
        Raises KeyError for an unknown call_id."""
        units = to_units(cost_usd)
        async with self.connection() as conn:
            changed = await conn.execute("UPDATE ledger SET cost_e10 = $2, cost_source = $3 WHERE call_id = $1", call_id, units, source)
        if not changed:
            raise KeyError(call_id)

    async def unreconciled(self, *, older_than: datetime, limit: int) -> list[LedgerRow]:
        """Settled calls with a generation id but no cost yet, settled before `older_than`, oldest first."""
        sql = (
            f"SELECT {_LEDGER_COLUMNS} FROM ledger"
            " WHERE generation_id IS NOT NULL AND cost_e10 IS NULL AND status <> 'pending' AND settled_at < $1"
            " ORDER BY settled_at, call_id LIMIT $2"
        )
        async with self.connection() as conn:
            rows = await conn.fetch(sql, self.dialect.encode_ts(utc(older_than)), limit)
        return [self._ledger_row(row) for row in rows]

    async def count_unreconciled(self, *, start: datetime, end: datetime) -> int:
        """How many calls created in [start, end) still wait for their cost (see `unreconciled`)."""
        sql = (
            "SELECT COUNT(*) AS n FROM ledger WHERE generation_id IS NOT NULL AND cost_e10 IS NULL AND status <> 'pending'"
            " AND settled_at IS NOT NULL AND created_at >= $1 AND created_at < $2"
        )
        async with self.connection() as conn:
            rows = await conn.fetch(sql, self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end)))
        return int(rows[0]["n"])

    async def ledger(self, *, start: datetime, end: datetime, tool: str | None = None) -> list[LedgerRow]:
        """Rows created in [start, end), oldest first."""
        sql = f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE created_at >= $1 AND created_at < $2"
        args: list[Any] = [self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end))]
        if tool is not None:
            sql += " AND tool = $3"
            args.append(tool)
        async with self.connection() as conn:
            rows = await conn.fetch(sql + " ORDER BY created_at, call_id", *args)
        return [self._ledger_row(row) for row in rows]

    async def usage_rollup(self, *, start: datetime, end: datetime) -> list[UsageBucket]:
        """Rows created in [start, end), summed per UTC day, tool, model used and provider."""
        sql = (
            f"SELECT {self.dialect.utc_day('created_at')} AS day, tool, model_used, provider,"
            " COUNT(*) AS calls, SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors,"
            " SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,"
            " SUM(reasoning_tokens) AS reasoning_tokens, SUM(cached_tokens) AS cached_tokens,"
            " COALESCE(SUM(cost_e10), 0) AS cost_e10"
            " FROM ledger WHERE created_at >= $1 AND created_at < $2"
            " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3 NULLS FIRST, 4 NULLS FIRST"
        )
        async with self.connection() as conn:
            rows = await conn.fetch(sql, self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end)))
        return [
            UsageBucket(
                day=row["day"],
                tool=row["tool"],
                model_used=row["model_used"],
                provider=row["provider"],
                calls=int(row["calls"]),
                errors=int(row["errors"]),
                prompt_tokens=int(row["prompt_tokens"]),
                completion_tokens=int(row["completion_tokens"]),
                reasoning_tokens=int(row["reasoning_tokens"]),
                cached_tokens=int(row["cached_tokens"]),
                cost_usd=from_units(row["cost_e10"]),
            )
            for row in rows
        ]

    async def top_costs(self, *, start: datetime, end: datetime, limit: int) -> list[LedgerRow]:
        """The `limit` most expensive calls of known cost in [start, end)."""
        sql = (
            f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE created_at >= $1 AND created_at < $2 AND cost_e10 IS NOT NULL"
            " ORDER BY cost_e10 DESC, created_at LIMIT $3"
        )
        async with self.connection() as conn:
            rows = await conn.fetch(sql, self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end)), limit)
        return [self._ledger_row(row) for row in rows]

    async def spent_usd(self, *, since: datetime) -> Decimal:
        """Spend since `since`, by the rule `reserve` applies."""
        async with self.connection() as conn:
            rows = await conn.fetch(_SPENT_SQL + " AND created_at >= $1", self.dialect.encode_ts(utc(since)))
        return from_units(rows[0]["spent"])

    async def _spent(self, conn: Connection, start: datetime, end: datetime) -> int:
        rows = await conn.fetch(
            _SPENT_SQL + " AND created_at >= $1 AND created_at < $2",
            self.dialect.encode_ts(start),
            self.dialect.encode_ts(end),
        )
        return int(rows[0]["spent"])

    async def _insert_pending(self, conn: Connection, call: LedgerReservation, estimate: int) -> bool:
        inserted = await conn.execute(
            _INSERT_PENDING_SQL,
            call.call_id,
            call.tool,
            call.model_requested,
            call.caller,
            estimate,
            self.dialect.encode_ts(utc(call.created_at)),
        )
        return inserted == 1

    def _settle_args(self, call_id: str, outcome: LedgerOutcome) -> Sequence[Any]:
        if outcome.status not in SETTLED_STATUSES:
            raise ValueError(f"cannot settle a call as {outcome.status!r}")
        cost = None if outcome.cost_usd is None else to_units(outcome.cost_usd)
        return (
            call_id,
            outcome.status,
            self.dialect.encode_ts(datetime.now(UTC)),
            outcome.model_used,
            outcome.provider,
            outcome.generation_id,
            outcome.prompt_tokens,
            outcome.completion_tokens,
            outcome.reasoning_tokens,
            outcome.cached_tokens,
            cost,
            None if cost is None else "response",
            outcome.latency_ms,
            outcome.error_code,
        )

    def _ledger_row(self, row: Row) -> LedgerRow:
        settled_at = row["settled_at"]
        cost = row["cost_e10"]
        return LedgerRow(
            call_id=row["call_id"],
            tool=row["tool"],
            model_requested=row["model_requested"],
            caller=row["caller"],
            estimate_usd=from_units(row["estimate_e10"]),
            created_at=self.dialect.decode_ts(row["created_at"]),
            status=row["status"],
            settled_at=None if settled_at is None else self.dialect.decode_ts(settled_at),
            model_used=row["model_used"],
            provider=row["provider"],
            generation_id=row["generation_id"],
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            reasoning_tokens=row["reasoning_tokens"],
            cached_tokens=row["cached_tokens"],
            cost_usd=None if cost is None else from_units(cost),
            cost_source=row["cost_source"],
            latency_ms=row["latency_ms"],
            error_code=row["error_code"],
        )

    # --- jobs ---

    async def create_job(self, job_id: str, *, tool: str, arguments: dict[str, Any], owner: str) -> None:
        """Start a job as 'running', owned by a process instance. Raises ValueError if the job_id is taken."""
        now = self.dialect.encode_ts(datetime.now(UTC))
        async with self.connection() as conn:
            inserted = await conn.execute(
                "INSERT INTO jobs (job_id, tool, arguments, status, cancel_requested, owner,"
                " created_at, updated_at, heartbeat_at)"
                " VALUES ($1, $2, $3, 'running', FALSE, $4, $5, $5, $5) ON CONFLICT (job_id) DO NOTHING",
                job_id,
                tool,
                _dump(arguments),
                owner,
                now,
            )
        if not inserted:
            raise ValueError(f"job_id {job_id!r} already exists")

    async def update_job(
        self,
        job_id: str,
        *,
        progress: float | None = None,
        total: float | None = None,
        message: str | None = None,
    ) -> None:
        """Report progress on a running job (None keeps a field as it was) and bump its heartbeat."""
        now = self.dialect.encode_ts(datetime.now(UTC))
        async with self.connection() as conn:
            await conn.execute(
                "UPDATE jobs SET progress = COALESCE($2, progress), total = COALESCE($3, total),"
                " message = COALESCE($4, message), updated_at = $5, heartbeat_at = $5"
                " WHERE job_id = $1 AND status = 'running'",
                job_id,
                progress,
                total,
                message,
                now,
            )

    async def heartbeat(self, owner: str) -> None:
        """Bump the heartbeat of every running job of `owner`."""
        now = self.dialect.encode_ts(datetime.now(UTC))
        async with self.connection() as conn:
            await conn.execute("UPDATE jobs SET heartbeat_at = $2 WHERE owner = $1 AND status = 'running'", owner, now)

    async def finish_job(
        self,
        job_id: str,
        *,
        status: FinishedJobStatus,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Move a running job to its final status. False, changing nothing, if it is not running."""
        if status not in FINISHED_JOB_STATUSES:
            raise ValueError(f"cannot finish a job as {status!r}")
        now = self.dialect.encode_ts(datetime.now(UTC))
        async with self.connection() as conn:
            changed = await conn.execute(
                "UPDATE jobs SET status = $2, result = $3, error = $4, updated_at = $5 WHERE job_id = $1 AND status = 'running'",
                job_id,
                status,
                None if result is None else _dump(result),
                None if error is None else _dump(error),
                now,
            )
        return changed == 1

    async def get_job(self, job_id: str) -> JobRow | None:
        async with self.connection() as conn:
            rows = await conn.fetch(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = $1", job_id)
        return self._job_row(rows[0]) if rows else None

    async def request_cancel(self, job_id: str) -> JobRow | None:
        """Flag a running job for cancellation; returns the job as it now is, or None if there is none."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE jobs SET cancel_requested = TRUE, updated_at = $2 WHERE job_id = $1 AND status = 'running'",
                job_id,
                self.dialect.encode_ts(datetime.now(UTC)),
            )
            rows = await conn.fetch(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = $1", job_id)
        return self._job_row(rows[0]) if rows else None

    async def fail_stale_jobs(self, *, stale_before: datetime, reason: str) -> int:
        """Fail running jobs whose heartbeat is older than `stale_before` with error
        {"code": "JOB_FAILED", "message": reason}; returns how many."""
        async with self.connection() as conn:
            return await conn.execute(
                "UPDATE jobs SET status = 'failed', error = $2, updated_at = $3 WHERE status = 'running' AND heartbeat_at < $1",
                self.dialect.encode_ts(utc(stale_before)),
                _dump({"code": "JOB_FAILED", "message": reason}),
                self.dialect.encode_ts(datetime.now(UTC)),
            )

    def _job_row(self, row: Row) -> JobRow:
        return JobRow(
            job_id=row["job_id"],
            tool=row["tool"],
            arguments=_load(row["arguments"]),
            status=row["status"],
            progress=row["progress"],
            total=row["total"],
            message=row["message"],
            result=_load_optional(row["result"]),
            error=_load_optional(row["error"]),
            cancel_requested=bool(row["cancel_requested"]),
            owner=row["owner"],
            created_at=self.dialect.decode_ts(row["created_at"]),
            updated_at=self.dialect.decode_ts(row["updated_at"]),
            heartbeat_at=self.dialect.decode_ts(row["heartbeat_at"]),
        )

    # --- key/value ---

    async def kv_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT value FROM kv WHERE namespace = $1 AND key = $2", namespace, key)
        return _load(rows[0]["value"]) if rows else None

    async def kv_put(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        async with self.connection() as conn:
            await conn.execute(KV_UPSERT, namespace, key, _dump(value), self.dialect.encode_ts(datetime.now(UTC)))

    async def kv_list(self, namespace: str) -> list[tuple[str, dict[str, Any]]]:
        """All records of a namespace, by key."""
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT key, value FROM kv WHERE namespace = $1 ORDER BY key", namespace)
        return [(row["key"], _load(row["value"])) for row in rows]

    async def kv_update(self, namespace: str, key: str, update: Callable[[dict[str, Any] | None], dict[str, Any]]) -> dict[str, Any]:
        """Read-modify-write one record atomically across processes: `update` gets the current value (None
        if there is none) and returns the new one; if it raises, nothing is written and the error propagates."""
        return (await self.kv_update_many(namespace, {key: update}))[key]

    async def kv_update_many(self, namespace: str, updates: dict[str, Callable[[dict[str, Any] | None], dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        """Atomic read-modify-writes of several values in one transaction: all of them or none."""
        out: dict[str, dict[str, Any]] = {}
        async with self.transaction(lock=Lock.KV) as conn:
            now = self.dialect.encode_ts(datetime.now(UTC))
            for key, update in updates.items():
                rows = await conn.fetch("SELECT value FROM kv WHERE namespace = $1 AND key = $2", namespace, key)
                value = out[key] = update(_load(rows[0]["value"]) if rows else None)
                await conn.execute(KV_UPSERT, namespace, key, _dump(value), now)
        return out
