"""The catalog's entries: one model as OpenRouter lists it (`ModelInfo`, prices exact in USD per token),
a snapshot of the whole list, and the id helpers (variant suffixes, families). Plain data, no I/O."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

VARIANTS: dict[str, str] = {
    "free": "the free variant: no charge, shared rate limits (20 requests/min; 50 or 1000 a day)",
    "nitro": "routes to the fastest providers (sorted by throughput)",
    "floor": "routes to the cheapest providers (sorted by price)",
    "online": "adds web search results to the prompt (billed per result)",
    "thinking": "turns reasoning on where the model supports it",
    "extended": "a longer context window where a provider offers one",
    "exacto": "routes to providers with the most accurate tool calling",
}


def wire_price(raw: Any) -> Decimal | None:
    """USD per token; None when unknown (missing, unparsable or negative, as routers show)."""
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    name: str
    description: str
    author: str
    context_length: int | None
    max_completion_tokens: int | None
    prompt_price: Decimal | None
    completion_price: Decimal | None
    request_price: Decimal | None
    image_price: Decimal | None
    web_search_price: Decimal | None
    cache_read_price: Decimal | None
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    supported_parameters: frozenset[str]
    created: int
    expiration_date: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_router(self) -> bool:
        return self.prompt_price is None or self.completion_price is None

    @property
    def is_free(self) -> bool:
        """Free to call: a `:free` id, or every price known and zero. A router is never free."""
        if self.is_router:
            return False
        if self.id.endswith(":free"):
            return True
        prices = (self.prompt_price, self.completion_price, self.request_price or Decimal(0), self.image_price or Decimal(0))
        return all(p == 0 for p in prices) and "text" in self.output_modalities

    @classmethod
    def from_wire(cls, item: dict[str, Any]) -> ModelInfo:
        arch = item.get("architecture") or {}
        pricing = item.get("pricing") or {}
        top = item.get("top_provider") or {}
        model_id = str(item["id"])
        return cls(
            id=model_id,
            name=str(item.get("name") or model_id),
            description=str(item.get("description") or ""),
            author=model_id.split("/", 1)[0],
            context_length=item.get("context_length") or top.get("context_length"),
            max_completion_tokens=top.get("max_completion_tokens"),
            prompt_price=wire_price(pricing.get("prompt")),
            completion_price=wire_price(pricing.get("completion")),
            request_price=wire_price(pricing.get("request")),
            image_price=wire_price(pricing.get("image")),
            web_search_price=wire_price(pricing.get("web_search")),
            cache_read_price=wire_price(pricing.get("input_cache_read")),
            input_modalities=tuple(arch.get("input_modalities") or ("text",)),
            output_modalities=tuple(arch.get("output_modalities") or ("text",)),
            supported_parameters=frozenset(item.get("supported_parameters") or ()),
            created=int(item.get("created") or 0),
            expiration_date=item.get("expiration_date"),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    models: tuple[ModelInfo, ...]
    by_id: dict[str, ModelInfo]
    fetched_at: float
    stale_reason: str | None = None

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.fetched_at)


def catalog_state(snap: Snapshot) -> dict[str, Any]:
    """The catalog's freshness, as every answer from it reports it."""
    return {"stale": snap.stale_reason is not None, "stale_reason": snap.stale_reason, "catalog_age_s": round(snap.age_s, 1)}


def split_variant(model_id: str) -> tuple[str, str | None]:
    base, sep, variant = model_id.partition(":")
    return (base, variant) if sep else (model_id, None)


_VERSION = re.compile(r"[-.]?(\d[\w.]*|latest|preview|exp|instruct|chat|turbo|mini|pro|flash|\d+b)$")


def family(model_id: str) -> str:
    """A model's family stem, e.g. openai/gpt-4-32k -> openai/gpt: versions and sizes stripped."""
    author, _, slug = split_variant(model_id)[0].partition("/")
    stem = re.split(r"[-.:]?\d", slug, maxsplit=1)[0].rstrip("-.")
    return f"{author}/{stem or slug}"


def closest_variant(name: str) -> str | None:
    """The variant suffix a misspelt one most likely meant (fre -> free), if any is close."""
    import difflib

    close = difflib.get_close_matches(name.lower(), VARIANTS, n=1, cutoff=0.5)
    return close[0] if close else None
