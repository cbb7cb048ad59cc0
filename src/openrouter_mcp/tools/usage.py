"""The `usage` toolset: what the calls cost (`get_usage_stats`, from the local ledger), what the account
has left (`get_account`), and the full upstream record of one call (`get_generation`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from ..core.identity import User, current_user
from ..core.results import ok
from ..errors import invalid
from ..render import views
from ..render.apps import TOOL_META, with_view
from ..services.usage import daily_budget_line, date_range, usage_stats
from ..shapes import Shape
from ._common import READ_ONLY_LOCAL, READ_ONLY_REMOTE

if TYPE_CHECKING:
    from ..app import App
    from ..storage import Storage

Rows = list[dict[str, Any]]


class UsageStats(Shape):
    start_date: str
    end_date: str
    data: Rows = Field(description="Per day: date, total_cost, total_tokens, requests, errors, models[{model, requests, cost, tokens}].")
    summary: dict[str, Any]
    by_model: Rows
    by_tool: Rows
    by_provider: Rows
    top_costs: Rows = Field(description="The most expensive calls.")


class Budget(Shape):
    spent_today_usd: float
    spent_this_month_usd: float
    daily_budget_usd: float | None
    monthly_budget_usd: float | None


class Account(Shape):
    label: str | None
    limit_usd: float | None = Field(description="The key's spending limit; null means none.")
    limit_remaining_usd: float | None
    limit_reset: str | None
    usage_usd: dict[str, float] = Field(description="total, daily, weekly, monthly")
    is_free_tier: bool | None
    free_daily_requests: dict[str, Any] | None
    credits: dict[str, float] | None = Field(description="total, used, remaining (needs a management key).")
    credits_note: str | None
    local_budget: Budget


class Generation(Shape):
    generation_id: str
    model: str | None
    provider: str | None
    cost_usd: float
    tokens: dict[str, int | None]
    latency_ms: float | None
    generation_time_ms: float | None
    finish_reason: str | None
    streamed: bool | None
    cancelled: bool | None
    created_at: str | None
    details: dict[str, Any] = Field(description="Every other field OpenRouter reports.")


def register(server: MCPServer[Any], app: App) -> None:
    @server.tool(
        annotations=READ_ONLY_LOCAL,
        meta=TOOL_META,
        description="Spend and tokens from this server's ledger (default: last 30 days) by day, model, tool, provider.",
    )
    async def get_usage_stats(
        start_date: Annotated[str | None, Field(description="YYYY-MM-DD (UTC), inclusive.")] = None,
        end_date: Annotated[str | None, Field(description="YYYY-MM-DD (UTC), inclusive; default today.")] = None,
        user: Annotated[str | None, Field(max_length=200, description="Team admins: one user's (default: everyone's)")] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, UsageStats]:
        span = date_range(start_date, end_date)
        me = current_user()
        if user is not None and not me.admin and user != me.name:
            raise invalid("user", "only an admin of this server sees another user's usage", "Leave user out to see your own")
        # An admin (and the one local user) sees everyone's usage, or one user's; any other user their own.
        whose = user if me.admin else me.name
        await app.ledger.flush()
        stats = UsageStats(**await usage_stats(await app.storage(), span, user=whose))
        s = stats.summary
        text = f"{span.start} to {span.end}{'' if whose is None else f' ({whose})'}: {s['total_requests']} call{'' if s['total_requests'] == 1 else 's'}, {s['total_tokens']} tokens, ${s['total_cost']:.6f}"
        if s["calls_with_cost_pending"]:
            n = s["calls_with_cost_pending"]
            text += f" (+ {n} call{'s' if n != 1 else ''} of unknown cost, at most ${s['unknown_cost_at_most']:.6f})"
        if stats.by_model:
            text += "\n" + "\n".join(f"  {g['model']}: {g['requests']} call{'' if g['requests'] == 1 else 's'}, ${g['cost']:.6f}" for g in stats.by_model[:5])
        # The daily budget that applies to the spend shown: the caller's own, or the server's for everyone's.
        daily = daily_budget_line(app.settings.daily_budget_usd, None if whose is None else me) if whose in (None, me.name) else None
        lines = [("daily budget", float(daily))] if daily is not None else []
        return with_view(ok(stats, text), ctx, lambda data: f"<h1>Spend, {span.start} to {span.end}</h1>" + views.usage(data, lines=lines))

    @server.tool(
        annotations=READ_ONLY_REMOTE, meta=TOOL_META, description="The key's limit, remaining credit and usage (day/week/month), and this server's budgets."
    )
    async def get_account(ctx: Context | None = None) -> Annotated[CallToolResult, Account]:
        from ..upstream import account

        me = current_user()
        await app.ledger.flush()
        storage = await app.storage()
        now = datetime.now(UTC)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        settings = app.settings
        if not me.admin:
            # A team user sees their own key (when they have one) and their own spend and budgets, never
            # the server key's usage or the server's spend: both would tell them what the others spent.
            return with_view(ok(*await _personal_account(app, me, storage, day)), ctx, views.account)
        key = await account.key_info(app.gateway)
        creds = await account.credits(app.gateway)
        spent_today, spent_month = await storage.spent_since((day, day.replace(day=1)))
        out = Account(
            label=key.get("label"),
            limit_usd=key.get("limit"),
            limit_remaining_usd=key.get("limit_remaining"),
            limit_reset=key.get("limit_reset"),
            usage_usd=_key_usage(key),
            is_free_tier=key.get("is_free_tier"),
            free_daily_requests=key.get("free_model_daily_requests"),
            credits=None
            if creds is None
            else {"total": creds["total_credits"], "used": creds["total_usage"], "remaining": creds["total_credits"] - creds["total_usage"]},
            credits_note=None if creds is not None else "Account credits need a management key; the key's own limit and usage are shown.",
            local_budget=Budget(
                spent_today_usd=float(spent_today),
                spent_this_month_usd=float(spent_month),
                daily_budget_usd=_maybe(settings.daily_budget_usd),
                monthly_budget_usd=_maybe(settings.monthly_budget_usd),
            ),
        )
        text = f"Key {out.label}: {_limit_text(out)}; used ${out.usage_usd['daily']:.4f} today, ${out.usage_usd['monthly']:.4f} this month."
        if out.credits:
            text += f" Credits: ${out.credits['remaining']:.2f} of ${out.credits['total']:.2f}."
        return with_view(ok(out, text), ctx, views.account)

    @server.tool(annotations=READ_ONLY_REMOTE, description="OpenRouter's full record of one generation: model, provider, tokens, cost, timings.")
    async def get_generation(
        generation_id: Annotated[str, Field(min_length=4, max_length=200)],
    ) -> Annotated[CallToolResult, Generation]:
        from ..upstream import account

        me = current_user()
        if me.team:
            # On the team server a generation is its maker's: another user's id, or one this server never
            # made, answers exactly as an id OpenRouter does not know.
            await app.ledger.flush()
            if await (await app.storage()).generation_owner(generation_id.strip()) != me.name:
                raise account.no_generation(generation_id.strip())
        data = await account.generation(app.gateway, generation_id.strip())
        known = {"id", "model", "provider_name", "total_cost", "latency", "generation_time", "finish_reason", "streamed", "cancelled", "created_at"}
        out = Generation(
            generation_id=data["id"],
            model=data.get("model"),
            provider=data.get("provider_name"),
            cost_usd=float(data.get("total_cost") or 0),
            tokens={
                "prompt": data.get("native_tokens_prompt", data.get("tokens_prompt")),
                "completion": data.get("native_tokens_completion", data.get("tokens_completion")),
                "reasoning": data.get("native_tokens_reasoning"),
                "cached": data.get("native_tokens_cached"),
            },
            latency_ms=data.get("latency"),
            generation_time_ms=data.get("generation_time"),
            finish_reason=data.get("finish_reason"),
            streamed=data.get("streamed"),
            cancelled=data.get("cancelled"),
            created_at=data.get("created_at"),
            details={k: v for k, v in data.items() if k not in known and v is not None},
        )
        return ok(out, f"{out.generation_id}: {out.model} via {out.provider}, ${out.cost_usd:.6f}, {out.latency_ms} ms")


async def _personal_account(app: App, me: User, storage: Storage, day: datetime) -> tuple[Account, str]:
    from ..upstream import account

    windows = (day, day - timedelta(days=day.weekday()), day.replace(day=1), datetime(1970, 1, 1, tzinfo=UTC))
    spent_today, spent_week, spent_month, spent_total = await storage.spent_since(windows, user=me.name)
    key: dict[str, Any] = {}
    if me.openrouter_key is not None:  # the gateway sends this user's own key: its limit and usage are theirs
        key = await account.key_info(app.gateway)
    out = Account(
        label=key.get("label") if key else f"{me.name} (the server's key)",
        limit_usd=key.get("limit"),
        limit_remaining_usd=key.get("limit_remaining"),
        limit_reset=key.get("limit_reset"),
        usage_usd=(
            _key_usage(key) if key else {"total": float(spent_total), "daily": float(spent_today), "weekly": float(spent_week), "monthly": float(spent_month)}
        ),
        is_free_tier=key.get("is_free_tier"),
        free_daily_requests=key.get("free_model_daily_requests"),
        credits=None,
        credits_note="Account credits are shown to the server's admins; your own spend and budgets are below.",
        local_budget=Budget(
            spent_today_usd=float(spent_today),
            spent_this_month_usd=float(spent_month),
            daily_budget_usd=_maybe(me.daily_budget_usd),
            monthly_budget_usd=_maybe(me.monthly_budget_usd),
        ),
    )
    budgets = [f"${b:.2f} {w}" for w, b in (("daily", me.daily_budget_usd), ("monthly", me.monthly_budget_usd)) if b is not None]
    text = f"{me.name}: spent ${spent_today:.6f} today, ${spent_month:.6f} this month" + (f" (budgets: {', '.join(budgets)})." if budgets else ".")
    if key:
        text += f" Your OpenRouter key: {_limit_text(out)}."
    return out, text


def _key_usage(key: dict[str, Any]) -> dict[str, float]:
    """A key's usage from OpenRouter's `GET /key`, as Account.usage_usd names it."""
    return {k: float(key.get(f) or 0) for k, f in (("total", "usage"), ("daily", "usage_daily"), ("weekly", "usage_weekly"), ("monthly", "usage_monthly"))}


def _limit_text(out: Account) -> str:
    return "no limit" if out.limit_usd is None else f"${out.limit_remaining_usd:.4f} left of ${out.limit_usd:.2f}"


def _maybe(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
