"""The model catalog: OpenRouter's `GET /models` (every output modality), kept in memory and on disk with a
TTL. Concurrent callers share one refresh; a failed refresh serves the last good copy and says so; a
fresh copy on disk means a cold start makes no network call. Capabilities come from the data, never
from the id; prices stay exact (Decimal, USD per token)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ErrorCode, ToolFailure

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("openrouter_mcp.catalog")

VARIANTS: dict[str, str] = {
    "free": "the free variant: no charge, shared rate limits (20 requests/min; 50 or 1000 a day)",
    "nitro": "routes to the fastest providers (sorted by throughput)",
    "floor": "routes to the cheapest providers (sorted by price)",
    "online": "adds web search results to the prompt (billed per result)",
    "thinking": "turns reasoning on where the model supports it",
    "extended": "a longer context window where a provider offers one",
    "exacto": "routes to providers with the most accurate tool calling",
}


def _price(raw: Any) -> Decimal | None:
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
        if self.id.endswith(":free"):
            return True
        prices = (self.prompt_price, self.completion_price, self.request_price or Decimal(0), self.image_price or Decimal(0))
        return not self.is_router and all(p == 0 for p in prices) and "text" in self.output_modalities

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
            prompt_price=_price(pricing.get("prompt")),
            completion_price=_price(pricing.get("completion")),
            request_price=_price(pricing.get("request")),
            image_price=_price(pricing.get("image")),
            web_search_price=_price(pricing.get("web_search")),
            cache_read_price=_price(pricing.get("input_cache_read")),
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


def split_variant(model_id: str) -> tuple[str, str | None]:
    base, sep, variant = model_id.partition(":")
    return (base, variant) if sep else (model_id, None)


_VERSION = re.compile(r"[-.]?(\d[\w.]*|latest|preview|exp|instruct|chat|turbo|mini|pro|flash|\d+b)$")


def family(model_id: str) -> str:
    """A model's family stem, e.g. openai/gpt-4-32k -> openai/gpt: versions and sizes stripped."""
    author, _, slug = split_variant(model_id)[0].partition("/")
    stem = re.split(r"[-.:]?\d", slug, maxsplit=1)[0].rstrip("-.")
    return f"{author}/{stem or slug}"


