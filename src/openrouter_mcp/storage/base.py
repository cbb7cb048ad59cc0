"""The job and key/value queries, and `SQLStorage`, the whole storage interface: written once for both
backends against a two-method connection and a small dialect; each backend only supplies connections,
transactions and the dialect."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from .files import FileQueries
from .ledger import LedgerQueries
from .models import FINISHED_JOB_STATUSES, FinishedJobStatus, JobRow
from .sql import MONEY_SCALE, Connection, Dialect, Lock, Row, from_units, to_units, utc
from .users import UserQueries

__all__ = ["MONEY_SCALE", "Connection", "Dialect", "Lock", "Row", "SQLStorage", "from_units", "to_units", "utc"]

_JOB_COLUMNS = (
    "job_id, tool, arguments, status, progress, total, message, result, error, cancel_requested, owner, created_at, updated_at, heartbeat_at, user_name"
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


class SQLStorage(LedgerQueries, UserQueries, FileQueries):
    """The server's storage (`openrouter_mcp.storage.Storage`), on any backend that provides the three
    abstract methods."""

    # --- jobs ---

    async def create_job(self, job_id: str, *, tool: str, arguments: dict[str, Any], owner: str, user_name: str = "local") -> None:
        """Start a job as 'running', run by a process instance (`owner`) for a user. Raises ValueError if the job_id is taken."""
        now = self.dialect.encode_ts(datetime.now(UTC))
        async with self.connection() as conn:
            inserted = await conn.execute(
                "INSERT INTO jobs (job_id, tool, arguments, status, cancel_requested, owner,"
                " created_at, updated_at, heartbeat_at, user_name)"
                " VALUES ($1, $2, $3, 'running', FALSE, $4, $5, $5, $5, $6) ON CONFLICT (job_id) DO NOTHING",
                job_id,
                tool,
                _dump(arguments),
                owner,
                now,
                user_name,
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

    async def recent_jobs(self, *, limit: int, user: str | None = None) -> list[JobRow]:
        """The `limit` newest jobs (of one user, or everyone's), running ones first."""
        where, args = ("", []) if user is None else (" WHERE user_name = $1", [user])
        sql = f"SELECT {_JOB_COLUMNS} FROM jobs{where} ORDER BY CASE WHEN status = 'running' THEN 0 ELSE 1 END, created_at DESC, job_id LIMIT ${len(args) + 1}"
        async with self.connection() as conn:
            rows = await conn.fetch(sql, *args, limit)
        return [self._job_row(row) for row in rows]

    async def list_jobs(self, user_name: str, *, limit: int, before: tuple[datetime, str] | None = None) -> list[JobRow]:
        """A user's jobs, newest first, at most `limit`; `before` (created_at, job_id) continues a listing
        after its last row."""
        async with self.connection() as conn:
            if before is None:
                rows = await conn.fetch(
                    f"SELECT {_JOB_COLUMNS} FROM jobs WHERE user_name = $1 ORDER BY created_at DESC, job_id DESC LIMIT $2", user_name, limit
                )
            else:
                at = self.dialect.encode_ts(utc(before[0]))
                rows = await conn.fetch(
                    f"SELECT {_JOB_COLUMNS} FROM jobs WHERE user_name = $1 AND (created_at < $2 OR (created_at = $2 AND job_id < $3))"
                    " ORDER BY created_at DESC, job_id DESC LIMIT $4",
                    user_name,
                    at,
                    before[1],
                    limit,
                )
        return [self._job_row(r) for r in rows]

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
            user_name=row["user_name"],
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
