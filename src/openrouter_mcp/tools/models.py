"""The `models` toolset: `search_models`, `get_model_info` and `validate_model`, answered from the cached
catalog (and, for one model's providers, `GET /models/{author}/{slug}/endpoints`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from ..core.results import ok
from ..errors import ToolFailure
from ..services.catalog import (
    FEATURES,
    VARIANTS,
    SearchQuery,
    Sort,
    catalog_state,
    date_of,
    endpoints,
    features_of,
    pricing_of,
    require_usable,
    resolve,
    search,
    variants_for,
)
from ..shapes import Shape
from ._common import READ_ONLY_REMOTE

if TYPE_CHECKING:
    from ..app import App

ModelId = Annotated[str, Field(min_length=1, max_length=200, description="e.g. openai/gpt-4o-mini, :free/:nitro ok")]


class CatalogState(Shape):
    stale: bool = Field(description="True when OpenRouter could not be reached and an older copy of the catalog answered.")
    stale_reason: str | None
    catalog_age_s: float


class ModelRow(Shape):
    id: str
    name: str
    context_length: int | None
    prompt_usd_per_m: float | None = Field(description="USD per million prompt tokens (null: unknown, e.g. a router).")
    completion_usd_per_m: float | None
    request_usd: float | None = Field(description="USD per request, for models billed per call.")
    input_modalities: list[str]
    output_modalities: list[str]
    supports: list[str] = Field(description=f"Of {', '.join(FEATURES)}.")
    free: bool
    released: str | None


class SearchOutput(CatalogState):
    models: list[ModelRow]
    total: int = Field(description="Models matching every filter.")
    has_more: bool
    next_offset: int | None = Field(description="Pass as offset for the next page.")
    corrections: dict[str, str] = Field(description="Query words read as a close spelling (typo -> word).")


class Variant(Shape):
    id: str
    meaning: str


class Endpoint(Shape):
    provider: str
    tag: str | None
    quantization: str | None
    context_length: int | None
    max_completion_tokens: int | None
    prompt_usd_per_m: float | None
    completion_usd_per_m: float | None
    uptime_30m_pct: float | None
    uptime_1d_pct: float | None
    latency_p50_ms: float | None = Field(description="Median time to first token over the last 30 min.")
    throughput_p50_tps: float | None = Field(description="Median tokens per second over the last 30 min.")
    supports: list[str]
    status: int | None


class Pricing(Shape):
    prompt_usd_per_m: float | None
    completion_usd_per_m: float | None
    cache_read_usd_per_m: float | None
    request_usd: float | None
    image_usd: float | None = Field(description="USD per input image.")
    web_search_usd: float | None = Field(description="USD per web search.")


class ModelDetails(CatalogState):
    id: str = Field(description="The catalog id the request resolved to.")
    requested: str
    variant: Variant | None = Field(description="The variant suffix asked for, and what it does.")
    name: str
    description: str
    author: str
    context_length: int | None
    max_completion_tokens: int | None
    pricing: Pricing
    input_modalities: list[str]
    output_modalities: list[str]
    supports: list[str]
    supported_parameters: list[str]
    free: bool
    router: bool = Field(description="Routes to other models; its price is the chosen model's.")
    released: str | None
    expires: str | None = Field(description="Date OpenRouter retires this model, if announced.")
    variants: list[Variant] = Field(description="Other ids for this model and what each does.")
    endpoints: list[Endpoint] = Field(description="Providers serving it, in the variant's routing order.")
    endpoints_error: str | None = Field(description="Why endpoints are missing, when they are.")


class Validation(CatalogState):
    model: str
    usable: bool
    resolved_id: str | None
    variant: Variant | None
    reason: str | None = Field(description="Why it is not usable.")
    retired: bool
    successor: str | None = Field(description="For a retired id: the current model that replaced it.")
    suggestions: list[str] = Field(description="Closest current ids, best first.")
    expires: str | None
    free: bool | None


def _variant(variant: str | None) -> Variant | None:
    return Variant(id=f":{variant}", meaning=VARIANTS[variant]) if variant in VARIANTS else None


def _price_text(row: ModelRow | Endpoint) -> str:
    if row.prompt_usd_per_m is None or row.completion_usd_per_m is None:
        return "price varies"
    if isinstance(row, ModelRow) and row.request_usd and not (row.prompt_usd_per_m or row.completion_usd_per_m):
        return f"${row.request_usd:g}/request"
    return f"${row.prompt_usd_per_m:g}/${row.completion_usd_per_m:g} per M"


def search_text(out: SearchOutput) -> str:
    lines = [f"{out.total} models match" + (f" (read {', '.join(f'{k} as {v}' for k, v in out.corrections.items())})" if out.corrections else "") + ":"]
    for r in out.models:
        ctx = f"{r.context_length // 1000}K" if r.context_length else "?"
        mods = f"{'+'.join(r.input_modalities)}->{'+'.join(r.output_modalities)}"
        lines.append(f"- {r.id}: {ctx} ctx, {_price_text(r)}, {mods}" + (f", {' '.join(r.supports)}" if r.supports else "") + (" [free]" if r.free else ""))
    if out.next_offset is not None:
        lines.append(f"More: offset={out.next_offset}.")
    if out.stale:
        lines.append(f"Catalog is stale ({out.stale_reason}).")
    return "\n".join(lines)


def register(server: MCPServer[Any], app: App) -> None:
    @server.tool(
        annotations=READ_ONLY_REMOTE,
        description="Find models by text (typos ok), author, modalities, features, price, context. Prices: USD per 1M tokens.",
    )
    async def search_models(
        query: Annotated[str | None, Field(max_length=200)] = None,
        provider: Annotated[str | None, Field(max_length=100, description="Author, e.g. openai")] = None,
        input_modalities: Annotated[list[str] | None, Field(description="All of: text image file audio video")] = None,
        output_modalities: Annotated[list[str] | None, Field(description="All of: text image audio video speech embeddings rerank")] = None,
        supports: Annotated[list[str] | None, Field(description=f"All of: {' '.join(FEATURES)} or a parameter")] = None,
        max_prompt_price: Annotated[float | None, Field(ge=0)] = None,
        max_completion_price: Annotated[float | None, Field(ge=0)] = None,
        min_context_length: Annotated[int | None, Field(ge=1)] = None,
        free_only: bool = False,
        sort: Sort = "relevance",
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> Annotated[CallToolResult, SearchOutput]:
        found = await search(
            app.catalog,
            SearchQuery(
                query=query or "",
                provider=provider,
                input_modalities=tuple(input_modalities or ()),
                output_modalities=tuple(output_modalities or ()),
                supports=tuple(supports or ()),
                max_prompt_price=max_prompt_price,
                max_completion_price=max_completion_price,
                min_context_length=min_context_length,
                free_only=free_only,
                sort=sort,
                limit=limit,
                offset=offset,
            ),
        )
        out = SearchOutput(**found)
        return ok(out, search_text(out))

    @server.tool(
        annotations=READ_ONLY_REMOTE,
        description="One model in full: prices, limits, modalities, parameters, variants; each provider's price, uptime, latency, throughput.",
    )
    async def get_model_info(model: ModelId) -> Annotated[CallToolResult, ModelDetails]:
        res, snap = await resolve(app.catalog, model)
        info = require_usable(res)
        endpoints_error = None
        try:
            rows = await endpoints(app.gateway, info, res.variant)
        except ToolFailure as failure:
            rows, endpoints_error = [], failure.message
        out = ModelDetails(
            **catalog_state(snap),
            id=info.id,
            requested=res.requested,
            variant=_variant(res.variant),
            name=info.name,
            description=info.description,
            author=info.author,
            context_length=info.context_length,
            max_completion_tokens=info.max_completion_tokens,
            pricing=Pricing(**pricing_of(info)),
            input_modalities=list(info.input_modalities),
            output_modalities=list(info.output_modalities),
            supports=features_of(info.supported_parameters),
            supported_parameters=sorted(info.supported_parameters),
            free=info.is_free,
            router=info.is_router,
            released=date_of(info.created),
            expires=info.expiration_date,
            variants=[Variant(**v) for v in variants_for(info, snap)],
            endpoints=[Endpoint(**row) for row in rows],
            endpoints_error=endpoints_error,
        )
        return ok(out, details_text(out))

    @server.tool(
        annotations=READ_ONLY_REMOTE,
        description="Is this model id usable now? If not: why, the closest ids, a retired model's successor.",
    )
    async def validate_model(model: ModelId) -> Annotated[CallToolResult, Validation]:
        res, snap = await resolve(app.catalog, model)
        info = res.info
        out = Validation(
            **catalog_state(snap),
            model=res.requested,
            usable=res.usable,
            resolved_id=res.resolved_id,
            variant=_variant(res.variant),
            reason=res.problem,
            retired=res.retired,
            successor=res.successor,
            suggestions=res.suggestions,
            expires=info.expiration_date if info else None,
            free=info.is_free if info else None,
        )
        return ok(out, validation_text(out))


def details_text(out: ModelDetails) -> str:
    p = out.pricing
    price = "price varies (router)" if out.router else f"${p.prompt_usd_per_m:g} in / ${p.completion_usd_per_m:g} out per M tokens"
    if p.request_usd:
        price += f", ${p.request_usd:g} per request"
    lines = [f"{out.id} — {out.name}", out.description, f"{out.context_length} tokens context; {price}."]
    lines.append(f"Modalities: {'+'.join(out.input_modalities)} -> {'+'.join(out.output_modalities)}; supports: {', '.join(out.supports) or 'basic chat'}.")
    if out.variant:
        lines.append(f"Variant {out.variant.id}: {out.variant.meaning}.")
    if out.expires:
        lines.append(f"Retires on {out.expires}.")
    for e in out.endpoints:
        perf = ", ".join(
            x
            for x in (
                f"{e.latency_p50_ms:.0f} ms to first token" if e.latency_p50_ms is not None else "",
                f"{e.throughput_p50_tps:.0f} tok/s" if e.throughput_p50_tps is not None else "",
                f"{e.uptime_30m_pct:g}% up" if e.uptime_30m_pct is not None else "",
            )
            if x
        )
        lines.append(f"- {e.provider} ({e.quantization}): {_price_text(e)}, {e.context_length} ctx" + (f", {perf}" if perf else ""))
    if out.endpoints_error:
        lines.append(f"Endpoints unavailable: {out.endpoints_error}")
    return "\n".join(lines)


def validation_text(out: Validation) -> str:
    if out.usable:
        text = f"{out.model} is usable" + (f" (resolves to {out.resolved_id})" if out.resolved_id != out.model else "") + "."
        if out.variant:
            text += f" {out.variant.id}: {out.variant.meaning}."
        if out.expires:
            text += f" It retires on {out.expires}."
        return text
    text = f"{out.model} is not usable: {out.reason}."
    if out.suggestions:
        text += f" Closest: {', '.join(out.suggestions)}."
    return text
