"""One model in depth: resolving an id (variant suffixes, retired ids, typos) against the catalog, and
everything known about it, including its per-provider endpoints from
`GET /models/{author}/{slug}/endpoints`. Knows nothing of MCP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import ErrorCode, ToolFailure
from .entries import VARIANTS, ModelInfo, Snapshot, closest_variant, split_variant, wire_price
from .retired import successor
from .search import SearchIndex, features_of, per_million, prices_of, usd
from .suggest import suggestions

if TYPE_CHECKING:
    from ...upstream import Gateway

# Variants any model can take (they choose providers or add a plugin); the others depend on the model.
_ROUTING_VARIANTS = ("nitro", "floor", "online")


class CatalogReader(Protocol):
    """What resolving an id needs of the catalog (the `Catalog` itself, passed in by its callers)."""

    async def index(self) -> tuple[SearchIndex, Snapshot]: ...

    async def get(self, model_id: str) -> ModelInfo | None: ...


@dataclass(slots=True)
class Resolution:
    """What an id names right now."""

    requested: str
    info: ModelInfo | None
    variant: str | None
    problem: str | None = None  # why it is not usable, for people
    retired: bool = False
    successor: str | None = None
    suggestions: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.info is not None and self.problem is None

    @property
    def resolved_id(self) -> str | None:
        return self.info.id if self.info is not None else None


async def resolve(catalog: CatalogReader, model_id: str) -> tuple[Resolution, Snapshot]:
    """Resolve an id: listed as is, a variant of a listed model, or not usable (and why, with the closest ids)."""
    index, snap = await catalog.index()
    requested = model_id.strip()
    if (info := snap.by_id.get(requested)) is not None:
        return Resolution(requested, info, split_variant(requested)[1]), snap
    base, variant = split_variant(requested)
    if "/" not in base:
        problem = f"{requested!r} has no author: model ids look like author/slug, e.g. openai/gpt-4o-mini"
    elif variant is not None and variant not in VARIANTS:
        meant = closest_variant(variant)
        hint = f" (the nearest is :{meant})" if meant else ""
        problem = f":{variant} is not a variant{hint}; variants are {', '.join(':' + v for v in VARIANTS)}"
    elif variant == "free" and base in snap.by_id:
        problem = f"{base} has no free variant: it is billed per token. list_free_models shows the free ones"
    elif (info := await catalog.get(requested)) is not None:
        return Resolution(requested, info, variant), snap
    else:
        replacement = successor(base.lower(), snap.by_id)
        if replacement is not None:
            found = suggestions(index, snap, requested)
            return Resolution(requested, None, variant, f"{base} was retired from OpenRouter; its successor is {replacement}", True, replacement, found), snap
        problem = f"{requested!r} is not in OpenRouter's catalog (mistyped, or retired)"
    return Resolution(requested, None, variant, problem, suggestions=suggestions(index, snap, requested)), snap


def require_usable(res: Resolution) -> ModelInfo:
    if res.info is not None and res.problem is None:
        return res.info
    # The message names every suggestion once (the failure's text for people adds nothing after it).
    message = [(res.problem or f"{res.requested!r} is not usable") + "."]
    others = [s for s in res.suggestions if s != res.successor]  # a retired id's problem names its successor
    if others and not res.retired:
        message.append(f"Did you mean {others.pop(0)}?")
    if others:
        message.append(f"Other close ids: {', '.join(others)}.")
    message.append("Check ids with search_models or validate_model.")
    details: dict[str, Any] = {"field": "model", "model": res.requested}
    if res.successor:
        details["successor"] = res.successor
    raise ToolFailure(ErrorCode.MODEL_NOT_FOUND, " ".join(message), suggestions=res.suggestions, details=details)


def variants_for(info: ModelInfo, snap: Snapshot) -> list[dict[str, str]]:
    """The variant ids one can call for this model, each with what it does."""
    base = split_variant(info.id)[0]
    names = [v for v in VARIANTS if f"{base}:{v}" in snap.by_id]
    names += [v for v in _ROUTING_VARIANTS if v not in names]
    if "reasoning" in info.supported_parameters and "thinking" not in names:
        names.append("thinking")
    if "tools" in info.supported_parameters:
        names.append("exacto")
    return [{"id": f"{base}:{v}", "meaning": VARIANTS[v]} for v in names if f"{base}:{v}" != info.id]


def pricing_of(info: ModelInfo) -> dict[str, float | None]:
    return {
        **prices_of(info),
        "cache_read_usd_per_m": per_million(info.cache_read_price),
        "image_usd": usd(info.image_price),
        "web_search_usd": usd(info.web_search_price),
    }


async def endpoints(gateway: Gateway, info: ModelInfo, variant: str | None) -> list[dict[str, Any]]:
    """The providers serving this model, with price, limits, uptime, latency and throughput where
    OpenRouter reports them; ordered as the variant routes (:nitro fastest, :floor cheapest first)."""
    author, _, slug = info.id.partition("/")
    payload = await gateway.get_json(f"models/{author}/{slug}/endpoints")
    data = payload.get("data") if isinstance(payload, dict) else None
    items = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ToolFailure(ErrorCode.UPSTREAM_ERROR, "OpenRouter's endpoints response has no endpoints list.", retryable=True)
    rows = [_endpoint_row(e) for e in items if isinstance(e, dict)]
    if variant == "nitro":
        rows.sort(key=lambda r: -(r["throughput_p50_tps"] or 0))
    elif variant == "floor":
        rows.sort(key=lambda r: r["prompt_usd_per_m"] if r["prompt_usd_per_m"] is not None else float("inf"))
    return rows


def _endpoint_row(e: dict[str, Any]) -> dict[str, Any]:
    pricing = e.get("pricing") or {}
    params = set(e.get("supported_parameters") or ())
    return {
        "provider": str(e.get("provider_name") or e.get("tag") or "?"),
        "tag": e.get("tag"),
        "quantization": e.get("quantization"),
        "context_length": e.get("context_length"),
        "max_completion_tokens": e.get("max_completion_tokens"),
        "prompt_usd_per_m": _wire_per_million(pricing.get("prompt")),
        "completion_usd_per_m": _wire_per_million(pricing.get("completion")),
        "uptime_30m_pct": _number(e.get("uptime_last_30m")),
        "uptime_1d_pct": _number(e.get("uptime_last_1d")),
        "latency_p50_ms": _number((e.get("latency_last_30m") or {}).get("p50")),
        "throughput_p50_tps": _number((e.get("throughput_last_30m") or {}).get("p50")),
        "supports": features_of(params),
        "status": e.get("status"),
    }


def _wire_per_million(raw: Any) -> float | None:
    return per_million(wire_price(raw))


def _number(raw: Any) -> float | None:
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
