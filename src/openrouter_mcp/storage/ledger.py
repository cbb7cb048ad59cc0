"""The ledger's queries: reserving a call's worst case against the budgets (atomically across processes),
settling it exactly once, filling in costs, and the sums that usage and budgets read.

Budgets are checked against running totals per UTC day and month (the server's and each user's, in
`budget_totals`), which triggers on the ledger keep in the same transaction as every write (migration 6);
a window's total is summed from its rows the first time it is needed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from .models import (
    SETTLED_STATUSES,
    BudgetedCall,
    LedgerOutcome,
    LedgerReservation,
    LedgerRow,
    TotalsMismatch,
    UsageBucket,
    UserCaps,
)
from .sql import Connection, Lock, Row, SQLBase, from_units, to_units, utc
from .windows import TotalsKey, Window, bounds_of, counted_in, period_of, refusal_of, windows_of

_LEDGER_COLUMNS = (
    "call_id, tool, model_requested, caller, estimate_e10, created_at, status, settled_at, model_used, provider,"
    " generation_id, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_e10, cost_source,"
    " latency_ms, error_code, user_name"
)
# A row counts against a budget while its call may still cost money (pending, at its estimate), once its
# real cost is known, and, at its estimate, while a started generation's cost is still being reconciled.
_COUNTS_AGAINST_BUDGET = "(status IN ('pending', 'unknown') OR cost_e10 IS NOT NULL OR generation_id IS NOT NULL)"
_SPENT_SQL = f"SELECT COALESCE(SUM(COALESCE(cost_e10, estimate_e10)), 0) AS spent FROM ledger WHERE {_COUNTS_AGAINST_BUDGET}"
# Settled with a generation id, cost not yet known, and not given up on: what the reconciler visits.
_AWAITING_COST = "generation_id IS NOT NULL AND cost_e10 IS NULL AND cost_source IS NULL AND status <> 'pending'"
_SETTLE_SQL = (
    "UPDATE ledger SET status = $2, settled_at = $3, model_used = $4, provider = $5, generation_id = $6,"
    " prompt_tokens = $7, completion_tokens = $8, reasoning_tokens = $9, cached_tokens = $10, cost_e10 = $11,"
    " cost_source = $12, latency_ms = $13, error_code = $14"
    " WHERE call_id = $1 AND status = 'pending'"
)
_SET_GENERATION_SQL = "UPDATE ledger SET generation_id = $2 WHERE call_id = $1 AND status = 'pending'"
# A pending row's columns, and its values from `_pending_args` ($1 to $8; the status is 'pending').
_INSERT_PENDING = "INSERT INTO ledger (call_id, tool, model_requested, caller, estimate_e10, created_at, status, owner, user_name)"
_PENDING_VALUES = "$1, $2, $3, $4, $5, $6, 'pending', $7, $8"
_INSERT_PENDING_SQL = f"{_INSERT_PENDING} VALUES ({_PENDING_VALUES}) ON CONFLICT (call_id) DO NOTHING"


_TOTALS_SQL = "SELECT scope, user_name, period, spent_e10 FROM budget_totals WHERE "
_PUT_TOTAL_SQL = (
    "INSERT INTO budget_totals (scope, user_name, period, spent_e10, built_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (scope, user_name, period) DO UPDATE SET spent_e10 = excluded.spent_e10, built_at = excluded.built_at"
)
# Rows in one multi-row INSERT of pending calls: 8 parameters each, well under SQLite's 32,766.
_INSERT_CHUNK = 500


class _Planned(NamedTuple):
    """A reservation, worked out before its transaction."""

    item: BudgetedCall
    units: int
    windows: list[Window]
    counted_in: list[TotalsKey]
    pending_args: tuple[Any, ...]


@lru_cache(maxsize=64)
def _insert_pending_rows_sql(n: int) -> str:
    values = ", ".join(
        f"(${8 * i + 1}, ${8 * i + 2}, ${8 * i + 3}, ${8 * i + 4}, ${8 * i + 5}, ${8 * i + 6}, 'pending', ${8 * i + 7}, ${8 * i + 8})" for i in range(n)
    )
    return f"{_INSERT_PENDING} VALUES {values} ON CONFLICT (call_id) DO NOTHING RETURNING call_id"


@lru_cache(maxsize=16)
def _reserve_fitting_sql(windows: int) -> str:
    """One pending row, inserted only if each of `windows` windows has its running total and the row's
    estimate ($5) fits under that window's cap: $9.. are (scope, user_name, period, cap) per window. The
    windows' keys differ, so the count is `windows` exactly when all of them are there and fit."""
    fits = " OR ".join(
        f"(scope = ${9 + 4 * i} AND user_name = ${10 + 4 * i} AND period = ${11 + 4 * i} AND spent_e10 >= 0 AND spent_e10 + $5 <= ${12 + 4 * i})"
        for i in range(windows)
    )
    return (
        f"{_INSERT_PENDING} SELECT {_PENDING_VALUES} WHERE (SELECT COUNT(*) FROM budget_totals WHERE {fits}) = {windows}"
        " ON CONFLICT (call_id) DO NOTHING RETURNING call_id"
    )


