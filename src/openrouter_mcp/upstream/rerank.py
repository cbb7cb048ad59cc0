"""`POST /rerank`: documents scored for their relevance to a query, with the usage and cost OpenRouter
reports. Re-sent only when OpenRouter refused the request before doing any work (408/429/502/503) or the
connection was never made, like an embeddings request."""

# The wire format followed is OpenRouter's API reference "Submit a rerank request"
# (https://openrouter.ai/docs/api/api-reference/rerank/create-rerank), as the official SDK types it
# (`openrouter.operations.creatererank`): the body is {model, query, documents: [str | {text, image}],
# top_n?, provider?}; the answer is {id?, model, provider?, results: [{index, relevance_score, document}]
# sorted by relevance, usage?: {search_units?, total_tokens?, cost?}}. OpenRouter takes no
# `return_documents`: each result always echoes its document.

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import ToolFailure
from .errors import bad_response
from .gateway import Gateway
from .types import StartFn, cost_from_wire


@dataclass(frozen=True, slots=True)
class RerankHit:
    index: int  # the document's position in the request
    score: float


@dataclass(slots=True)
class RerankResult:
    hits: list[RerankHit] = field(default_factory=list)
    model: str | None = None
    provider: str | None = None
    generation_id: str | None = None
    total_tokens: int = 0
    search_units: int = 0
    cost_usd: Decimal | None = None
    latency_ms: float = 0.0


def _unusable(payload: Any, what: str) -> ToolFailure:
    """An answer that cannot be used although OpenRouter accepted the request: the search ran and may be
    billed, under the id the answer names or under one this server never learns."""
    failure = bad_response(what)
    generation_id = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(generation_id, str) and generation_id:
        failure.generation_id = generation_id
    else:
        failure.maybe_billed = True
    return failure


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse(payload: Any, count: int) -> RerankResult:
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or len(results) > count:
        raise _unusable(payload, f"a rerank response without a list of at most {count} results")
    hits: list[RerankHit] = []
    seen: set[int] = set()
    for item in results:
        index = item.get("index") if isinstance(item, dict) else None
        score = item.get("relevance_score") if isinstance(item, dict) else None
        if (
            not isinstance(index, int)
            or isinstance(index, bool)
            or not 0 <= index < count
            or index in seen
            or not isinstance(score, int | float)
            or isinstance(score, bool)
            or not math.isfinite(score)
        ):
            raise _unusable(payload, "a rerank response with a malformed result")
        seen.add(index)
        hits.append(RerankHit(index, float(score)))
    usage = payload.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    cost = usage.get("cost")
    return RerankResult(
        hits=hits,
        model=_text(payload.get("model")),
        provider=_text(payload.get("provider")),
        generation_id=_text(payload.get("id")),
        total_tokens=_whole(usage.get("total_tokens")),
        search_units=_whole(usage.get("search_units")),
        cost_usd=cost_from_wire(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) and math.isfinite(cost) else None,
    )


async def rerank(
    gateway: Gateway,
    model: str,
    query: str,
    documents: list[str],
    *,
    top_n: int | None = None,
    provider: dict[str, Any] | None = None,
    on_start: StartFn | None = None,
    timeout_s: float = 60.0,
) -> RerankResult:
    """The documents' relevance scores, best first as OpenRouter sends them (at most `top_n` of them)."""
    body: dict[str, Any] = {"model": model, "query": query, "documents": documents}
    if top_n is not None:
        body["top_n"] = top_n
    if provider:
        body["provider"] = provider
    return await gateway.post_named("rerank", body, lambda payload: _parse(payload, len(documents)), on_start=on_start, timeout_s=timeout_s)
