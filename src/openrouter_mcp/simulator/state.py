"""One simulator instance's state: the generations it billed, its usage and request log, the keys it
accepts, and the model lookup every route shares."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from . import lineup
from .faults import fault_for

MANAGEMENT_KEY_PREFIX = "sk-or-mgmt-"
INVALID_KEY_PREFIX = "sk-or-invalid"
FREE_TIER_MARK = "free-tier"  # a key containing this belongs to an account that never bought credits

# The API key of the request being answered (set by `keys.KeyGuard` for every request), so that what a
# request bills counts against its own key's limit, even when it is billed later (a video job).
REQUEST_KEY: ContextVar[str | None] = ContextVar("simulator_request_key", default=None)


@dataclass
class Generation:
    id: str
    model: str
    provider: str
    created_at: float
    streamed: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    search_results: int = 0
    cost: Decimal = Decimal(0)
    finish_reason: str | None = None
    cancelled: bool = False
    latency_ms: float = 0.0
    generation_ms: float = 0.0


@dataclass
class SimState:
    generations: dict[str, Generation] = field(default_factory=dict)
    usage_usd: Decimal = Decimal(0)
    requests: list[dict[str, Any]] = field(default_factory=list)
    seen_bodies: Counter[str] = field(default_factory=Counter)
    seen_prefixes: set[str] = field(default_factory=set)
    key_limit_usd: Decimal | None = None
    free_requests: Counter[str] = field(default_factory=Counter)  # per key, for the daily free-model quota
    key_usage_usd: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))  # spend per API key
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, request: Request, **extra: Any) -> None:
        with self.lock:
            self.requests.append({"t": time.time(), "method": request.method, "path": request.url.path, "query": str(request.url.query), **extra})

    def attempt(self, body_key: str) -> int:
        """Count one more request with this body and say which it is (1 for the first): the "once" fault
        models fail only the first."""
        with self.lock:
            self.seen_bodies[body_key] += 1
            return self.seen_bodies[body_key]

    def bill(self, gen: Generation) -> None:
        with self.lock:
            self.generations[gen.id] = gen
            self.usage_usd += gen.cost
            if (key := REQUEST_KEY.get()) is not None:
                self.key_usage_usd[key] += gen.cost


class Simulator:
    """The state of one simulator instance, its model list and the lookups its routes share."""

    def __init__(self) -> None:
        self.state = SimState()
        self._models = lineup.models()
        self._by_id = {m["id"]: m for m in self._models}

    # ---------- lookup ----------
    def model(self, model_id: str) -> dict[str, Any] | None:
        if model_id in self._by_id:
            return self._by_id[model_id]
        base, sep, variant = model_id.partition(":")
        if sep and variant in ("free", "nitro", "floor", "online", "thinking", "extended", "exacto") and base in self._by_id:
            return self._by_id[base]
        if fault_for(model_id) is not None:
            return self._by_id["sim/instant"]
        return None

    def _authorized(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        key = auth[7:].strip()
        # A key that says it is invalid is refused like an unknown key upstream.
        return key if key and not key.startswith(INVALID_KEY_PREFIX) else None


def free_daily_limit(key: str) -> int:
    """50 free-model requests a day for accounts that never bought 10 credits (keys containing
    FREE_TIER_MARK here), 1000 for the others."""
    return 50 if FREE_TIER_MARK in key else 1000
