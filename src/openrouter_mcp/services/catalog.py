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

from ..errors import ToolFailure
from .retired import successor

if TYPE_CHECKING:
    from ..app import App
    from .search import SearchIndex

log = logging.getLogger("openrouter_mcp.catalog")

# A caller holding an expired copy waits this long for a refresh, then gets the old copy while the refresh
# goes on; after a failed refresh, the old copy is served without asking again for this long.
STALE_WAIT_S = 5.0
RETRY_REFRESH_S = 30.0

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


class Catalog:
    def __init__(self, app: App) -> None:
        self._app = app
        self._snapshot: Snapshot | None = None
        self._refresh: asyncio.Task[Snapshot] | None = None
        self._loading: asyncio.Future[Snapshot | None] | None = None
        self._failed_at = -RETRY_REFRESH_S
        self._index: tuple[tuple[ModelInfo, ...], SearchIndex] | None = None
        self._dearest: tuple[tuple[ModelInfo, ...], tuple[Decimal, Decimal]] | None = None

    @property
    def _path(self) -> Path:
        return self._app.settings.home / "cache" / "models.json"

    @property
    def _ttl_s(self) -> float:
        return self._app.settings.catalog_ttl_s

    async def snapshot(self) -> Snapshot:
        """The catalog, refreshed when older than the TTL. Many callers at once share one refresh; a caller
        that already has a copy waits at most STALE_WAIT_S for it, then gets the old copy marked stale."""
        snap = self._snapshot
        if snap is None:
            # One disk read for everyone waiting at a cold start; and a copy that a refresh stored in the
            # meantime is newer than the disk's, so it is kept.
            if self._loading is None:
                self._loading = asyncio.ensure_future(asyncio.to_thread(self._load_disk))
            loaded = await asyncio.shield(self._loading)
            snap = self._snapshot = self._snapshot or loaded
        if snap is not None and (snap.age_s < self._ttl_s or time.monotonic() - self._failed_at < RETRY_REFRESH_S):
            return snap
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._fetch(snap))
        if snap is None:
            return await asyncio.shield(self._refresh)
        try:
            return await asyncio.wait_for(asyncio.shield(self._refresh), STALE_WAIT_S)
        except TimeoutError:
            return Snapshot(snap.models, snap.by_id, snap.fetched_at, stale_reason=f"OpenRouter has not answered a refresh within {STALE_WAIT_S:g} s")

    async def index(self) -> tuple[SearchIndex, Snapshot]:
        """The search index of the current snapshot, built once per snapshot."""
        snap = await self.snapshot()
        return self._index_for(snap), snap

    def _index_for(self, snap: Snapshot) -> SearchIndex:
        cached = self._index
        if cached is not None and cached[0] is snap.models:
            return cached[1]
        from .search import SearchIndex

        index = SearchIndex(snap.models)
        self._index = (snap.models, index)
        return index

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
            self._failed_at = time.monotonic()
            return stale
        models = tuple(ModelInfo.from_wire(item) for item in items if isinstance(item, dict) and item.get("id"))
        snap = Snapshot(models, {m.id: m for m in models}, time.time())
        self._snapshot = snap
        await asyncio.to_thread(self._save_disk, items, snap.fetched_at)
        return snap

    def _load_disk(self) -> Snapshot | None:
        try:
            stored = json.loads(self._path.read_text())
            if stored.get("base_url") != self._app.settings.base_url:
                return None  # another API's catalog (the simulator's, say): never mix them
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
        """The model, or MODEL_NOT_FOUND saying why (retired, mistyped, no such variant) with the closest
        ids, before anything is spent."""
        info = await self.get(model_id)
        if info is not None:
            return info
        from .model_info import require_usable, resolve

        return require_usable((await resolve(self._app, model_id))[0])

    async def worst_prices(self, info: ModelInfo) -> tuple[Decimal, Decimal]:
        """Per-token prompt and completion prices for a budget check: a router's unknown price is the
        dearest in the catalog, since it may route anywhere."""
        if not info.is_router:
            return info.prompt_price or Decimal(0), info.completion_price or Decimal(0)
        models = await self.models()
        cached = self._dearest
        if cached is None or cached[0] is not models:  # worked out once per snapshot
            prompt = max((m.prompt_price for m in models if m.prompt_price is not None), default=Decimal(0))
            completion = max((m.completion_price for m in models if m.completion_price is not None), default=Decimal(0))
            cached = self._dearest = (models, (prompt, completion))
        return cached[1]


def suggestions(index: SearchIndex, snap: Snapshot, model_id: str, limit: int = 5) -> list[str]:
    """Up to `limit` current ids closest to a model id that is not in the catalog: a retired id's successor
    first; then a near-miss spelling (a typo); when nothing is spelled alike, the same family's closest
    members lead."""
    import difflib

    base, variant = split_variant(model_id.strip().lower())
    if variant is not None and variant not in VARIANTS:
        variant = closest_variant(variant)
    replacement = successor(base, snap.by_id)
    author, slash, slug = base.partition("/")
    pool = index.best_matches(base if slash else slug or author, 40) + index.slugs.get(base if not slash else slug, [])
    if slash:
        pool += index.of_author(author)
    compare = base if slash else author
    ids = dict.fromkeys(index.models[i].id for i in pool if ":" not in index.models[i].id)
    scored = sorted(((difflib.SequenceMatcher(None, compare, i.lower() if slash else i.partition("/")[2]).ratio(), i) for i in ids), key=lambda x: -x[0])
    spelled = [i for ratio, i in scored[:limit] if ratio >= 0.6]
    # A family of its own, or else (a retired line such as PaLM) its successor's.
    kin = [index.models[i].id for i in family_members(index, base) or family_members(index, replacement or "")][:2]
    typo = bool(scored) and scored[0][0] >= 0.85
    listed = [base] if base in snap.by_id else []
    ordered = listed + ([replacement] if replacement else []) + ([*spelled, *kin] if typo else [*kin, *spelled])
    out: list[str] = []
    for candidate in ordered:
        if variant and (variant != "free" or f"{candidate}:{variant}" in snap.by_id):
            candidate = f"{candidate}:{variant}"
        if candidate not in out and candidate.lower() != model_id.strip().lower():
            out.append(candidate)
    return out[:limit]


def family_members(index: SearchIndex, base: str) -> list[int]:
    """Current models of the id's family (author and name stem), those sharing its role words (sonnet,
    flash, mini, ...) first, then those that write text, then the newest."""
    words = {w for w in re.findall(r"[a-z]+", base.partition("/")[2]) if len(w) > 1}
    stem = set(re.findall(r"[a-z]+", family(base).partition("/")[2]))
    roles = words - stem

    def rank(i: int) -> tuple[int, int, int]:
        m = index.models[i]
        shared = len(roles & set(re.findall(r"[a-z]+", m.id.partition("/")[2])))
        return (-shared, 0 if "text" in m.output_modalities else 1, -m.created)

    members = [i for i in index.families.get(family(base), []) if ":" not in index.models[i].id]
    return sorted(members, key=rank)


def closest_variant(name: str) -> str | None:
    """The variant suffix a misspelt one most likely meant (fre -> free), if any is close."""
    import difflib

    close = difflib.get_close_matches(name.lower(), VARIANTS, n=1, cutoff=0.5)
    return close[0] if close else None
