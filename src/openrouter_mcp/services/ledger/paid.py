"""The spend ledger and budget guard: every upstream call that can cost money is written exactly once,
whatever fails around it, and no call starts that could push spend past a cap. The row is written
ahead, as `pending`, before the request leaves (for a chat request, before its body leaves: see
`paid_call`); the generation id goes into it the moment it is known; the outcome settles it behind the
reply. A process killed in between leaves a row that any replica's `Reconciler` settles.

Use `paid_call` around the one upstream request of a paid call:

    async with app.ledger.paid_call(tool="chat_completion", model=model, estimate_usd=est, max_cost_usd=cap) as call:
        result = await app.gateway.chat(body, on_start=call.started)
        call.succeeded(model_used=..., cost_usd=result.cost_usd, ...)
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from ...core.identity import current_user
from ...errors import ErrorCode, ToolFailure
from ...storage import BudgetedCall, BudgetRefused, LedgerOutcome, LedgerReservation
from ...storage.models import SettledStatus, UserCaps
from ..confirm import confirm_spend
from .caller import CALLER
from .group import GroupCommit
from .reconcile import Reconciler

if TYPE_CHECKING:
    from ...core.context import Core

log = logging.getLogger("openrouter_mcp.ledger")

WRITE_GATHER_S = 0.1
# How long generation ids gather before they are written: a few milliseconds, the time a reply takes to leave.
ID_GATHER_S = 0.005

# Call ids: 128 random bits, like a uuid4, but drawn without a system call per paid call. A call id names a
# ledger row and grants nothing, so it needs to be unique, not unguessable; the generator is seeded from
# the system's randomness once per process.
_call_ids = random.Random(secrets.randbits(128))


def new_call_id() -> str:
    return f"{_call_ids.getrandbits(128):032x}"


def usd(value: Decimal) -> str:
    return f"${value:.6f}".rstrip("0").rstrip(".") if value else "$0"


@dataclass(slots=True)
class PaidCall:
    """What one paid call learned about itself; the ledger writes it when the call ends."""

    call_id: str
    generation_id: str | None = None
    outcome: LedgerOutcome | None = None
    on_generation: Callable[[str, str], None] | None = None
    # The write of the call's pending row (its reservation, under a budget): how to start it, and the write
    # once started, by `ready()`. Unset for a PaidCall made outside `Ledger.paid_call`.
    start_write: Callable[[], asyncio.Future[None]] | None = None
    writing: asyncio.Future[None] | None = None
    # The request may have reached OpenRouter whole (`body_sent`): a call that ends without a generation id
    # from then on may still have been billed.
    sent: bool = False

    async def ready(self) -> None:
        """Wait until the call's pending row is written, starting the write if nobody has: what a sender
        awaits before the request's body leaves. A refusal of the budgets comes out as BUDGET_EXCEEDED. A
        cancelled waiter does not cancel the write (the ledger settles the row once it lands)."""
        if self.writing is None:
            if self.start_write is None:
                return
            self.writing = self.start_write()
        try:
            await (self.writing if self.writing.done() else asyncio.shield(self.writing))
        except BudgetRefused as refused:
            raise refusal(refused) from None

    def body_sent(self) -> None:
        """The request's body is leaving: OpenRouter may run the request, and bill it, from now on, even if
        its caller goes away (a plain request goes on to the end)."""
        self.sent = True

    def started(self, generation_id: str) -> None:
        """OpenRouter accepted the request and named the generation: from now on it may bill. The id goes
        to the ledger row at once, so a process killed mid-call leaves a row another can settle."""
        first = self.generation_id is None
        self.generation_id = generation_id
        if first and self.on_generation is not None:
            self.on_generation(self.call_id, generation_id)

    def succeeded(
        self,
        *,
        model_used: str | None,
        provider: str | None,
        generation_id: str | None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        reasoning_tokens: int = 0,
        cached_tokens: int = 0,
        cost_usd: Decimal | None,
        latency_ms: float | None = None,
    ) -> None:
        self.outcome = LedgerOutcome(
            status="ok",
            model_used=model_used,
            provider=provider,
            generation_id=generation_id or self.generation_id,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            reasoning_tokens=reasoning_tokens,
            cached_tokens=cached_tokens,
            cost_usd=cost_usd,
            latency_ms=latency_ms,
        )


CALL_ADVICE = "lower max_tokens, or pick a cheaper model"


def budget_failure(
    window: str,
    cap_usd: Decimal,
    spent_usd: Decimal,
    estimate_usd: Decimal,
    *,
    subject: str = "This call",
    advice: str = CALL_ADVICE,
    scope: str = "server",
    user_name: str | None = None,
) -> ToolFailure:
    """BUDGET_EXCEEDED for a per-call cap (`window` "call") or a daily or monthly budget (the server's, or
    `scope` "user": that user's own): the estimate, the cap, what is left, and who can raise it."""
    left = max(Decimal(0), cap_usd - spent_usd)
    if window == "call":
        what = f"{subject} could cost up to {usd(estimate_usd)}, more than max_cost_usd={usd(cap_usd)}."
        how = f"Raise max_cost_usd, {advice}."
    else:
        whose = f"your ({user_name}) {window} budget" if scope == "user" else f"the server's {window} budget"
        what = (
            f"{subject} could cost up to {usd(estimate_usd)}, but only {usd(left)} is left of {whose} of {usd(cap_usd)} ({usd(spent_usd)} spent or reserved)."
        )
        if scope == "user":
            who = f"An admin of this server can raise it (`openrouter-mcp users set {user_name} --{window}-budget-usd N`)"
        else:
            var = "OPENROUTER_MCP_DAILY_BUDGET_USD" if window == "daily" else "OPENROUTER_MCP_MONTHLY_BUDGET_USD"
            who = f"The server's operator can raise {var}"
        how = f"{who}; or {advice}, or wait for the {window} window to reset."
    return ToolFailure(
        ErrorCode.BUDGET_EXCEEDED,
        f"{what} {how}",
        details={
            "window": window,
            "budget": "call" if window == "call" else scope,
            "user": user_name if scope == "user" else None,
            "estimate_usd": float(estimate_usd),
            "cap_usd": float(cap_usd),
            "spent_usd": float(spent_usd),
            "remaining_usd": float(left),
        },
    )


def refusal(refused: BudgetRefused, *, subject: str = "This call", advice: str = CALL_ADVICE) -> ToolFailure:
    return budget_failure(
        refused.window,
        refused.cap_usd,
        refused.spent_usd,
        refused.estimate_usd,
        subject=subject,
        advice=advice,
        scope=refused.scope,
        user_name=refused.user_name,
    )


def user_caps() -> UserCaps | None:
    """The current user's own budgets, when they have any."""
    user = current_user()
    if not user.has_budget:
        return None
    return UserCaps(user.name, daily_cap_usd=user.daily_budget_usd, monthly_cap_usd=user.monthly_budget_usd)


class Ledger:
    def __init__(self, core: Core) -> None:
        self._core = core
        # This process, as its pending rows name it: another process settles them once it stops heartbeating.
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.reconciler = Reconciler(core, self.owner)
        # A call that finds the database free writes its row at once (no task switch on its way out).
        self._ahead: GroupCommit[LedgerReservation] = GroupCommit(self._write_ahead, now=self._write_ahead_now)
        # Budgeted calls that start together are checked and written ahead in one transaction, against the
        # running totals of their windows: each still sees the ones before it, so none passes a cap.
        self._reserving: GroupCommit[BudgetedCall] = GroupCommit(self._reserve_batch, now=self._reserve_now)
        # Generation ids gather for a moment, so that the reply that named them leaves first.
        self._ids: GroupCommit[tuple[str, str]] = GroupCommit(self._write_ids, gather_s=ID_GATHER_S)
        # Settlements gather for a tenth of a second: a burst of calls settles in one write instead of one each.
        self._settling: GroupCommit[tuple[str, LedgerOutcome]] = GroupCommit(self._settle_batch, gather_s=WRITE_GATHER_S)
        # The row writes of ended calls that have not landed yet (each one's settlement waits for it).
        self._unwritten: set[asyncio.Future[None]] = set()

    async def flush(self) -> None:
        """Wait until every ledger row this process has queued is written: readers of the ledger call this
        first (a batch still gathering is written at once)."""
        while self._unwritten or self._ids.busy or self._settling.busy:
            if self._unwritten:  # ended calls whose rows are still being written: their settlements follow
                await asyncio.wait(set(self._unwritten))
            await self._ids.idle()  # may hand a settlement back to the settling batch, if its write fails
            await self._settling.idle()

    def _settle_once_written(self, writing: asyncio.Future[None], item: tuple[str, LedgerOutcome]) -> None:
        """Settle a call once its pending row is written: now if it is, else when the write lands (else it
        would stay pending while this process lives, counting against the budgets at its estimate). A write
        that failed (a budget's refusal, a database error) left no row, and nothing was sent: nothing to settle."""
        if writing.done():
            self._settle_written(writing, item)
        else:
            self._unwritten.add(writing)
            writing.add_done_callback(lambda done: self._settle_written(done, item))

    def _settle_written(self, written: asyncio.Future[None], item: tuple[str, LedgerOutcome]) -> None:
        self._unwritten.discard(written)
        if not written.cancelled() and written.exception() is None:
            self._enqueue(item)

    def _enqueue(self, item: tuple[str, LedgerOutcome]) -> None:
        self._settling.submit(item)

    async def _settle_batch(self, batch: list[tuple[str, LedgerOutcome]]) -> None:
        """Settle a batch of calls in one transaction; if that fails, one by one (a bad row does not hold up
        the others). Never raises: what cannot be written is logged, and its row stays pending for the
        reconciler."""
        try:
            storage = await self._core.storage()
            await storage.settle_batch(batch)
        except Exception:
            log.exception("could not write %d ledger rows; trying them one by one", len(batch))
            for item in batch:
                await self._settle(item[0], item[1])

    def check_call_cap(self, estimate_usd: Decimal, max_cost_usd: float | None, *, subject: str = "This call", advice: str = CALL_ADVICE) -> None:
        """Refuse before anything is sent when the worst case is over the caller's per-call cap."""
        if max_cost_usd is not None and estimate_usd > (cap := Decimal(repr(max_cost_usd))):
            raise budget_failure("call", cap, Decimal(0), estimate_usd, subject=subject, advice=advice)

    async def check_run(self, total_usd: Decimal, max_cost_usd: float | None, *, subject: str, advice: str = CALL_ADVICE, model: str | None = None) -> None:
        """Refuse a whole run of calls (a fan-out, a benchmark) before the first is sent when its worst case
        passes max_cost_usd or what is left of the daily or monthly budget; then, above the confirmation
        threshold, ask the person once for the whole run. Each call still reserves its own share as it
        starts, which is what keeps concurrent runs inside the budgets."""
        self.check_call_cap(total_usd, max_cost_usd, subject=subject, advice=advice)
        settings = self._core.settings
        caps = user_caps()
        if settings.daily_budget_usd is not None or settings.monthly_budget_usd is not None or caps is not None:
            await self.flush()
            storage = await self._core.storage()
            try:
                await storage.check_budget(
                    total_usd, daily_cap_usd=settings.daily_budget_usd, monthly_cap_usd=settings.monthly_budget_usd, now=datetime.now(UTC), user=caps
                )
            except BudgetRefused as refused:
                raise refusal(refused, subject=subject, advice=advice) from None
        await confirm_spend(settings.confirm_above_usd, total_usd, model=model, subject=subject)

    @asynccontextmanager
    async def paid_call(
        self, *, tool: str, model: str, estimate_usd: Decimal, max_cost_usd: float | None = None, ahead_of_body: bool = False
    ) -> AsyncIterator[PaidCall]:
        """Ask the person when the worst case is above the confirmation threshold (services/confirm.py),
        reserve it against the caps (atomically across processes), run the block, and settle the ledger
        row exactly once however the block ends: success, failure or cancellation.

        The row is written before the block runs; with `ahead_of_body`, by the block's sender instead, which
        awaits `call.ready()` after the request's headers have left and before its body does (the gateway's
        `before_body`). OpenRouter cannot act on a request whose body has not arrived, so the row still comes
        before anything that can bill, and the commit overlaps the upstream reading the headers instead of
        delaying them (decision 19, item 17). A call whose block ends before its body left (nothing was
        sent) is written then, and settled behind it, so the ledger holds it as it would otherwise."""
        self.check_call_cap(estimate_usd, max_cost_usd)
        settings = self._core.settings
        # Asked before the row is written: a declined call leaves no trace in the ledger.
        await confirm_spend(settings.confirm_above_usd, estimate_usd, model=model)
        call = PaidCall(call_id=new_call_id())
        user = current_user()
        caps = user_caps()
        reservation = LedgerReservation(
            call_id=call.call_id,
            tool=tool,
            model_requested=model,
            estimate_usd=estimate_usd,
            caller=CALLER.get(),
            created_at=datetime.now(UTC),
            owner=self.owner,
            user_name=user.name,
        )
        # Written ahead, durably, before anything that can bill is sent: a process killed from then on leaves
        # a pending row (with the generation id as soon as it is known) that any replica settles.
        if settings.daily_budget_usd is not None or settings.monthly_budget_usd is not None or caps is not None:
            budgeted = BudgetedCall(reservation, settings.daily_budget_usd, settings.monthly_budget_usd, reservation.created_at, caps)
            call.start_write = lambda: self._reserving.submit(budgeted)
        else:
            call.start_write = lambda: self._ahead.submit(reservation)
        call.on_generation = self._write_generation_id
        started: float | None = None  # when the block began (the call's latency)
        try:
            if not ahead_of_body:
                # Before the block: a budget's refusal (BUDGET_EXCEEDED) or a failed write leaves no row and
                # nothing to settle; a call cancelled meanwhile still has its row written, and settled as
                # not sent once it is (below).
                await call.ready()
            started = asyncio.get_running_loop().time()
            yield call
        except ToolFailure as failure:
            gen = failure.generation_id or call.generation_id
            # A failure after OpenRouter named the generation may still be billed: leave the cost for the
            # reconciler to read from /generation. Before that, nothing was generated, unless OpenRouter
            # accepted the request and its answer was unreadable: then the cost is unknown for good.
            if gen is None and failure.maybe_billed:
                call.outcome = LedgerOutcome(status="unknown", cost_usd=None, error_code=failure.code.value)
            else:
                call.outcome = LedgerOutcome(status="error", generation_id=gen, cost_usd=None if gen else Decimal(0), error_code=failure.code.value)
            raise
        except BaseException:
            gen = call.generation_id
            if call.outcome is None:
                # Cancelled: with a generation id, the reconciler reads what it cost. Without one, a request
                # that had left whole may still run and bill (OpenRouter's streaming reference, "Stream
                # Cancellation": a non-streaming request, or a stream to a provider that cannot cancel, goes on
                # and is billed in full): its cost is unknown, counted at its estimate. One that never left cost nothing.
                status: SettledStatus = "cancelled" if gen else ("unknown" if call.sent else "not_sent")
                cost = None if gen or call.sent else Decimal(0)
                call.outcome = LedgerOutcome(status=status, generation_id=gen, cost_usd=cost, error_code="CANCELLED")
            raise
        finally:
            outcome = call.outcome or LedgerOutcome(
                status="error", generation_id=call.generation_id, cost_usd=None if call.generation_id else Decimal(0), error_code="INTERNAL"
            )
            if outcome.latency_ms is None and started is not None:
                outcome = _with_latency(outcome, (asyncio.get_running_loop().time() - started) * 1000)
            # A block that ended before its request's body left sent nothing that can bill: its row is
            # written now, plainly (a cap has nothing to guard), so that the call is in the ledger.
            writing = call.writing if call.writing is not None else self._ahead.submit(reservation)
            # Settled behind the reply, in a batch (`_settling`): the caller does not wait for the
            # database, and a cancelled tool call still settles its row. Until then the pending row
            # counts at its estimate, so budgets stay safe; readers flush() first.
            self._settle_once_written(writing, (reservation.call_id, outcome))
            if outcome.cost_usd is None and outcome.generation_id:
                self.reconciler.ensure_running(soon=True)

    async def _settle(self, call_id: str, outcome: LedgerOutcome) -> None:
        try:
            await (await self._core.storage()).settle(call_id, outcome)
        except Exception:
            log.exception("could not write ledger row %s", call_id)

    # ---------- settling what is not known yet ----------
    def ensure_reconciler(self) -> None:
        """Run the settling loop (heartbeat, orphaned rows, costs to read) in this process."""
        self.reconciler.ensure_running()

    async def reconcile_once(self) -> tuple[int, int]:
        """One settling pass now: (costs filled in, rows still waiting among those tried)."""
        await self.flush()
        return await self.reconciler.run_once()

    def _write_generation_id(self, call_id: str, generation_id: str) -> None:
        # Not awaited: the stream goes on while the id is committed (in a batch with the other calls'
        # ids). The settled row carries the id too; this write guards the time until then.
        self._ids.submit((call_id, generation_id))

    async def _reserve_batch(self, calls: list[BudgetedCall]) -> list[Exception | None]:
        return await (await self._core.storage()).reserve_many(calls)

    def _reserve_now(self, calls: list[BudgetedCall]) -> tuple[bool, list[Exception | None] | None]:
        storage = self._core.opened_storage
        results = None if storage is None else storage.reserve_now(calls)
        return results is not None, results

    def _write_ahead_now(self, calls: list[LedgerReservation]) -> tuple[bool, None]:
        (call,) = calls  # GroupCommit tries `now` for a lone item
        storage = self._core.opened_storage
        return storage is not None and storage.insert_pending_now(call), None

    async def _write_ahead(self, calls: list[LedgerReservation]) -> None:
        await (await self._core.storage()).insert_pending_many(calls)

    async def _write_ids(self, ids: list[tuple[str, str]]) -> None:
        # A call that has ended by now (every plain request: its id comes with its answer) settles here, in
        # the same transaction, rather than in the next settling batch: one write of its row instead of two.
        named = {call_id for call_id, _ in ids}
        ended = self._settling.take(lambda item: item[0] in named)
        settled = {call_id for call_id, _ in ended}
        try:
            storage = await self._core.storage()
            await storage.set_generation_ids([pair for pair in ids if pair[0] not in settled], ended)
        except BaseException as exc:
            for item in ended:  # settled by the settling batch instead, which tries them one by one
                self._enqueue(item)
            if not isinstance(exc, Exception):
                raise
            # Said here, once for the batch: nobody waits for these writes (`_write_generation_id`).
            log.error("could not record %d generation ids ahead of their settlement: %s", len(ids), exc)

    async def aclose(self) -> None:
        await self.flush()
        self.reconciler.stop()


def _with_latency(outcome: LedgerOutcome, latency_ms: float) -> LedgerOutcome:
    from dataclasses import replace

    return replace(outcome, latency_ms=latency_ms)
