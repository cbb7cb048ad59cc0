"""The values that cross the storage interface: ledger reservations, outcomes and rows, usage buckets, jobs,
and the budget refusal. Money is always `Decimal`; datetimes are always timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

# `unknown`: the process making the call died before it learned whether anything was generated.
SettledStatus = Literal["ok", "error", "cancelled", "not_sent", "unknown"]
LedgerStatus = Literal["pending", "ok", "error", "cancelled", "not_sent", "unknown"]
FinishedJobStatus = Literal["succeeded", "failed", "cancelled"]
JobStatus = Literal["running", "succeeded", "failed", "cancelled"]
BudgetWindow = Literal["daily", "monthly"]
BudgetScope = Literal["server", "user"]

SETTLED_STATUSES: Final = frozenset({"ok", "error", "cancelled", "not_sent", "unknown"})
FINISHED_JOB_STATUSES: Final = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class LedgerReservation:
    """An upstream call about to be made, with what it may cost at most."""

    call_id: str
    tool: str
    model_requested: str
    estimate_usd: Decimal
    caller: str | None
    created_at: datetime
    owner: str | None = None  # the process making the call, so another can settle the row if it dies
    user_name: str = "local"  # the user the call is made for (whose budget it counts against)


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    """What an upstream call turned out to be. `cost_usd=None` means the cost is not known yet."""

    status: SettledStatus
    model_used: str | None = None
    provider: str | None = None
    generation_id: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: Decimal | None = None
    latency_ms: float | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    call_id: str
    tool: str
    model_requested: str
    caller: str | None
    estimate_usd: Decimal
    created_at: datetime
    status: LedgerStatus
    settled_at: datetime | None
    model_used: str | None
    provider: str | None
    generation_id: str | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    cost_usd: Decimal | None
    cost_source: str | None
    latency_ms: float | None
    error_code: str | None
    user_name: str = "local"


@dataclass(frozen=True, slots=True)
class UserCaps:
    """One user's own daily and monthly budgets, enforced together with the server's."""

    user_name: str
    daily_cap_usd: Decimal | None = None
    monthly_cap_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BudgetedCall:
    """One reservation to check against the budgets of the UTC day and month of `now` and write ahead."""

    call: LedgerReservation
    daily_cap_usd: Decimal | None
    monthly_cap_usd: Decimal | None
    now: datetime
    user: UserCaps | None = None


@dataclass(frozen=True, slots=True)
class TotalsMismatch:
    """A running total of a budget window that disagreed with the sum of its ledger rows."""

    scope: BudgetScope
    user_name: str | None
    period: str  # "YYYY-MM-DD" (a UTC day) or "YYYY-MM" (a UTC month)
    stored_usd: Decimal
    rows_usd: Decimal


@dataclass(frozen=True, slots=True)
class UsageBucket:
    """Ledger rows of one UTC day, tool, model and provider, summed. `cost_usd` sums known costs only."""

    day: str
    tool: str
    model_used: str | None
    provider: str | None
    calls: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True, slots=True)
class JobRow:
    job_id: str
    tool: str
    arguments: dict[str, Any]
    status: JobStatus
    progress: float | None
    total: float | None
    message: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    cancel_requested: bool
    owner: str
    created_at: datetime
    updated_at: datetime
    heartbeat_at: datetime
    user_name: str = "local"


class BudgetRefused(Exception):
    """A reservation would take the spend of a budget window past its cap; nothing was recorded."""

    def __init__(
        self, *, window: BudgetWindow, cap_usd: Decimal, spent_usd: Decimal, estimate_usd: Decimal, scope: BudgetScope = "server", user_name: str | None = None
    ) -> None:
        whose = f"{user_name}'s" if scope == "user" else "the server's"
        super().__init__(f"{whose} {window} budget of ${cap_usd} would be exceeded: ${spent_usd} spent or reserved, this call may cost up to ${estimate_usd}")
        self.window: BudgetWindow = window
        self.scope: BudgetScope = scope
        self.user_name = user_name
        self.cap_usd = cap_usd
        self.spent_usd = spent_usd
        self.estimate_usd = estimate_usd
