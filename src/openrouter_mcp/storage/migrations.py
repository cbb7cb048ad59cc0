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


# What a ledger row counts against the budgets (the rule of `ledger._COUNTS_AGAINST_BUDGET`, spelled for
# the trigger's OLD or NEW row), and the totals rows it counts in: the server's and its user's, of its UTC
# month and UTC day. Month before day, server before user: every writer takes the totals' row locks in
# this one order (see docs/decisions/0018-budget-running-totals.md).
def _counted(r: str) -> str:
    return (
        f"(CASE WHEN {r}.status IN ('pending', 'unknown') OR {r}.cost_e10 IS NOT NULL OR {r}.generation_id IS NOT NULL"
        f" THEN COALESCE({r}.cost_e10, {r}.estimate_e10) ELSE 0 END)"
    )


def _totals_keys(d: Dialect, r: str) -> list[tuple[str, str, str]]:
    if d.name == "sqlite":
        month, day = f"substr({r}.created_at, 1, 7)", f"substr({r}.created_at, 1, 10)"
    else:
        month = f"to_char({r}.created_at AT TIME ZONE 'UTC', 'YYYY-MM')"
        day = f"to_char({r}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return [("'server'", "''", month), ("'server'", "''", day), ("'user'", f"{r}.user_name", month), ("'user'", f"{r}.user_name", day)]


def _add_to_totals(d: Dialect, r: str, amount: str) -> str:
    return "".join(
        f" UPDATE budget_totals SET spent_e10 = spent_e10 + {amount} WHERE scope = {scope} AND user_name = {user} AND period = {period};"
        for scope, user, period in _totals_keys(d, r)
    )


@_migration
async def m006_budget_totals(db: Connection, d: Dialect) -> None:
    # Running totals of what counts against the budgets, per UTC month and day, for the server and for each
    # user, so a budget check reads a few rows whatever the size of the ledger. A totals row is built from
    # the ledger rows the first time its window is checked (`ledger.LedgerQueries`); from then on the
    # triggers below keep it exact in the same transaction as every ledger write. A window without a
    # totals row is left alone by the triggers: it is summed from the rows when first needed.
    await db.execute(
        f"""CREATE TABLE budget_totals (
            scope TEXT NOT NULL,
            user_name TEXT NOT NULL,
            period TEXT NOT NULL,
            spent_e10 BIGINT NOT NULL,
            built_at {d.timestamp_type} NOT NULL,
            PRIMARY KEY (scope, user_name, period)
        )"""
    )
    same_keys = "OLD.created_at = NEW.created_at AND OLD.user_name = NEW.user_name"
    old, new = _counted("OLD"), _counted("NEW")
    add_new, delta = _add_to_totals(d, "NEW", new), _add_to_totals(d, "NEW", f"({new} - {old})")
    take_old = _add_to_totals(d, "OLD", f"-{old}")
    if d.name == "sqlite":
        await db.execute(f"CREATE TRIGGER ledger_totals_insert AFTER INSERT ON ledger WHEN {new} <> 0 BEGIN{add_new} END")
        await db.execute(
            "CREATE TRIGGER ledger_totals_update AFTER UPDATE OF status, cost_e10, generation_id, estimate_e10 ON ledger"
            f" WHEN {same_keys} AND {old} <> {new} BEGIN{delta} END"
        )
        await db.execute(
            f"CREATE TRIGGER ledger_totals_move AFTER UPDATE OF created_at, user_name ON ledger WHEN NOT ({same_keys}) BEGIN{take_old}{add_new} END"
        )
        await db.execute(f"CREATE TRIGGER ledger_totals_delete AFTER DELETE ON ledger BEGIN{take_old} END")
        return
    await db.execute(
        "CREATE FUNCTION ledger_budget_totals() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN"
        f" IF TG_OP = 'INSERT' THEN{add_new} ELSIF TG_OP = 'DELETE' THEN{take_old}"
        f" ELSIF {same_keys} THEN{delta} ELSE{take_old}{add_new} END IF; RETURN NULL; END $body$"
    )
    await db.execute(f"CREATE TRIGGER ledger_totals_insert AFTER INSERT ON ledger FOR EACH ROW WHEN ({new} <> 0) EXECUTE FUNCTION ledger_budget_totals()")
    await db.execute(
        f"CREATE TRIGGER ledger_totals_update AFTER UPDATE ON ledger FOR EACH ROW WHEN (NOT ({same_keys}) OR {old} <> {new}) EXECUTE FUNCTION ledger_budget_totals()"
    )
    await db.execute("CREATE TRIGGER ledger_totals_delete AFTER DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_budget_totals()")


@_migration
async def m007_generation_id_index_partial(db: Connection, d: Dialect) -> None:
    # A row is written ahead before OpenRouter names its generation: the index of generation ids leaves out
    # the rows that have none, so writing a row ahead changes one index page fewer (the one query by
    # generation id asks for one that is not null, so it still uses the index).
    await db.execute("DROP INDEX ledger_generation_id")
    await db.execute("CREATE INDEX ledger_generation_id ON ledger (generation_id) WHERE generation_id IS NOT NULL")


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