class LedgerQueries(SQLBase):
    async def reserve(
        self,
        call: LedgerReservation,
        *,
        daily_cap_usd: Decimal | None,
        monthly_cap_usd: Decimal | None,
        now: datetime,
        user: UserCaps | None = None,
    ) -> None:
        """Insert `call` as 'pending', atomically across tasks and processes, unless the spend of the UTC
        day or month of `now` plus `call.estimate_usd` would pass its cap (the user's own caps in `user`,
        over that user's rows, then the server's, over every row): then raise `BudgetRefused` and record
        nothing. Spend is the sum of cost (or, while pending, the estimate) over rows that are pending or
        have a known cost. Raises ValueError if the call_id is already in the ledger."""
        [result] = await self.reserve_many([BudgetedCall(call, daily_cap_usd, monthly_cap_usd, now, user)])
        if result is not None:
            raise result

    async def reserve_many(self, calls: Sequence[BudgetedCall]) -> list[Exception | None]:
        """`reserve` for many calls in one transaction, in order, each seeing the ones before it: for each,
        None (written ahead as pending), or the `BudgetRefused`, ValueError or TypeError `reserve` would
        have raised (nothing written for it). Spend is read from the windows' running totals, so the cost
        does not grow with the ledger."""
        if not calls:
            return []
        plans, keys = self._plan_reservations(calls)
        return await self.run_transaction(lambda conn: self._reserve_in(conn, plans, keys), lock=Lock.BUDGET)

    def reserve_now(self, calls: Sequence[BudgetedCall]) -> list[Exception | None] | None:
        """`reserve_many` at once, without a turn of the event loop, where the backend can (`run_now`);
        None where it cannot."""
        plans, keys = self._plan_reservations(calls)
        if len(plans) == 1 and isinstance(plans[0], _Planned) and self._insert_if_fitting_now(plans[0]):
            return [None]
        ran, results = self.run_now(lambda conn: self._reserve_in(conn, plans, keys))
        return results if ran else None

    def _insert_if_fitting_now(self, plan: _Planned) -> bool:
        """The usual reservation in one statement, its own transaction (`write_rows_now`): a lone call whose
        windows all have their running totals, and fit. It reads the totals and writes the row under the
        database's write lock, as `_reserve_in` does in its transaction, at the cost of one autocommit
        INSERT instead of a transaction of four statements. False when it wrote nothing, for whatever
        reason (a window without its total yet, a refusal, a busy database, a call_id already there): then
        the whole reservation runs, and says why."""
        if not plan.windows:
            return False
        bounds = (part for w in plan.windows for part in (*w.key, w.cap))
        return bool(self.write_rows_now(_reserve_fitting_sql(len(plan.windows)), *plan.pending_args, *bounds))

    def _plan_reservations(self, calls: Sequence[BudgetedCall]) -> tuple[list[_Planned | Exception], set[TotalsKey]]:
        # Everything but the statements is worked out before the transaction: on SQLite the transaction may
        # run on the database thread, where Python work would contend for the GIL with the event loop.
        plans: list[_Planned | Exception] = []
        for item in calls:
            try:
                units = to_units(item.call.estimate_usd)
                plans.append(_Planned(item, units, windows_of(item), counted_in(item.call), self._pending_args(item.call, units)))
            except (TypeError, ValueError) as exc:
                plans.append(exc)
        return plans, {w.key for plan in plans if isinstance(plan, _Planned) for w in plan.windows}

    async def _reserve_in(self, conn: Connection, plans: Sequence[_Planned | Exception], keys: set[TotalsKey]) -> list[Exception | None]:
        totals = await self._totals(conn, keys)
        results: list[Exception | None] = []
        accepted: list[_Planned] = []
        taken: set[str] = set()
        for plan in plans:
            if isinstance(plan, Exception):
                results.append(plan)
                continue
            call_id = plan.item.call.call_id
            if call_id in taken:
                results.append(ValueError(f"call_id {call_id!r} is already in the ledger"))
                continue
            refused = refusal_of(plan.windows, totals, plan.units, plan.item.call.estimate_usd)
            if refused is not None:
                results.append(refused)
                continue
            results.append(None)
            accepted.append(plan)
            taken.add(call_id)
            for key in plan.counted_in:
                if key in totals:
                    totals[key] += plan.units
        # A call_id already in the ledger (never, but for a bug) was counted above: that errs towards refusing.
        written = await self._insert_pending_rows(conn, [plan.pending_args for plan in accepted])
        for i, plan in enumerate(plans):
            if results[i] is None and isinstance(plan, _Planned) and plan.item.call.call_id not in written:
                results[i] = ValueError(f"call_id {plan.item.call.call_id!r} is already in the ledger")
        return results

    async def check_budget(
        self, estimate_usd: Decimal, *, daily_cap_usd: Decimal | None, monthly_cap_usd: Decimal | None, now: datetime, user: UserCaps | None = None
    ) -> None:
        """Raise `BudgetRefused` where `reserve` would, reserving nothing (for a whole run's worst case)."""
        estimate = to_units(estimate_usd)
        item = BudgetedCall(
            LedgerReservation(call_id="", tool="", model_requested="", estimate_usd=estimate_usd, caller=None, created_at=now),
            daily_cap_usd,
            monthly_cap_usd,
            now,
            user,
        )
        windows = windows_of(item)
        if not windows:
            return
        totals = await self.run_transaction(lambda conn: self._totals(conn, {w.key for w in windows}), lock=Lock.BUDGET)
        refused = refusal_of(windows, totals, estimate, estimate_usd)
        if refused is not None:
            raise refused

    async def _totals(self, conn: Connection, keys: set[TotalsKey]) -> dict[TotalsKey, int]:
        """The running totals of these windows, in units. A window without one (never checked before, or its
        row lost) or with an impossible one (negative) is summed from its rows once and stored; from then
        on the ledger's triggers keep it. Called under the budget lock."""
        if not keys:
            return {}
        ordered = sorted(keys)
        where = " OR ".join(f"(scope = ${3 * i + 1} AND user_name = ${3 * i + 2} AND period = ${3 * i + 3})" for i in range(len(ordered)))
        rows = await conn.fetch(_TOTALS_SQL + where, *(part for key in ordered for part in key))
        found: dict[TotalsKey, int] = {(r["scope"], r["user_name"], r["period"]): int(r["spent_e10"]) for r in rows if int(r["spent_e10"]) >= 0}
        missing = [key for key in ordered if key not in found]
        if missing:
            found.update(await self._build_totals(conn, missing))
        return found

    async def _build_totals(self, conn: Connection, keys: Sequence[TotalsKey]) -> dict[TotalsKey, int]:
        """Sum these windows from the ledger rows and store the sums as their running totals."""
        if self.dialect.freeze_ledger:
            await conn.execute(self.dialect.freeze_ledger)
        built: dict[TotalsKey, int] = {}
        at = self.dialect.encode_ts(datetime.now(UTC))
        for key in keys:
            built[key] = await self._window_spent(conn, key)
            await conn.execute(_PUT_TOTAL_SQL, *key, built[key], at)
        return built

    async def _window_spent(self, conn: Connection, key: TotalsKey) -> int:
        """A budget window's spend, summed from its ledger rows."""
        scope, user_name, period = key
        start, end = bounds_of(period)
        return await self._spent(conn, start, end, user_name if scope == "user" else None)

    async def verify_budget_totals(self, *, now: datetime, repair: bool = False) -> list[TotalsMismatch]:
        """Compare the running totals of the UTC day and month of `now` (the server's and every user's)
        with a fresh sum of their ledger rows; with `repair`, store the fresh sums. Returns the mismatches.
        Ledger writes wait while the sums run (on PostgreSQL); budget checks wait too."""
        moment = utc(now)
        periods = (period_of(moment, "daily"), period_of(moment, "monthly"))

        async def body(conn: Connection) -> list[TotalsMismatch]:
            if self.dialect.freeze_ledger:
                await conn.execute(self.dialect.freeze_ledger)
            rows = await conn.fetch(_TOTALS_SQL + "period IN ($1, $2) ORDER BY scope, user_name, period", *periods)
            mismatches: list[TotalsMismatch] = []
            at = self.dialect.encode_ts(datetime.now(UTC))
            for row in rows:
                user_name = row["user_name"] if row["scope"] == "user" else None
                actual, stored = await self._window_spent(conn, (row["scope"], row["user_name"], row["period"])), int(row["spent_e10"])
                if actual != stored:
                    mismatches.append(TotalsMismatch(row["scope"], user_name, row["period"], from_units(stored), from_units(actual)))
                    if repair:
                        await conn.execute(_PUT_TOTAL_SQL, row["scope"], row["user_name"], row["period"], actual, at)
            return mismatches

        return await self.run_transaction(body, lock=Lock.BUDGET)

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

    async def write_batch(self, statements: Sequence[tuple[str, Sequence[Any]]], *, lock: Lock | None = Lock.BUDGET) -> None:
        """Run `statements` in one transaction, under `lock` (the budget lock unless told otherwise: a row
        that counts against the budgets must not land while a reservation is summing them). A backend may
        do it in one trip."""
        async with self.transaction(lock=lock) as conn:
            for sql, args in statements:
                await conn.execute(sql, *args)

    async def settle_batch(self, items: Sequence[tuple[str, LedgerOutcome]]) -> None:
        """Settle many pending calls (call_id, outcome) in one transaction. Each call still lands once:
        settling only ever changes a pending row."""
        await self.write_batch([(_SETTLE_SQL, self._settle_args(call_id, outcome)) for call_id, outcome in items])

    async def insert_pending_many(self, calls: Sequence[LedgerReservation]) -> None:
        """Write many calls ahead as 'pending' in one transaction, with no cap to check."""
        await self.write_batch(self._pending_statements(calls))

    def insert_pending_now(self, call: LedgerReservation) -> bool:
        """Write one call ahead as 'pending' at once, in a transaction of its own, without a turn of the event
        loop, where the backend can (`write_now`); False (nothing written) where it cannot."""
        return self.write_now(_INSERT_PENDING_SQL, *self._pending_args(call, to_units(call.estimate_usd)))

    def _pending_statements(self, calls: Sequence[LedgerReservation]) -> list[tuple[str, tuple[Any, ...]]]:
        return [(_INSERT_PENDING_SQL, self._pending_args(c, to_units(c.estimate_usd))) for c in calls]

    async def set_generation_ids(self, ids: Sequence[tuple[str, str]], settle: Sequence[tuple[str, LedgerOutcome]] = ()) -> None:
        """Record, in one transaction, the generations that pending calls (call_id, generation_id) started,
        and settle the calls in `settle` (call_id, outcome) that ended by then (their outcome names their
        generation)."""
        statements = [(_SET_GENERATION_SQL, pair) for pair in ids] + [(_SETTLE_SQL, self._settle_args(call_id, outcome)) for call_id, outcome in settle]
        # No budget lock for the ids alone: a pending row counts at its estimate with or without its id.
        await self.write_batch(statements, lock=Lock.BUDGET if settle else None)

    async def set_cost(self, call_id: str, cost_usd: Decimal, *, source: str) -> None:
        """Fill in or correct the cost of a call (`source` says where it came from, e.g. 'generation').
        Raises KeyError for an unknown call_id."""
        units = to_units(cost_usd)
        async with self.connection() as conn:
            changed = await conn.execute("UPDATE ledger SET cost_e10 = $2, cost_source = $3 WHERE call_id = $1", call_id, units, source)
        if not changed:
            raise KeyError(call_id)

    async def heartbeat_process(self, owner: str, now: datetime) -> None:
        """Say that the process `owner` is alive (its pending rows are its own to settle)."""
        async with self.connection() as conn:
            await conn.execute(
                "INSERT INTO processes (owner, heartbeat_at) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                owner,
                self.dialect.encode_ts(utc(now)),
            )

    async def settle_orphans(self, *, stale_before: datetime, now: datetime) -> int:
        """Settle the pending rows of processes that stopped heartbeating before `stale_before` (killed,
        crashed): one with a generation id as an INTERRUPTED error whose cost the reconciler reads; one
        without as `unknown` (its estimate keeps counting against the budgets). Returns how many."""
        stale, at = self.dialect.encode_ts(utc(stale_before)), self.dialect.encode_ts(utc(now))
        # Under the budget lock, like every other write of many rows at once: their triggers then take the
        # running totals' row locks one transaction at a time (docs/decisions/0018-budget-running-totals.md).
        async with self.transaction(lock=Lock.BUDGET) as conn:
            return await conn.execute(
                "UPDATE ledger SET status = CASE WHEN generation_id IS NULL THEN 'unknown' ELSE 'error' END,"
                " error_code = 'INTERRUPTED', settled_at = $2, next_reconcile_at = $2"
                " WHERE status = 'pending' AND created_at < $1"
                " AND (owner IS NULL OR owner NOT IN (SELECT owner FROM processes WHERE heartbeat_at >= $1))",
                stale,
                at,
            )

    async def unreconciled(self, *, now: datetime, limit: int) -> list[LedgerRow]:
        """Settled calls with a generation id whose cost is still unknown and due to be asked for again,
        the longest-waiting first."""
        sql = (
            f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE {_AWAITING_COST}"
            " AND (next_reconcile_at IS NULL OR next_reconcile_at <= $1) ORDER BY next_reconcile_at NULLS FIRST, settled_at, call_id LIMIT $2"
        )
        async with self.connection() as conn:
            rows = await conn.fetch(sql, self.dialect.encode_ts(utc(now)), limit)
        return [self._ledger_row(row) for row in rows]

    async def reconcile_later(self, call_id: str, next_try: Callable[[int], datetime]) -> None:
        """Count one more failed attempt at a row's cost and put it back in the queue until
        `next_try(attempts so far)`, so an unreadable row never blocks the rows behind it."""
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT reconcile_attempts FROM ledger WHERE call_id = $1", call_id)
            attempts = (int(rows[0]["reconcile_attempts"]) if rows else 0) + 1
            await conn.execute(
                "UPDATE ledger SET reconcile_attempts = $2, next_reconcile_at = $3 WHERE call_id = $1",
                call_id,
                attempts,
                self.dialect.encode_ts(utc(next_try(attempts))),
            )

    async def give_up_reconciling(self, *, settled_before: datetime) -> int:
        """Stop asking for the cost of rows settled before `settled_before`: they are marked `unreconciled`
        (cost_source) and keep counting at their estimate. Returns how many."""
        async with self.connection() as conn:
            return await conn.execute(
                f"UPDATE ledger SET cost_source = 'unreconciled' WHERE {_AWAITING_COST} AND settled_at < $1",
                self.dialect.encode_ts(utc(settled_before)),
            )

    async def settle_failed_job(self, call_id: str, *, cost_usd: Decimal, error_code: str) -> None:
        """A job the upstream accepted and later failed (a video): an error row, at what it was billed."""
        async with self.connection() as conn:
            await conn.execute(
                "UPDATE ledger SET status = 'error', error_code = $2, cost_e10 = $3, cost_source = 'job' WHERE call_id = $1",
                call_id,
                error_code,
                to_units(cost_usd),
            )

    async def unknown_cost(self, *, start: datetime, end: datetime, user: str | None = None) -> tuple[int, Decimal]:
        """Calls created in [start, end) whose cost is not known (still running, waiting to be read, given
        up on, or lost with a process): how many, and what they may have cost at most."""
        sql = (
            "SELECT COUNT(*) AS n, COALESCE(SUM(estimate_e10), 0) AS most FROM ledger"
            " WHERE cost_e10 IS NULL AND (status IN ('pending', 'unknown') OR generation_id IS NOT NULL) AND created_at >= $1 AND created_at < $2"
        )
        sql, args = _for_user(sql, [self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end))], user)
        async with self.connection() as conn:
            rows = await conn.fetch(sql, *args)
        return int(rows[0]["n"]), from_units(rows[0]["most"])

    async def ledger(self, *, start: datetime, end: datetime, tool: str | None = None, user: str | None = None) -> list[LedgerRow]:
        """Rows created in [start, end) (of one tool, of one user's calls), oldest first."""
        sql = f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE created_at >= $1 AND created_at < $2"
        args: list[Any] = [self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end))]
        if tool is not None:
            sql += " AND tool = $3"
            args.append(tool)
        sql, args = _for_user(sql, args, user)
        async with self.connection() as conn:
            rows = await conn.fetch(sql + " ORDER BY created_at, call_id", *args)
        return [self._ledger_row(row) for row in rows]

    async def latest_calls(self, *, start: datetime, end: datetime, limit: int, offset: int = 0, user: str | None = None) -> list[LedgerRow]:
        """Rows created in [start, end) (of one user's calls, or all), newest first, `limit` from `offset`."""
        sql = f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE created_at >= $1 AND created_at < $2"
        sql, args = _for_user(sql, [self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end))], user)
        sql += f" ORDER BY created_at DESC, call_id LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}"
        async with self.connection() as conn:
            rows = await conn.fetch(sql, *args, limit, offset)
        return [self._ledger_row(row) for row in rows]

    async def usage_rollup(self, *, start: datetime, end: datetime, user: str | None = None) -> list[UsageBucket]:
        """Rows created in [start, end) (of one user's calls, or all), summed per UTC day, tool, model used and provider."""
        where, args = _for_user(
            f"SELECT {self.dialect.utc_day('created_at')} AS day, tool, model_used, provider,"
            " COUNT(*) AS calls, SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors,"
            " SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,"
            " SUM(reasoning_tokens) AS reasoning_tokens, SUM(cached_tokens) AS cached_tokens,"
            " COALESCE(SUM(cost_e10), 0) AS cost_e10"
            " FROM ledger WHERE created_at >= $1 AND created_at < $2",
            [self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end))],
            user,
        )
        sql = where + " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3 NULLS FIRST, 4 NULLS FIRST"
        async with self.connection() as conn:
            rows = await conn.fetch(sql, *args)
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

    async def top_costs(self, *, start: datetime, end: datetime, limit: int, user: str | None = None) -> list[LedgerRow]:
        """The `limit` most expensive calls of known cost in [start, end) (of one user's calls, or all)."""
        sql = f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE created_at >= $1 AND created_at < $2 AND cost_e10 IS NOT NULL"
        sql, args = _for_user(sql, [self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end))], user)
        async with self.connection() as conn:
            rows = await conn.fetch(sql + f" ORDER BY cost_e10 DESC, created_at LIMIT ${len(args) + 1}", *args, limit)
        return [self._ledger_row(row) for row in rows]

    async def generation_owner(self, generation_id: str) -> str | None:
        """The user whose call started this generation, or None if no ledger row names it."""
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT user_name FROM ledger WHERE generation_id = $1 LIMIT 1", generation_id)
        return rows[0]["user_name"] if rows else None

    async def spent_usd(self, *, since: datetime, user: str | None = None) -> Decimal:
        """Spend since `since` (of one user's calls, or of all), by the rule `reserve` applies."""
        (spent,) = await self.spent_since((since,), user=user)
        return spent

    async def spent_since(self, starts: Sequence[datetime], *, user: str | None = None) -> list[Decimal]:
        """Spend since each of `starts`, read in one statement so the windows agree with each other (a call
        settling between separate reads would make today's spend differ from this week's)."""
        select, stamps = self._spent_since_select(starts)
        sql, args = _for_user(select, stamps, user)
        async with self.connection() as conn:
            rows = await conn.fetch(sql, *args)
        return [from_units(rows[0][f"s{i}"]) for i in range(len(stamps))]

    async def spent_since_by_user(self, starts: Sequence[datetime]) -> dict[str, list[Decimal]]:
        """`spent_since` of every user with calls in the windows, in one statement grouped by user."""
        select, stamps = self._spent_since_select(starts, by_user=True)
        async with self.connection() as conn:
            rows = await conn.fetch(select + " GROUP BY user_name", *stamps)
        return {row["user_name"]: [from_units(row[f"s{i}"]) for i in range(len(stamps))] for row in rows}

    def _spent_since_select(self, starts: Sequence[datetime], *, by_user: bool = False) -> tuple[str, list[Any]]:
        stamps = [self.dialect.encode_ts(utc(start)) for start in starts]
        sums = ("user_name, " if by_user else "") + ", ".join(
            f"COALESCE(SUM(CASE WHEN created_at >= ${i + 1} THEN COALESCE(cost_e10, estimate_e10) ELSE 0 END), 0) AS s{i}" for i in range(len(stamps))
        )
        earliest = min(range(len(stamps)), key=lambda i: utc(starts[i]))
        return f"SELECT {sums} FROM ledger WHERE {_COUNTS_AGAINST_BUDGET} AND created_at >= ${earliest + 1}", stamps

    async def cost_by_user_and_day(self, *, start: datetime, end: datetime) -> dict[str, dict[str, Decimal]]:
        """The known cost of the calls created in [start, end), per user and UTC day ("YYYY-MM-DD"), in one
        statement: what `usage_rollup` sums per day, for every user at once."""
        sql = (
            f"SELECT user_name, {self.dialect.utc_day('created_at')} AS day, COALESCE(SUM(cost_e10), 0) AS cost_e10"
            " FROM ledger WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2"
        )
        async with self.connection() as conn:
            rows = await conn.fetch(sql, self.dialect.encode_ts(utc(start)), self.dialect.encode_ts(utc(end)))
        out: dict[str, dict[str, Decimal]] = {}
        for row in rows:
            out.setdefault(row["user_name"], {})[row["day"]] = from_units(row["cost_e10"])
        return out

    async def _spent(self, conn: Connection, start: datetime, end: datetime, user: str | None = None) -> int:
        sql, args = _for_user(_SPENT_SQL + " AND created_at >= $1 AND created_at < $2", [self.dialect.encode_ts(start), self.dialect.encode_ts(end)], user)
        rows = await conn.fetch(sql, *args)
        return int(rows[0]["spent"])

    async def _insert_pending_rows(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> set[str]:
        """Insert pending calls (as `_pending_args` gives them) in as few statements as fit; the call_ids written."""
        written: set[str] = set()
        for first in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[first : first + _INSERT_CHUNK]
            fetched = await conn.fetch(_insert_pending_rows_sql(len(chunk)), *(arg for row in chunk for arg in row))
            written.update(row["call_id"] for row in fetched)
        return written

    async def _insert_pending(self, conn: Connection, call: LedgerReservation, estimate: int) -> bool:
        return await conn.execute(_INSERT_PENDING_SQL, *self._pending_args(call, estimate)) == 1

    def _pending_args(self, call: LedgerReservation, estimate: int) -> tuple[Any, ...]:
        return (call.call_id, call.tool, call.model_requested, call.caller, estimate, self.dialect.encode_ts(utc(call.created_at)), call.owner, call.user_name)

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
            user_name=row["user_name"],
        )


def _for_user(sql: str, args: list[Any], user: str | None) -> tuple[str, list[Any]]:
    """`sql` (ending in its WHERE clause) narrowed to one user's rows when `user` is given."""
    if user is None:
        return sql, args
    return f"{sql} AND user_name = ${len(args) + 1}", [*args, user]
