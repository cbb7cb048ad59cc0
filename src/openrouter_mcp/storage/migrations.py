"""The schema, as numbered migrations that run once each on either backend and are recorded in
`schema_migrations`; append new steps at the end and never edit one that has shipped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple

from .base import Connection, Dialect, Lock, SQLStorage

Step = Callable[[Connection, Dialect], Awaitable[None]]


class Migration(NamedTuple):
    version: int
    name: str
    step: Step


MIGRATIONS: list[Migration] = []


def _migration(step: Step) -> Step:
    name = step.__name__
    version = len(MIGRATIONS) + 1
    # The number in the name is what a reader sees; refuse to let it disagree with the order.
    if not name.startswith(f"m{version:03d}_"):
        raise RuntimeError(f"migration {name} must be named m{version:03d}_...")
    MIGRATIONS.append(Migration(version, name, step))
    return step


@_migration
async def m001_ledger(db: Connection, d: Dialect) -> None:
    await db.execute(
        f"""CREATE TABLE ledger (
            call_id TEXT PRIMARY KEY,
            tool TEXT NOT NULL,
            model_requested TEXT NOT NULL,
            caller TEXT,
            estimate_e10 BIGINT NOT NULL,
            created_at {d.timestamp_type} NOT NULL,
            status TEXT NOT NULL,
            settled_at {d.timestamp_type},
            model_used TEXT,
            provider TEXT,
            generation_id TEXT,
            prompt_tokens BIGINT NOT NULL DEFAULT 0,
            completion_tokens BIGINT NOT NULL DEFAULT 0,
            reasoning_tokens BIGINT NOT NULL DEFAULT 0,
            cached_tokens BIGINT NOT NULL DEFAULT 0,
            cost_e10 BIGINT,
            cost_source TEXT,
            latency_ms DOUBLE PRECISION,
            error_code TEXT
        )"""
    )
    await db.execute("CREATE INDEX ledger_created_at ON ledger (created_at)")
    await db.execute("CREATE INDEX ledger_generation_id ON ledger (generation_id)")
    # Only the few rows the reconciler still has to visit, so the index stays small.
    await db.execute("CREATE INDEX ledger_unreconciled ON ledger (settled_at) WHERE generation_id IS NOT NULL AND cost_e10 IS NULL AND status <> 'pending'")


@_migration
async def m002_jobs(db: Connection, d: Dialect) -> None:
    await db.execute(
        f"""CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY,
            tool TEXT NOT NULL,
            arguments {d.json_type} NOT NULL,
            status TEXT NOT NULL,
            progress DOUBLE PRECISION,
            total DOUBLE PRECISION,
            message TEXT,
            result {d.json_type},
            error {d.json_type},
            cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
            owner TEXT NOT NULL,
            created_at {d.timestamp_type} NOT NULL,
            updated_at {d.timestamp_type} NOT NULL,
            heartbeat_at {d.timestamp_type} NOT NULL
        )"""
    )
    await db.execute("CREATE INDEX jobs_running_heartbeat ON jobs (heartbeat_at) WHERE status = 'running'")
    await db.execute("CREATE INDEX jobs_running_owner ON jobs (owner) WHERE status = 'running'")


@_migration
async def m003_kv(db: Connection, d: Dialect) -> None:
    await db.execute(
        f"""CREATE TABLE kv (
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value {d.json_type} NOT NULL,
            updated_at {d.timestamp_type} NOT NULL,
            PRIMARY KEY (namespace, key)
        )"""
    )


@_migration
async def m004_ledger_write_ahead(db: Connection, d: Dialect) -> None:
    # Which process wrote a pending row (so another can settle it once that process is gone), and when
    # the reconciler should next ask for a row's cost (so an unreadable row waits its turn instead of
    # blocking the rows behind it).
    await db.execute("ALTER TABLE ledger ADD COLUMN owner TEXT")
    await db.execute("ALTER TABLE ledger ADD COLUMN reconcile_attempts INTEGER NOT NULL DEFAULT 0")
    await db.execute(f"ALTER TABLE ledger ADD COLUMN next_reconcile_at {d.timestamp_type}")
    await db.execute("DROP INDEX ledger_unreconciled")
    await db.execute(
        "CREATE INDEX ledger_unreconciled ON ledger (next_reconcile_at)"
        " WHERE generation_id IS NOT NULL AND cost_e10 IS NULL AND cost_source IS NULL AND status <> 'pending'"
    )
    await db.execute("CREATE INDEX ledger_pending ON ledger (created_at) WHERE status = 'pending'")
    await db.execute(f"CREATE TABLE processes (owner TEXT PRIMARY KEY, heartbeat_at {d.timestamp_type} NOT NULL)")


@_migration
async def m005_users(db: Connection, d: Dialect) -> None:
    # The team server's users: only a hash of each bearer token is kept (tokens carry 256 random bits, so
    # a plain SHA-256 cannot be searched backwards); budgets in 1e-10 USD like the ledger; a per-user
    # OpenRouter key, when provisioned, encrypted with OPENROUTER_MCP_SECRET_KEY.
    await db.execute(
        f"""CREATE TABLE users (
            name TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            admin BOOLEAN NOT NULL DEFAULT FALSE,
            daily_budget_e10 BIGINT,
            monthly_budget_e10 BIGINT,
            openrouter_key_encrypted TEXT,
            openrouter_key_hash TEXT,
            openrouter_limit_e10 BIGINT,
            created_at {d.timestamp_type} NOT NULL,
            updated_at {d.timestamp_type} NOT NULL
        )"""
    )
    # Every ledger row and job belongs to the user who made it; what came before users existed, and what
    # stdio or an open loopback server does, belongs to the one local user.
    await db.execute("ALTER TABLE ledger ADD COLUMN user_name TEXT NOT NULL DEFAULT 'local'")
    await db.execute("CREATE INDEX ledger_user_created_at ON ledger (user_name, created_at)")
    await db.execute("ALTER TABLE jobs ADD COLUMN user_name TEXT NOT NULL DEFAULT 'local'")
    # Saved media and reports: who may read them, and (on PostgreSQL, up to a cap) their bytes, so any
    # replica can serve a link another replica made.
    await db.execute(
        f"""CREATE TABLE files (
            user_name TEXT NOT NULL,
            uri TEXT NOT NULL,
            mime_type TEXT,
            size_bytes BIGINT NOT NULL,
            content {d.blob_type},
            created_at {d.timestamp_type} NOT NULL,
            PRIMARY KEY (user_name, uri)
        )"""
    )


async def migrate(storage: SQLStorage, *, target: int | None = None) -> list[int]:
    """Apply the migrations not yet recorded, up to `target` (all by default), in one transaction that
    holds the migration lock, so a second process starting at the same time waits and then finds nothing
    to do. Returns the versions applied."""
    d = storage.dialect
    applied: list[int] = []
    async with storage.transaction(lock=Lock.MIGRATIONS) as db:
        await db.execute(
            f"CREATE TABLE IF NOT EXISTS schema_migrations ( version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {d.timestamp_type} NOT NULL)"
        )
        done = {row["version"] for row in await db.fetch("SELECT version FROM schema_migrations")}
        for migration in MIGRATIONS:
            if migration.version in done or (target is not None and migration.version > target):
                continue
            await migration.step(db, d)
            await db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                d.encode_ts(datetime.now(UTC)),
            )
            applied.append(migration.version)
    return applied
