"""`POST /embeddings`: vectors for a batch of texts, with the usage and cost OpenRouter reports. Re-sent
only when OpenRouter refused the request before doing any work (408/429/502/503) or the connection was
never made, like a chat request."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import bad_response
from .gateway import Gateway
from .types import StartFn, cost_from_wire


@dataclass(slots=True)
class EmbeddingResult:
    vectors: list[list[float]] = field(default_factory=list)
    model: str | None = None
    generation_id: str | None = None
    prompt_tokens: int = 0
    cost_usd: Decimal | None = None
    latency_ms: float = 0.0


def _parse(payload: Any, count: int) -> EmbeddingResult:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or len(data) != count:
        raise bad_response(f"an embeddings response without {count} vectors")
    vectors: list[list[float]] = [[] for _ in range(count)]
    for position, item in enumerate(data):
        vector = item.get("embedding") if isinstance(item, dict) else None
        index = item.get("index", position) if isinstance(item, dict) else position
        if not isinstance(vector, list) or not isinstance(index, int) or not 0 <= index < count:
            raise bad_response("an embeddings response with a malformed vector")
        vectors[index] = [float(x) for x in vector]
    usage = payload.get("usage") or {}
    cost = usage.get("cost")
    return EmbeddingResult(
        vectors=vectors,
        model=payload.get("model"),
        generation_id=payload.get("id"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        cost_usd=cost_from_wire(cost),
    )


async def create_embeddings(
    gateway: Gateway,
    model: str,
    texts: list[str],
    *,
    dimensions: int | None = None,
    provider: dict[str, Any] | None = None,
    on_start: StartFn | None = None,
    timeout_s: float = 60.0,
) -> EmbeddingResult:
    """One vector per text, in order (`dimensions` and provider routing sent when given)."""
    request: dict[str, Any] = {"model": model, "input": texts}
    if dimensions is not None:
        request["dimensions"] = dimensions
    if provider:
        request["provider"] = provider
    return await gateway.post_named("embeddings", request, lambda body: _parse(body, len(texts)), on_start=on_start, timeout_s=timeout_s)
