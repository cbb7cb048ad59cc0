"""The model catalog: OpenRouter's `GET /models` (every output modality), kept in memory and on disk with a
TTL. Concurrent callers share one refresh; a failed refresh serves the last good copy and says so; a
fresh copy on disk means a cold start makes no network call. Capabilities come from the data, never
from the id; prices stay exact (Decimal, USD per token)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ...errors import ToolFailure
from .entries import VARIANTS, ModelInfo, Snapshot, split_variant
from .model_info import require_usable, resolve
from .search import SearchIndex

if TYPE_CHECKING:
    from ...core.context import Core

log = logging.getLogger("openrouter_mcp.catalog")

# A caller holding an expired copy waits this long for a refresh, then gets the old copy while the refresh
# goes on; after a failed refresh, the old copy is served without asking again for this long.
STALE_WAIT_S = 5.0
RETRY_REFRESH_S = 30.0


class Catalog:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._snapshot: Snapshot | None = None
        self._refresh: asyncio.Task[Snapshot] | None = None
        self._loading: asyncio.Future[Snapshot | None] | None = None
        self._failed_at = -RETRY_REFRESH_S
        self._index: tuple[tuple[ModelInfo, ...], SearchIndex] | None = None
        self._dearest: tuple[tuple[ModelInfo, ...], tuple[Decimal, Decimal]] | None = None

    @property
    def _path(self) -> Path:
        return self._core.settings.home / "cache" / "models.json"

    @property
    def _ttl_s(self) -> float:
        return self._core.settings.catalog_ttl_s

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
                page = await self._core.gateway.get_json(path, params)
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
            stored = orjson.loads(self._path.read_bytes())  # from the bytes: no decoded copy of the file
            if stored.get("base_url") != self._core.settings.base_url:
                return None  # another API's catalog (the simulator's, say): never mix them
            models = tuple(ModelInfo.from_wire(item) for item in stored["data"])
            return Snapshot(models, {m.id: m for m in models}, float(stored["fetched_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_disk(self, items: list[dict[str, Any]], fetched_at: float) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(orjson.dumps({"fetched_at": fetched_at, "base_url": self._core.settings.base_url, "data": items}))
            os.replace(tmp, self._path)  # atomic: other processes never read half a file
        except (OSError, TypeError) as exc:  # TypeError: what orjson cannot write (an integer past 64 bits)
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
        return require_usable((await resolve(self, model_id))[0])

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
