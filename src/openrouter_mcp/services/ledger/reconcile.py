"""Settling what the ledger does not know yet, on every replica: the rows a dead process left pending,
and the costs that replies did not carry (read from OpenRouter's record of the generation, or of the
video job). Every row ends settled with its cost, as `unknown`, or marked `unreconciled` after a bound:
none stays pending for ever."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ...core.identity import CURRENT_USER, LOCAL_USER, LOCAL_USER_NAME, User
from ...errors import ErrorCode, ToolFailure
from ...upstream.account import generation_cost

if TYPE_CHECKING:
    from ...core.context import Core
    from ...storage import LedgerRow, Storage

log = logging.getLogger("openrouter_mcp.ledger")

# A row whose cost could not be read waits twice as long before each new try, up to this many intervals.
RECONCILE_BACKOFF_MAX = 12
PASS_LIMIT = 100
VIDEO_TOOL = "generate_video"


class Reconciler:
    """One loop per process: heartbeat (so other processes know its pending rows are alive), settle the
    pending rows of processes that stopped heartbeating, then read the costs that are due."""

    def __init__(self, core: Core, owner: str) -> None:
        self._core = core
        self.owner = owner
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def ensure_running(self, *, soon: bool = False) -> None:
        """Start the loop if it is not running; with `soon`, run a pass after one short interval instead
        of waiting for the periodic one (a row just started waiting for its cost)."""
        if soon:
            self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        settings = self._core.settings
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a busy database or a dropped connection: the next pass tries again
                log.exception("could not settle the ledger; trying again")
            # The periodic pass also keeps this process's heartbeat fresh, so it runs at least twice per
            # stale window whatever the reconcile interval.
            period = min(settings.reconcile_interval_s, settings.job_stale_after_s / 3)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=period)
                await asyncio.sleep(min(period, settings.reconcile_interval_s))
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> tuple[int, int]:
        """One pass: heartbeat, settle orphans, give up on rows past the bound, read what is due.
        Returns (costs filled in, rows still waiting among those tried)."""
        settings = self._core.settings
        storage = await self._core.storage()
        now = datetime.now(UTC)
        await storage.heartbeat_process(self.owner, now)
        orphans = await storage.settle_orphans(stale_before=now - timedelta(seconds=settings.job_stale_after_s), now=now)
        if orphans:
            log.warning("settled %d ledger rows left pending by a server process that stopped", orphans)
        given_up = await storage.give_up_reconciling(settled_before=now - timedelta(seconds=settings.reconcile_give_up_s))
        if given_up:
            log.warning("gave up reading the cost of %d calls after %.0f s; they count at their estimate", given_up, settings.reconcile_give_up_s)
        rows = await storage.unreconciled(now=now, limit=PASS_LIMIT)
        filled = 0
        makers: dict[str, User] = {}  # one lookup a user a pass, however many of their rows wait
        for row in rows:
            if row.user_name not in makers:
                makers[row.user_name] = await self._maker(storage, row.user_name)
            # Asked with the key that made the generation: a user's own OpenRouter key, when they have one.
            token = CURRENT_USER.set(makers[row.user_name])
            try:
                filled += await self._settle_cost(storage, row)
            finally:
                CURRENT_USER.reset(token)
        return filled, len(rows) - filled

    async def _maker(self, storage: Storage, name: str) -> User:
        """The user a row was made for, as far as the key the gateway sends goes: the stored user with their
        own OpenRouter key, else the local user (the server's key)."""
        if name == LOCAL_USER_NAME:
            return LOCAL_USER
        row = await storage.get_user(name)
        if row is None or row.openrouter_key_encrypted is None:
            return LOCAL_USER
        from ..team import user_from_row

        try:
            return user_from_row(row, self._core.settings.team)
        except Exception as exc:  # a key that cannot be read: ask with the server's key
            log.info("cost of %s's calls read with the server's key (%s)", name, exc)
            return LOCAL_USER

    async def _settle_cost(self, storage: Storage, row: LedgerRow) -> bool:
        gateway = self._core.gateway
        try:
            if row.tool == VIDEO_TOOL:
                return await self._settle_video(storage, row)
            cost = await generation_cost(gateway, row.generation_id or "")
        except ToolFailure as failure:
            log.info("cost of %s not readable yet (%s)", row.generation_id, failure.code.value)
            await self._later(storage, row)
            return False
        await storage.set_cost(row.call_id, cost or Decimal(0), source="generation")
        return True

    async def _settle_video(self, storage: Storage, row: LedgerRow) -> bool:
        """A video's cost is on its job's own record, known once the job has finished (whether or not
        anyone polls it): completed at its cost, failed as an error row at what it was billed."""
        from ...upstream import media as upstream_media

        status = await upstream_media.get_video(self._core.gateway, row.generation_id or "")
        if status.status in upstream_media.VIDEO_DONE and status.cost_usd is not None:
            await storage.set_cost(row.call_id, status.cost_usd, source="video")
            return True
        if status.status in upstream_media.VIDEO_FAILED:
            await storage.settle_failed_job(row.call_id, cost_usd=status.cost_usd or Decimal(0), error_code=ErrorCode.JOB_FAILED.value)
            return True
        await self._later(storage, row)
        return False

    async def _later(self, storage: Storage, row: LedgerRow) -> None:
        base = self._core.settings.reconcile_interval_s

        def next_try(attempts: int) -> datetime:
            return datetime.now(UTC) + timedelta(seconds=base * min(2 ** (attempts - 1), RECONCILE_BACKOFF_MAX))

        await storage.reconcile_later(row.call_id, next_try)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
