"""Budget windows: the UTC day and month a call counts in, for the server and for its user, as the keys of
their running totals (`budget_totals`), and the refusal of a reservation that would pass a window's cap."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from .models import BudgetedCall, BudgetRefused, BudgetScope, BudgetWindow, LedgerReservation
from .sql import _next_month, from_units, to_units, utc

# A budget window's running total: (scope, user_name or "" for the server, "YYYY-MM" or "YYYY-MM-DD").
TotalsKey = tuple[BudgetScope, str, str]


class Window(NamedTuple):
    """One capped budget window of a reservation."""

    scope: BudgetScope
    window: BudgetWindow
    cap_usd: Decimal
    cap: int  # cap_usd in units
    key: TotalsKey


def period_of(moment: datetime, window: BudgetWindow) -> str:
    # Spelt out: strftime costs ten times as much, and every reservation asks for four of these.
    if window == "monthly":
        return f"{moment.year:04d}-{moment.month:02d}"
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def bounds_of(period: str) -> tuple[datetime, datetime]:
    """The UTC [start, end) of a totals period, as `reserve` has always drawn it."""
    if len(period) == 7:
        start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
        return start, _next_month(start)
    start = datetime.strptime(period, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def windows_of(call: BudgetedCall) -> list[Window]:
    """The capped windows of a reservation, in the order they are checked: the user's own budgets go first
    (the narrower answer), then the server's; within each, the monthly window goes first because its
    refusal is the one that waiting until tomorrow won't lift."""
    now = utc(call.now)
    scopes: list[tuple[BudgetScope, str, Decimal | None, Decimal | None]] = []
    if call.user is not None:
        scopes.append(("user", call.user.user_name, call.user.monthly_cap_usd, call.user.daily_cap_usd))
    scopes.append(("server", "", call.monthly_cap_usd, call.daily_cap_usd))
    windows: list[Window] = []
    for scope, user_name, monthly, daily in scopes:
        if monthly is not None:
            windows.append(Window(scope, "monthly", monthly, to_units(monthly), (scope, user_name, period_of(now, "monthly"))))
        if daily is not None:
            windows.append(Window(scope, "daily", daily, to_units(daily), (scope, user_name, period_of(now, "daily"))))
    return windows


def refusal_of(windows: Sequence[Window], totals: dict[TotalsKey, int], units: int, estimate_usd: Decimal) -> BudgetRefused | None:
    """The refusal of the first window that spending `units` more would take over its cap, or None."""
    for w in windows:
        if totals[w.key] + units > w.cap:
            user_name = w.key[1] if w.scope == "user" else None
            return BudgetRefused(
                window=w.window, cap_usd=w.cap_usd, spent_usd=from_units(totals[w.key]), estimate_usd=estimate_usd, scope=w.scope, user_name=user_name
            )
    return None


def counted_in(call: LedgerReservation) -> list[TotalsKey]:
    """The totals a new pending row counts in: those of its own creation time, as the triggers file it."""
    at = utc(call.created_at)
    scopes: tuple[tuple[BudgetScope, str], ...] = (("server", ""), ("user", call.user_name))
    windows: tuple[BudgetWindow, ...] = ("monthly", "daily")
    return [(scope, user_name, period_of(at, window)) for scope, user_name in scopes for window in windows]
