"""Usage statistics from the local ledger: totals and breakdowns by day, model, tool and provider for a
date range, in the shape users of the earlier servers rely on (`data[]` per day with its models, and a
`summary`). Every figure is a sum over ledger rows, in exact decimals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import invalid

if TYPE_CHECKING:
    from ..core.identity import User
    from ..storage import LedgerRow, Storage, UsageBucket

MAX_RANGE_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def start_dt(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def end_dt(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)


def _parse_day(field: str, value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(field, f"{value!r} is not a date", "Use YYYY-MM-DD, e.g. 2026-11-01") from None


def date_range(start_date: str | None, end_date: str | None, *, today: date | None = None) -> DateRange:
    """The inclusive UTC date range asked for; default the last 30 days up to today."""
    today = today or datetime.now(UTC).date()
    end = _parse_day("end_date", end_date) if end_date else today
    start = _parse_day("start_date", start_date) if start_date else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise invalid("start_date", f"{start} is after end_date {end}", "Give a start_date on or before end_date")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise invalid("start_date", f"the range is {(end - start).days + 1} days", f"Ask for at most {MAX_RANGE_DAYS} days at a time")
    return DateRange(start, end)


def daily_budget_line(server_daily_usd: Decimal | None, owner: User | None) -> Decimal | None:
    """The daily budget drawn over a spend chart: the server's over everyone's spend (`owner` None) and over
    the local user's (outside the team), a team user's own over theirs."""
    if owner is None or not owner.team:
        return server_daily_usd
    return owner.daily_budget_usd


def _money(value: Decimal) -> float:
    return float(value)


def _tokens(b: UsageBucket) -> int:
    return b.prompt_tokens + b.completion_tokens


def _group(buckets: list[UsageBucket], key: str) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for b in buckets:
        name = getattr(b, key) or "(no answer)"
        g = groups.setdefault(
            name,
            {
                key.removesuffix("_used"): name,
                "requests": 0,
                "errors": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "reasoning_tokens": 0,
                "cached_tokens": 0,
                "cost": Decimal(0),
            },
        )
        g["requests"] += b.calls
        g["errors"] += b.errors
        g["prompt_tokens"] += b.prompt_tokens
        g["completion_tokens"] += b.completion_tokens
        g["reasoning_tokens"] += b.reasoning_tokens
        g["cached_tokens"] += b.cached_tokens
        g["cost"] += b.cost_usd
    rows = sorted(groups.values(), key=lambda g: (-g["cost"], -g["requests"]))
    for g in rows:
        g["tokens"] = g["prompt_tokens"] + g["completion_tokens"]
        g["cost"] = _money(g["cost"])
    return rows


async def usage_stats(storage: Storage, span: DateRange, *, top: int = 10, user: str | None = None) -> dict[str, Any]:
    """Spend and tokens over `span`: of one user's calls, or (user None) of everyone's."""
    buckets = await storage.usage_rollup(start=span.start_dt, end=span.end_dt, user=user)
    by_day: dict[str, list[UsageBucket]] = defaultdict(list)
    for b in buckets:
        by_day[b.day].append(b)
    data = []
    for day in sorted(by_day):
        rows = by_day[day]
        data.append(
            {
                "date": day,
                "total_cost": _money(sum((b.cost_usd for b in rows), Decimal(0))),
                "total_tokens": sum(_tokens(b) for b in rows),
                "requests": sum(b.calls for b in rows),
                "errors": sum(b.errors for b in rows),
                "models": [{"model": g["model"], "requests": g["requests"], "cost": g["cost"], "tokens": g["tokens"]} for g in _group(rows, "model_used")],
            }
        )
    total_cost = sum((b.cost_usd for b in buckets), Decimal(0))
    top_rows: list[LedgerRow] = await storage.top_costs(start=span.start_dt, end=span.end_dt, limit=top, user=user)
    unknown, at_most = await storage.unknown_cost(start=span.start_dt, end=span.end_dt, user=user)
    return {
        "start_date": span.start.isoformat(),
        "end_date": span.end.isoformat(),
        "data": data,
        "summary": {
            "total_cost": _money(total_cost),
            "total_tokens": sum(_tokens(b) for b in buckets),
            "total_requests": sum(b.calls for b in buckets),
            "total_errors": sum(b.errors for b in buckets),
            # Calls whose cost is not known (running, waiting for OpenRouter's record, or lost with a
            # killed process): how many, and the most they can have cost (their estimates).
            "calls_with_cost_pending": unknown,
            "unknown_cost_at_most": _money(at_most),
            "date_range": {"start": span.start.isoformat(), "end": span.end.isoformat()},
        },
        "by_model": _group(buckets, "model_used"),
        "by_tool": _group(buckets, "tool"),
        "by_provider": _group(buckets, "provider"),
        "top_costs": [
            {
                "time": r.created_at.isoformat(),
                "tool": r.tool,
                "model": r.model_used or r.model_requested,
                "cost": _money(r.cost_usd or Decimal(0)),
                "tokens": r.prompt_tokens + r.completion_tokens,
                "generation_id": r.generation_id,
                **({"user": r.user_name} if user is None else {}),
            }
            for r in top_rows
        ],
    }
