"""The `free` toolset: `list_free_models`, `free_chat` and `get_free_model_metrics`."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from ..core.results import ok
from ..services.catalog import FEATURES, SearchQuery, catalog_state, free
from ..shapes import Shape
from ._common import PAID_CALL, READ_ONLY_REMOTE
from .chat import ReplyOutput, chat_output
from .models import CatalogState, ModelRow

if TYPE_CHECKING:
    from ..app import App


class FreeModel(ModelRow):
    success_rate: float | None = Field(description="Share of this server's calls that succeeded (null: never called).")
    cooling_down_until: str | None = Field(description="Rate-limited recently: free_chat skips it until then (UTC).")


class FreeModels(CatalogState):
    models: list[FreeModel]
    total: int


class Quota(Shape):
    per_minute_limit: int
    used_last_minute: int
    minute_resets_at: str | None
    daily_limit: int | None = Field(description="Requests per UTC day: 50, or 1000 after buying 10 credits; null when GET /key does not say.")
    daily_limit_source: str | None
    used_today: int
    remaining_today: int | None
    day_resets_at: str | None


class Skipped(Shape):
    model: str
    reason: str
    until: str | None


class FreeChatOutput(ReplyOutput):
    tried: list[str] = Field(description="Free models tried, in order; the last one answered.")
    skipped: list[Skipped] = Field(description="Free models passed over before sending.")
    quota: Quota


class ModelMetrics(Shape):
    model: str
    requests: int
    successes: int
    failures: int
    rate_limited: int
    cooldowns: int
    cooling_down_until: str | None
    cooldown_reason: str | None
    median_latency_ms: float | None
    median_tokens_per_s: float | None
    last_used: str | None
    last_error: str | None


class FreeMetrics(Shape):
    models: list[ModelMetrics]
    quota: Quota


def _metrics(s: free.ModelStats, now: float) -> ModelMetrics:
    return ModelMetrics(
        model=s.model,
        requests=s.requests,
        successes=s.successes,
        failures=s.failures,
        rate_limited=s.rate_limited,
        cooldowns=s.cooldowns,
        cooling_down_until=free.iso(s.cooldown_until) if s.cooling(now) else None,
        cooldown_reason=s.cooldown_reason if s.cooling(now) else None,
        median_latency_ms=free.median(s.latency_ms),
        median_tokens_per_s=free.median(s.tokens_per_s),
        last_used=free.iso(s.last_used),
        last_error=s.last_error,
    )


def register(server: MCPServer[Any], app: App) -> None:
    @server.tool(
        annotations=READ_ONLY_REMOTE,
        description="Free models (:free or zero price; no routers), newest first, with recent success and cool-downs.",
    )
    async def list_free_models(
        supports: Annotated[list[str] | None, Field(description=f"All of: {' '.join(FEATURES)} or a parameter")] = None,
        min_context_length: Annotated[int | None, Field(ge=1)] = None,
    ) -> Annotated[CallToolResult, FreeModels]:
        index, snap = await app.catalog.index()
        query = index.check(SearchQuery(free_only=True, sort="newest", supports=tuple(supports or ()), min_context_length=min_context_length))
        rows = index.search(replace(query, limit=len(index.models))).rows  # every match, in one page
        stats = await free.all_stats(await app.storage())
        now = time.time()
        models = []
        for row in rows:
            s = stats.get(row["id"])
            models.append(
                FreeModel(
                    **row,
                    success_rate=round(s.successes / (s.successes + s.failures), 3) if s and s.successes + s.failures else None,
                    cooling_down_until=free.iso(s.cooldown_until) if s and s.cooling(now) else None,
                )
            )
        out = FreeModels(**catalog_state(snap), models=models, total=len(models))
        lines = [f"{out.total} free models:"] + [
            f"- {m.id}: {(m.context_length or 0) // 1000}K ctx"
            + (f", {' '.join(m.supports)}" if m.supports else "")
            + (f" (cooling down until {m.cooling_down_until})" if m.cooling_down_until else "")
            for m in models
        ]
        return ok(out, "\n".join(lines))

    @server.tool(
        annotations=PAID_CALL,
        description="Chat with a free model that fits; skips rate-limited ones, stays within the free quota.",
    )
    async def free_chat(
        message: Annotated[str, Field(min_length=1, max_length=200_000)],
        model: Annotated[str | None, Field(max_length=200, description="Free model to try first")] = None,
        system: Annotated[str | None, Field(max_length=50_000)] = None,
        max_tokens: Annotated[int | None, Field(ge=1, le=200_000)] = None,
        temperature: Annotated[float | None, Field(ge=0, le=2)] = None,
        fallback: Annotated[bool, Field(description="Try others when the named one is busy")] = True,
    ) -> Annotated[CallToolResult, FreeChatOutput]:
        chat = await free.free_chat(app, message=message, model=model, system=system, max_tokens=max_tokens, temperature=temperature, fallback=fallback)
        base, text = chat_output(chat.request, chat.result)
        out = FreeChatOutput(
            **base,
            tried=chat.tried,
            skipped=[Skipped(**s) for s in chat.skipped],
            quota=Quota(**chat.quota.view(time.time())),
        )
        if len(chat.tried) > 1:
            text += f"\n(fell back past {', '.join(chat.tried[:-1])})"
        return ok(out, text)

    @server.tool(
        annotations=READ_ONLY_REMOTE,
        description="Free-model metrics (requests, failures, median latency, tokens/s, cool-downs) and the free quota.",
    )
    async def get_free_model_metrics() -> Annotated[CallToolResult, FreeMetrics]:
        quota = await free.quota(app, refresh=True)
        stats = await free.all_stats(await app.storage())
        now = time.time()
        models = sorted((_metrics(s, now) for s in stats.values()), key=lambda m: (-m.requests, m.model))
        out = FreeMetrics(models=models, quota=Quota(**quota.view(now)))
        q = out.quota
        daily = f"{q.used_today}/{q.daily_limit} today" if q.daily_limit is not None else f"{q.used_today} today (daily limit unknown)"
        lines = [f"Free quota: {q.used_last_minute}/{q.per_minute_limit} this minute, {daily}."]
        for m in models:
            lat = f", median {m.median_latency_ms:.0f} ms" if m.median_latency_ms is not None else ""
            tps = f", {m.median_tokens_per_s:.0f} tok/s" if m.median_tokens_per_s is not None else ""
            cool = f", cooling down until {m.cooling_down_until}" if m.cooling_down_until else ""
            lines.append(f"- {m.model}: {m.successes}/{m.requests} ok{lat}{tps}{cool}")
        return ok(out, "\n".join(lines))