class Catalog:
    def __init__(self, app: App) -> None:
        self._app = app
        self._snapshot: Snapshot | None = None
        self._refresh: asyncio.Task[Snapshot] | None = None

    @property
    def _path(self) -> Path:
        return self._app.settings.home / "cache" / "models.json"

    @property
    def _ttl_s(self) -> float:
        return self._app.settings.catalog_ttl_s

    async def snapshot(self) -> Snapshot:
        """The catalog, refreshed when older than the TTL. Many callers at once share one refresh."""
        snap = self._snapshot
        if snap is None:
            snap = self._snapshot = await asyncio.to_thread(self._load_disk)
        if snap is not None and snap.age_s < self._ttl_s:
            return snap
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._fetch(snap))
        return await asyncio.shield(self._refresh)

    async def models(self) -> tuple[ModelInfo, ...]:
        return (await self.snapshot()).models

    async def _fetch(self, previous: Snapshot | None) -> Snapshot:
        try:
            items: list[dict[str, Any]] = []
            params: dict[str, Any] | None = {"output_modalities": "all"}
            path = "models"
            while True:
                page = await self._app.gateway.get_json(path, params)
                items.extend(page.get("data") or [])
                nxt = (page.get("links") or {}).get("next")
                if not nxt or len(items) >= int(page.get("total_count") or 0):
                    break
                path, params = nxt.split("/api/v1/", 1)[-1], None
        except ToolFailure as failure:
            if previous is None:
                raise
            log.warning("catalog refresh failed (%s); serving the copy from %.0f s ago", failure.code.value, previous.age_s)
            stale = Snapshot(previous.models, previous.by_id, previous.fetched_at, stale_reason=f"refresh failed: {failure.message}")
            self._snapshot = stale
            return stale
        models = tuple(ModelInfo.from_wire(item) for item in items if isinstance(item, dict) and item.get("id"))
        snap = Snapshot(models, {m.id: m for m in models}, time.time())
        self._snapshot = snap
        await asyncio.to_thread(self._save_disk, items, snap.fetched_at)
        return snap

    def _load_disk(self) -> Snapshot | None:
        try:
            stored = json.loads(self._path.read_text())
            models = tuple(ModelInfo.from_wire(item) for item in stored["data"])
            return Snapshot(models, {m.id: m for m in models}, float(stored["fetched_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_disk(self, items: list[dict[str, Any]], fetched_at: float) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"fetched_at": fetched_at, "base_url": self._app.settings.base_url, "data": items}))
            os.replace(tmp, self._path)  # atomic: other processes never read half a file
        except OSError as exc:
            log.warning("could not save the catalog cache: %s", exc)

    async def get(self, model_id: str) -> ModelInfo | None:
        """The model an id names; a variant (`:nitro`, ...) resolves to its base model unless it is listed itself."""
        snap = await self.snapshot()
        if (info := snap.by_id.get(model_id)) is not None:
            return info
        base, variant = split_variant(model_id)
        if variant in VARIANTS and variant != "free":
            return snap.by_id.get(base)
        if model_id.startswith("sim/") and "sim/instant" in snap.by_id:
            return snap.by_id["sim/instant"]  # the simulator's parametrised fault ids (sim/slow-<N>s, ...)
        return None

    async def require(self, model_id: str) -> ModelInfo:
        """The model, or MODEL_NOT_FOUND with the closest ids, before anything is spent."""
        info = await self.get(model_id)
        if info is not None:
            return info
        suggestions = await self.suggest(model_id)
        message = f"model {model_id!r} is not in OpenRouter's catalog."
        if suggestions:
            message += f" Did you mean {suggestions[0]}?"
        message += " Check ids with search_models or validate_model."
        raise ToolFailure(ErrorCode.MODEL_NOT_FOUND, message, suggestions=suggestions, details={"field": "model", "model": model_id})

    async def suggest(self, model_id: str, limit: int = 5) -> list[str]:
        """Up to `limit` current ids closest to `model_id`. A near-miss spelling comes first (a typo); when
        nothing is spelled alike, the newest models of the same family lead (a retired model's successor)."""
        import difflib

        snap = await self.snapshot()
        base, variant = split_variant(model_id.strip().lower())
        ids = [m.id for m in snap.models if ":" not in m.id]
        scored = sorted(((difflib.SequenceMatcher(None, base, i).ratio(), i) for i in ids), reverse=True)
        spelled = [i for ratio, i in scored[:limit] if ratio >= 0.6]
        fam = family(base)
        same_family = [m.id for m in sorted(snap.models, key=lambda m: -m.created) if family(m.id) == fam and ":" not in m.id][:2]
        typo = bool(scored) and scored[0][0] >= 0.85
        ordered = [*spelled, *same_family] if typo else [*same_family, *spelled]
        out: list[str] = []
        for candidate in ordered:
            if variant and f"{candidate}:{variant}" in snap.by_id:
                candidate = f"{candidate}:{variant}"
            if candidate not in out:
                out.append(candidate)
        return out[:limit]

    async def worst_prices(self, info: ModelInfo) -> tuple[Decimal, Decimal]:
        """Per-token prompt and completion prices for a budget check: a router's unknown price is the
        dearest in the catalog, since it may route anywhere."""
        if not info.is_router:
            return info.prompt_price or Decimal(0), info.completion_price or Decimal(0)
        models = await self.models()
        prompt = max((m.prompt_price for m in models if m.prompt_price is not None), default=Decimal(0))
        completion = max((m.completion_price for m in models if m.completion_price is not None), default=Decimal(0))
        return prompt, completion
