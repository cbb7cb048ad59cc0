"""The views shared by the web dashboard and the MCP Apps views, drawn from the tools' own structured
output (`get_usage_stats`, `get_account`), so a figure on a page is the figure the tool returned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Any

from . import charts
from .page import table, usd

MAX_SERIES = 9  # stacked colours before the rest is summed as "other"
OTHER = "(other)"


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """One line of the budgets table: whose spend (a user, or the whole server), today's and this month's."""

    who: str
    today: float
    daily: float | None
    month: float
    monthly: float | None


def _days(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _top(series: dict[str, list[float]]) -> list[tuple[str, list[float]]]:
    ranked = sorted(series.items(), key=lambda kv: -sum(kv[1]))
    if len(ranked) <= MAX_SERIES + 1:
        return ranked
    kept, rest = ranked[:MAX_SERIES], ranked[MAX_SERIES:]
    return [*kept, (OTHER, [sum(values[i] for _, values in rest) for i in range(len(rest[0][1]))])]


def model_series(stats: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """The range's days and each model's cost per day, from get_usage_stats' `data`."""
    days = _days(stats["start_date"], stats["end_date"])
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[float]] = {}
    for row in stats["data"]:
        for m in row["models"]:
            series.setdefault(m["model"], [0.0] * len(days))[index[row["date"]]] += m["cost"]
    return days, _top(series)


def user_series(days: Sequence[str], per_user: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, list[float]]]:
    """Each user's cost per day, from one get_usage_stats result per user."""
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[float]] = {}
    for name, stats in per_user.items():
        values = [0.0] * len(days)
        for row in stats["data"]:
            if row["date"] in index:
                values[index[row["date"]]] = row["total_cost"]
        if any(values):
            series[name] = values
    return _top(series)


def tiles(items: Sequence[tuple[str, str, str]]) -> str:
    """Big figures: (id, value, label)."""
    return (
        '<div class="tiles">'
        + "".join(f'<div class="tile" id="{escape(i)}"><b>{escape(v)}</b><span>{escape(label)}</span></div>' for i, v, label in items)
        + "</div>"
    )


def usage(stats: Mapping[str, Any], *, series: Sequence[tuple[str, Sequence[float]]] | None = None, lines: Sequence[tuple[str, float]] = ()) -> str:
    """Totals, the spend chart (stacked by model unless `series` is given) with budget `lines`, the days
    table and the models table, from one get_usage_stats result."""
    s = stats["summary"]
    days, by_model = model_series(stats)
    stacks = list(series) if series is not None else by_model
    colors = charts.colors_for([name for name, _ in stacks])
    pending = f" + {s['calls_with_cost_pending']} of unknown cost (at most {usd(s['unknown_cost_at_most'])})" if s["calls_with_cost_pending"] else ""
    out = [
        tiles(
            [
                ("total-cost", usd(s["total_cost"]), "spent" + pending),
                ("total-requests", str(s["total_requests"]), "calls"),
                ("total-tokens", str(s["total_tokens"]), "tokens"),
                ("total-errors", str(s["total_errors"]), "errors"),
            ]
        ),
        charts.stacked_days("spend-chart", days, stacks, colors, lines),
        charts.legend(colors),
    ]
    day_rows = [[escape(d["date"]), str(d["requests"]), str(d["errors"]), str(d["total_tokens"]), usd(d["total_cost"])] for d in reversed(stats["data"])]
    out.append(table(("day", "calls", "errors", "tokens", "cost"), day_rows, table_id="days"))
    model_rows = [[escape(g["model"]), str(g["requests"]), str(g["errors"]), str(g["tokens"]), usd(g["cost"])] for g in stats["by_model"]]
    out.append("<h2>By model</h2>" + table(("model", "calls", "errors", "tokens", "cost"), model_rows, table_id="models"))
    return "\n".join(out)


def _left(spent: float, cap: float | None) -> str:
    if cap is None:
        return "-"
    left = cap - spent
    return f'<span class="over">{usd(left)}</span>' if left < 0 else usd(left)


def budgets(rows: Sequence[BudgetRow]) -> str:
    """Used and left of each daily and monthly budget, with a meter each."""
    body = [
        [
            escape(r.who),
            usd(r.today),
            usd(r.daily, 2),
            _left(r.today, r.daily),
            charts.meter(r.today, r.daily),
            usd(r.month),
            usd(r.monthly, 2),
            _left(r.month, r.monthly),
            charts.meter(r.month, r.monthly),
        ]
        for r in rows
    ]
    return table(("who", "today", "daily budget", "left", "", "this month", "monthly budget", "left", ""), body, table_id="budgets")


def account(out: Mapping[str, Any]) -> str:
    """get_account's result: the key's usage and limit, credits, and this server's budgets for the caller."""
    key = out["usage_usd"]
    items = [
        ("usage-daily", usd(key["daily"], 4), "used today"),
        ("usage-weekly", usd(key["weekly"], 4), "this week"),
        ("usage-monthly", usd(key["monthly"], 4), "this month"),
        ("limit", "no limit" if out["limit_usd"] is None else f"{usd(out['limit_remaining_usd'], 4)} of {usd(out['limit_usd'], 2)}", "key limit left"),
    ]
    if out.get("credits"):
        items.append(("credits", f"{usd(out['credits']['remaining'], 2)} of {usd(out['credits']['total'], 2)}", "credits left"))
    b = out["local_budget"]
    row = BudgetRow("spent here", b["spent_today_usd"], b["daily_budget_usd"], b["spent_this_month_usd"], b["monthly_budget_usd"])
    note = f'<p class="note">{escape(out["credits_note"])}</p>' if out.get("credits_note") else ""
    return f"<h1>{escape(out.get('label') or 'Account')}</h1>" + tiles(items) + "<h2>Budgets on this server</h2>" + budgets([row]) + note
