"""The dashboard's pages, each a function from the signed-in user and the query to HTML: spend and
budgets, jobs, benchmark runs (each opening its HTML report) and the ledger's latest calls. Every figure
comes from the same services the tools read (`usage_stats` is get_usage_stats' own sum), and a user who
is not an admin is shown their own rows only, whatever the URL asks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ..core.identity import LOCAL_USER_NAME, User
from ..errors import invalid
from ..render import page, views
from ..services.bench import report as bench_report
from ..services.bench import runner as bench
from ..services.bench.stats import Sample
from ..services.team import user_from_row
from ..services.usage import DateRange, daily_budget_line, date_range, usage_stats

if TYPE_CHECKING:
    from ..app import App
    from ..storage import Storage

PATH = "/dashboard"
PAGES = (("spend", "Spend and budgets"), ("jobs", "Jobs"), ("benchmarks", "Benchmarks"), ("calls", "Calls"))
PAGE_SIZE = 25
MAX_ROWS = 100  # jobs and benchmark runs listed


@dataclass(frozen=True, slots=True)
class Query:
    """What a page was asked for: the date range, whose data (None: everyone's, for an admin) and the rest."""

    span: DateRange
    whose: str | None
    stack: str
    page: int
    params: Mapping[str, str]

    def link(self, path: str, **changes: str) -> str:
        kept = {k: v for k, v in self.params.items() if k in ("start", "end", "user", "stack")}
        kept.update(changes)
        return f"{PATH}{path}" + (f"?{urlencode(kept)}" if kept else "")


def read_query(me: User, params: Mapping[str, str]) -> Query:
    """The query, checked: a user who is not an admin may name only themselves (INVALID_INPUT otherwise,
    as get_usage_stats answers)."""
    span = date_range(params.get("start") or None, params.get("end") or None)
    user = params.get("user") or None
    if user is not None and not me.admin and user != me.name:
        raise invalid("user", "only an admin of this server sees another user's usage", "Leave user out to see your own")
    stack = params.get("stack") or "model"
    if stack not in ("model", "user"):
        raise invalid("stack", f"{stack[:40]!r} is not a way to stack the chart", "Use stack=model or stack=user")
    raw_page = params.get("page") or "0"
    if not raw_page.isdigit() or int(raw_page) > 10_000:
        raise invalid("page", f"{raw_page[:20]!r} is not a page number", "Use page=0, 1, 2 ...")
    return Query(span, user if me.admin else me.name, stack, int(raw_page), params)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def _users(storage: Storage, app: App) -> list[User]:
    return [user_from_row(row, app.settings.team) for row in await storage.list_users()]


def frame(me: User, current: str, body: str, *, users: list[str] | None = None, q: Query | None = None) -> str:
    """The page around a view: the navigation, who is signed in, the filters and the sign-out button."""
    links = "".join(
        f'<a href="{escape(q.link("/" + key if key != "spend" else "") if q else PATH)}"{" aria-current=page" if key == current else ""}>{escape(label)}</a>'
        for key, label in PAGES
    )
    who = f"{escape(me.name)}{' (admin)' if me.admin else ''}"
    signout = f'<form class="inline" method="post" action="{PATH}/logout"><button type="submit">Sign out</button></form>' if me.team else ""
    filters = ""
    if q is not None:
        fields = []
        if current in ("spend", "calls"):  # jobs and runs are listed newest first, whatever the dates
            fields += [
                f'<label>From <input type="date" name="start" value="{q.span.start.isoformat()}"></label>',
                f'<label>to <input type="date" name="end" value="{q.span.end.isoformat()}"></label>',
            ]
        if me.admin and users is not None:
            choices = [("", "everyone"), *((n, n) for n in users)]
            options = "".join(f'<option value="{escape(v)}"{" selected" if (q.whose or "") == v else ""}>{escape(label)}</option>' for v, label in choices)
            fields.append(f'<label>User <select name="user" id="user-filter">{options}</select></label>')
        if current == "spend" and me.admin and q.whose is None:
            fields.append(
                '<label>Stack by <select name="stack">'
                + "".join(f'<option value="{v}"{" selected" if q.stack == v else ""}>{v}</option>' for v in ("model", "user"))
                + "</select></label>"
            )
        action = PATH + ("" if current == "spend" else f"/{current}")
        if fields:
            filters = f'<form method="get" action="{action}" class="filters">{" ".join(fields)} <button type="submit">Show</button></form>'
    return f'<nav>{links}<span class="who" id="signed-in">{who}</span>{signout}</nav>{filters}{body}'


async def spend(app: App, storage: Storage, me: User, q: Query) -> tuple[str, list[str]]:
    """Spend over time (stacked by model, or by user for an admin looking at everyone) with the daily budget
    line, the totals and tables of get_usage_stats, and the budgets used and left today and this month."""
    await app.ledger.flush()
    stats = await usage_stats(storage, q.span, user=q.whose)
    users = await _users(storage, app) if me.admin else []
    named = {u.name: u for u in users}
    if q.whose is None:
        daily = daily_budget_line(app.settings.daily_budget_usd, None)
        label = "server daily budget"
    else:
        owner = me if q.whose == me.name else named.get(q.whose)
        daily = daily_budget_line(app.settings.daily_budget_usd, owner) if owner else None
        label = "daily budget"
    lines = [(label, float(daily))] if daily is not None else []
    series = None
    if q.stack == "user" and me.admin and q.whose is None:
        days, _ = views.model_series(stats)
        # Each user's cost per day, as get_usage_stats would give it for that user: one grouped query for all.
        costs = await storage.cost_by_user_and_day(start=q.span.start_dt, end=q.span.end_dt)
        per_user = {u.name: {"data": [{"date": day, "total_cost": float(cost)} for day, cost in sorted(costs.get(u.name, {}).items())]} for u in users}
        series = views.user_series(days, per_user)
        shown = {name: values for name, values in series}
        # Calls by anyone not in the users table (the local user, an OAuth user with no row) are one more stack.
        totals = {d["date"]: d["total_cost"] for d in stats["data"]}
        rest = [max(0.0, totals.get(day, 0.0) - sum(values[i] for values in shown.values())) for i, day in enumerate(days)]
        if any(v > 1e-12 for v in rest):
            series.append(("(others)", rest))
    who = "everyone" if q.whose is None else q.whose
    body = [f"<h1>Spend of {escape(who)}, {q.span.start} to {q.span.end}</h1>", views.usage(stats, series=series, lines=lines)]
    body.append("<h2>Budgets</h2>" + views.budgets(await budget_rows(app, storage, me, q, users)))
    body.append('<p class="note">Spend counts each call once its cost is known; budgets also count running calls at their worst case.</p>')
    return "\n".join(body), [u.name for u in users]


async def budget_rows(app: App, storage: Storage, me: User, q: Query, users: list[User]) -> list[views.BudgetRow]:
    """Today's and this month's spend against each budget: the server's and every user's for an admin (or
    the one user filtered on), the caller's own otherwise."""
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    windows = (day, day.replace(day=1))
    rows = []
    if me.admin:
        today, month = await storage.spent_since(windows)
        settings = app.settings
        rows.append(views.BudgetRow("server (everyone)", float(today), _money(settings.daily_budget_usd), float(month), _money(settings.monthly_budget_usd)))
        shown = [u for u in users if q.whose is None or u.name == q.whose]
        spent = await storage.spent_since_by_user(windows)  # every user's in one query
    else:
        shown = [me]
        spent = {me.name: await storage.spent_since(windows, user=me.name)}
    for u in shown:
        today, month = spent.get(u.name, (Decimal(0), Decimal(0)))
        rows.append(views.BudgetRow(u.name, float(today), _money(u.daily_budget_usd), float(month), _money(u.monthly_budget_usd)))
    return rows


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _progress(status: str, done: float | None, total: float | None) -> str:
    if status == "succeeded":  # the last report a job made may be from before its last step
        return '<span class="progress"><i style="width:100%"></i></span> done'
    if done is None:
        return "-"
    if not total:
        return f"{done:g}"
    share = max(0.0, min(1.0, done / total))
    return f'<span class="progress" title="{done:g} of {total:g}"><i style="width:{share * 100:.0f}%"></i></span> {done:g}/{total:g}'


async def jobs(storage: Storage, me: User, q: Query) -> str:
    """Running jobs first, then the latest finished ones, with their progress."""
    rows = await storage.recent_jobs(limit=MAX_ROWS, user=q.whose)
    cells = [
        [
            escape(j.job_id),
            *([escape(j.user_name)] if me.admin else []),
            escape(j.tool),
            f'<span class="{"bad" if j.status == "failed" else ""}">{escape(j.status)}</span>',
            _progress(j.status, j.progress, j.total),
            escape((j.message or "")[:120]),
            _when(j.created_at),
            _when(j.updated_at),
        ]
        for j in rows
    ]
    headers = ("job", *(("user",) if me.admin else ()), "tool", "status", "progress", "message", "started (UTC)", "updated (UTC)")
    empty = "" if rows else '<p class="note">No jobs.</p>'
    left = (0, 1, 2, 3, 5) if me.admin else (0, 1, 2, 4)
    return "<h1>Jobs</h1>" + page.table(headers, cells, left=left, table_id="jobs") + empty


async def _runs(storage: Storage, whose: str | None) -> list[dict[str, Any]]:
    records = [r for _, r in reversed(await storage.kv_list(bench.NAMESPACE))]
    return [r for r in records if whose is None or r.get("user", LOCAL_USER_NAME) == whose][:MAX_ROWS]


async def benchmarks(storage: Storage, me: User, q: Query) -> str:
    """Stored benchmark runs, newest first, each linking to its HTML report."""
    runs = await _runs(storage, q.whose)
    cells = [
        [
            f'<a href="{PATH}/benchmarks/{escape(r["id"])}">{escape(r["id"])}</a>',
            *([escape(r.get("user", LOCAL_USER_NAME))] if me.admin else []),
            escape(r["created_at"][:19]),
            escape(", ".join(r["config"]["models"])),
            escape(r["ranking"][0] if r["ranking"] else "-"),
            str(r["calls"]),
            escape(bench_report.money(r["cost_usd"])),
        ]
        for r in runs
    ]
    headers = ("run", *(("user",) if me.admin else ()), "started", "models", "best", "calls", "cost")
    empty = "" if runs else '<p class="note">No benchmark runs.</p>'
    left = (0, 1, 2, 3, 4) if me.admin else (0, 1, 2, 3)
    return "<h1>Benchmark runs</h1>" + page.table(headers, cells, left=left, table_id="runs") + empty


async def report(storage: Storage, me: User, run_id: str) -> str | None:
    """The HTML report of one run, or None when there is none the caller may see (another user's run
    answers exactly as one that does not exist)."""
    if not bench.BENCH_ID.match(run_id):
        return None
    record = await storage.kv_get(bench.NAMESPACE, run_id)
    if record is None or not (me.admin or record.get("user", LOCAL_USER_NAME) == me.name):
        return None
    stored = await storage.kv_get(bench.SAMPLES_NAMESPACE, run_id) or {}
    return bench_report.html(record, [Sample.from_dict(d) for d in stored.get("samples") or []])


async def calls(app: App, storage: Storage, me: User, q: Query) -> str:
    """The ledger's calls in the range, newest first, a page at a time."""
    await app.ledger.flush()
    rows = await storage.latest_calls(start=q.span.start_dt, end=q.span.end_dt, limit=PAGE_SIZE + 1, offset=q.page * PAGE_SIZE, user=q.whose)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    cells = [
        [
            _when(r.created_at),
            *([escape(r.user_name)] if me.admin else []),
            escape(r.tool),
            escape(r.model_used or r.model_requested),
            f'<span class="{"bad" if r.status == "error" else ""}">{escape(r.status)}{" " + escape(r.error_code) if r.error_code else ""}</span>',
            str(r.prompt_tokens),
            str(r.completion_tokens),
            page.usd(_money(r.cost_usd)) if r.cost_usd is not None else f"≤ {page.usd(float(r.estimate_usd))}",
        ]
        for r in rows
    ]
    headers = ("time (UTC)", *(("user",) if me.admin else ()), "tool", "model", "status", "prompt tokens", "completion tokens", "cost")
    pager = []
    if q.page > 0:
        pager.append(f'<a id="newer" href="{escape(q.link("/calls", page=str(q.page - 1)))}">Newer</a>')
    if more:
        pager.append(f'<a id="older" href="{escape(q.link("/calls", page=str(q.page + 1)))}">Older</a>')
    empty = "" if rows else '<p class="note">No calls in this range.</p>'
    return (
        f"<h1>Calls, {q.span.start} to {q.span.end} (page {q.page + 1})</h1>"
        + page.table(headers, cells, left=(0, 1, 2, 3, 4) if me.admin else (0, 1, 2, 3), table_id="calls")
        + empty
        + f'<div class="pager">{"".join(pager)}</div>'
    )
