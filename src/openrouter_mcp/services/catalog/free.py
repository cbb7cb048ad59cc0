"""Free models: which ones there are, picking those that fit a request, moving past rate-limited ones
(and remembering their cool-down), per-model metrics, and the account's free quota (20 requests a
minute; 50 a day, or 1000 for accounts that bought 10 credits, as `GET /key` reports). Counters and
metrics live in storage, so they survive restarts and every process sharing the database sees them."""

from __future__ import annotations

import hashlib
import logging
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...errors import ErrorCode, ToolFailure, invalid
from ...upstream import ChatResult
from ..chat import ChatRequest, build_request, run_chat
from ..tokens import estimate_prompt_tokens
from .entries import ModelInfo, Snapshot, split_variant
from .model_info import require_usable, resolve

if TYPE_CHECKING:
    from ...app import App
    from ...storage import Storage

log = logging.getLogger("openrouter_mcp.free")

PER_MINUTE = 20  # OpenRouter's free-model rate limit, requests per minute, account-wide
DAILY_IF_UNPAID = 50  # per UTC day, for accounts that bought less than 10 credits
DAILY_IF_PAID = 1000
KEY_REFRESH_S = 300.0  # how long `GET /key`'s daily counter is trusted before asking again
COOLDOWN_S = 60.0  # a rate-limited model's rest when OpenRouter names no Retry-After
BATCH = 3  # models per request, in OpenRouter's `models` fallback list
MAX_REQUESTS = 3  # requests one free_chat may make before giving up
SAMPLES = 50  # latency and speed samples kept per model

METRICS = "free_metrics"
QUOTA = "free_quota"


@dataclass(frozen=True, slots=True)
class Needs:
    """What a request needs of a model."""

    prompt_tokens: int
    max_tokens: int | None
    parameters: frozenset[str]

    def misfit(self, m: ModelInfo) -> str | None:
        """Why the model cannot serve the request, or None when it can."""
        if "text" not in m.output_modalities or "text" not in m.input_modalities:
            return "does not chat in text"
        missing = sorted(self.parameters - m.supported_parameters)
        if missing:
            return f"does not support {', '.join(missing)}"
        if m.context_length and self.prompt_tokens + (self.max_tokens or 0) > m.context_length:
            return f"its context of {m.context_length} tokens is too small for about {self.prompt_tokens + (self.max_tokens or 0)}"
        return None


def free_models(models: Iterable[ModelInfo]) -> list[ModelInfo]:
    """Free models that chat (`:free` ids, or every price known and zero; never a router), newest first."""
    return sorted((m for m in models if m.is_free), key=lambda m: (-m.created, m.id))


# ---------- per-model metrics ----------


def _now() -> float:
    return time.time()


def iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if ts else None


@dataclass(slots=True)
class ModelStats:
    model: str
    requests: int = 0
    successes: int = 0
    failures: int = 0
    rate_limited: int = 0
    cooldowns: int = 0
    cooldown_until: float | None = None
    cooldown_reason: str | None = None
    latency_ms: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    last_used: float | None = None
    last_error: str | None = None

    @classmethod
    def load(cls, model: str, raw: dict[str, Any] | None) -> ModelStats:
        raw = raw or {}
        return cls(model, **{k: raw[k] for k in cls.__slots__ if k in raw and k != "model"})

    def dump(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if k != "model"}

    def cooling(self, now: float) -> bool:
        return self.cooldown_until is not None and self.cooldown_until > now

    @property
    def success_rate(self) -> float:
        """With one imagined success and failure, so a new model starts at one half."""
        return (self.successes + 1) / (self.successes + self.failures + 2)


async def _record(storage: Storage, model: str, change: Any) -> None:
    def update(raw: dict[str, Any] | None) -> dict[str, Any]:
        stats = ModelStats.load(model, raw)
        stats.requests += 1
        stats.last_used = _now()
        change(stats)
        stats.latency_ms = stats.latency_ms[-SAMPLES:]
        stats.tokens_per_s = stats.tokens_per_s[-SAMPLES:]
        return stats.dump()

    try:
        await storage.kv_update(METRICS, model, update)
    except Exception:  # metrics must never fail the call that produced them
        log.exception("could not record free-model metrics for %s", model)


async def record_success(storage: Storage, model: str, result: ChatResult) -> None:
    def change(s: ModelStats) -> None:
        s.successes += 1
        s.latency_ms.append(round(result.latency_ms, 1))
        gen_s = (result.latency_ms - (result.ttft_ms or 0)) / 1000
        if result.completion_tokens and gen_s > 0:
            s.tokens_per_s.append(round(result.completion_tokens / gen_s, 1))

    await _record(storage, model, change)


async def record_failure(storage: Storage, model: str, error: str, *, cooldown_s: float | None, rate_limited: bool) -> None:
    def change(s: ModelStats) -> None:
        s.failures += 1
        s.last_error = error
        if rate_limited:
            s.rate_limited += 1
        if cooldown_s:
            s.cooldowns += 1
            s.cooldown_until = _now() + cooldown_s
            s.cooldown_reason = error

    await _record(storage, model, change)


async def all_stats(storage: Storage) -> dict[str, ModelStats]:
    return {model: ModelStats.load(model, raw) for model, raw in await storage.kv_list(METRICS)}


# ---------- the account's free quota ----------


@dataclass(slots=True)
class Quota:
    """The account's free-model quota as far as this server knows it."""

    minute: list[float] = field(default_factory=list)  # times of the requests in the last minute
    day: str = ""  # the UTC day `used` counts
    used: int = 0
    daily_limit: int | None = None  # None: GET /key did not say
    key_checked_at: float = 0.0

    @classmethod
    def load(cls, raw: dict[str, Any] | None, now: float) -> Quota:
        q = cls(**{k: raw[k] for k in cls.__slots__ if k in raw}) if raw else cls()
        today = datetime.fromtimestamp(now, UTC).date().isoformat()
        if q.day != today:
            q.day, q.used = today, 0
        q.minute = [t for t in q.minute if now - t < 60]
        return q

    def dump(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def refusal(self, now: float) -> ToolFailure | None:
        """RATE_LIMITED with the reset time when one more request would exceed a known quota."""
        if len(self.minute) >= PER_MINUTE:
            reset = self.minute[0] + 60
            what = f"{PER_MINUTE} free-model requests a minute"
        elif self.daily_limit is not None and self.used >= self.daily_limit:
            reset = _next_midnight(now)
            what = f"{self.daily_limit} free-model requests a day"
            if self.daily_limit <= DAILY_IF_UNPAID:
                what += f" (buying 10 credits raises it to {DAILY_IF_PAID})"
        else:
            return None
        wait = max(0.0, reset - now)
        return ToolFailure(
            ErrorCode.RATE_LIMITED,
            f"The account has used its {what}; the next request is allowed at {iso(reset)} (in {wait:.0f} s). "
            "This request was not sent. Wait, or use chat_completion with a paid model.",
            retry_after_s=round(wait, 1),
            details={"quota": "minute" if len(self.minute) >= PER_MINUTE else "day", "resets_at": iso(reset)},
        )

    def view(self, now: float) -> dict[str, Any]:
        return {
            "per_minute_limit": PER_MINUTE,
            "used_last_minute": len(self.minute),
            "minute_resets_at": iso(self.minute[0] + 60) if self.minute else None,
            "daily_limit": self.daily_limit,
            "daily_limit_source": "GET /key" if self.daily_limit is not None else None,
            "used_today": self.used,
            "remaining_today": max(0, self.daily_limit - self.used) if self.daily_limit is not None else None,
            "day_resets_at": iso(_next_midnight(now)),
        }


def _next_midnight(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


def _account(app: App) -> str:
    """The quota's key: the account's key, hashed (quotas are per account, and the key never goes to storage)."""
    key = app.settings.api_key.get() if app.settings.api_key else ""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


async def quota(app: App, *, refresh: bool = False) -> Quota:
    """The quota now, with the daily limit and count from `GET /key` when they are older than KEY_REFRESH_S."""
    storage = await app.storage()
    account = _account(app)
    now = _now()
    current = Quota.load(await storage.kv_get(QUOTA, account), now)
    if not refresh and now - current.key_checked_at < KEY_REFRESH_S:
        return current
    try:
        from ...upstream.account import key_info

        data = await key_info(app.gateway)
    except ToolFailure as failure:
        log.info("GET /key failed (%s); the daily free quota stays as last known", failure.code.value)
        return current
    daily = data.get("free_model_daily_requests")
    limit = daily.get("limit") if isinstance(daily, dict) else None
    used = daily.get("used") if isinstance(daily, dict) else None

    def update(raw: dict[str, Any] | None) -> dict[str, Any]:
        q = Quota.load(raw, _now())
        q.key_checked_at = _now()
        if isinstance(limit, int) and limit >= 0:
            q.daily_limit = limit
        if isinstance(used, int):
            q.used = max(q.used, used)  # OpenRouter's count includes requests other clients made
        return q.dump()

    return Quota.load(await storage.kv_update(QUOTA, account, update), _now())


async def take_request(app: App) -> Quota:
    """Count one free-model request against the quota, or raise RATE_LIMITED (with the reset time) if it
    would exceed a known limit. Atomic across processes sharing the database."""
    storage = await app.storage()

    def update(raw: dict[str, Any] | None) -> dict[str, Any]:
        now = _now()
        q = Quota.load(raw, now)
        if (refused := q.refusal(now)) is not None:
            raise refused
        q.minute.append(now)
        q.used += 1
        return q.dump()

    return Quota.load(await storage.kv_update(QUOTA, _account(app), update), _now())


# ---------- free_chat ----------


@dataclass(slots=True)
class FreeChat:
    request: ChatRequest
    result: ChatResult
    model: str  # the free model that answered
    tried: list[str]
    skipped: list[dict[str, Any]]
    quota: Quota


def _messages(message: str, system: str | None) -> list[dict[str, Any]]:
    if not message.strip():
        raise invalid("message", "is empty", "Write the message to send")
    out = [{"role": "system", "content": system}] if system and system.strip() else []
    return [*out, {"role": "user", "content": message}]


async def choose(app: App, snap: Snapshot, needs: Needs, model: str | None, fallback: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """The free models to try, best first, and those passed over (with why)."""
    storage = await app.storage()
    stats = await all_stats(storage)
    now = _now()
    skipped: list[dict[str, Any]] = []
    order: list[str] = []
    if model is not None:
        res, _ = await resolve(app.catalog, model)
        info = require_usable(res)
        if not info.is_free and (variant := snap.by_id.get(f"{split_variant(info.id)[0]}:free")) is not None:
            info = variant  # the model's own free variant
        if not info.is_free:
            free = [m.id for m in free_models(snap.models)][:5]
            raise ToolFailure(
                ErrorCode.INVALID_INPUT,
                f"model: {info.id} is not free. Use chat_completion for paid models, or pick a free one"
                + (f", such as {', '.join(free)}" if free else "")
                + " (list_free_models lists them).",
                suggestions=free,
                details={"field": "model"},
            )
        if (why := needs.misfit(info)) is not None:
            raise invalid("model", f"{info.id} {why}", "Pick another free model (list_free_models), or leave model out")
        order.append(info.id)
    pool: list[ModelInfo] = []
    if fallback or model is None:
        for m in free_models(snap.models):
            if m.id not in order and needs.misfit(m) is None:
                pool.append(m)
        pool.sort(key=lambda m: (-round(stats.get(m.id, ModelStats(m.id)).success_rate, 1), -m.created, m.id))
        order += [m.id for m in pool]
    ready = []
    for model_id in order:
        s = stats.get(model_id)
        if s is not None and s.cooling(now):
            skipped.append({"model": model_id, "reason": f"cooling down: {s.cooldown_reason}", "until": iso(s.cooldown_until)})
        else:
            ready.append(model_id)
    if not ready:
        if skipped:
            until = min(stats[s["model"]].cooldown_until or now for s in skipped)
            wait = max(0.0, until - now)
            which = f"{order[0]} is" if len(order) == 1 else "Every free model that fits is"
            raise ToolFailure(
                ErrorCode.RATE_LIMITED,
                f"{which} cooling down after a rate limit, until {iso(until)} (in {wait:.0f} s). Nothing was sent."
                + ("" if fallback else " Pass fallback=true to let another free model answer."),
                retry_after_s=round(wait, 1),
                details={"skipped": skipped, "resets_at": iso(until)},
            )
        raise invalid("message", "no free model fits this request", "Shorten the message, lower max_tokens, or drop options the free models lack")
    return ready, skipped


def _answered(result: ChatResult, batch: list[str]) -> int:
    """Which model of the fallback list answered (OpenRouter may drop the :free suffix)."""
    if result.model in batch:
        return batch.index(result.model)
    base = split_variant(result.model or "")[0]
    return next((i for i, m in enumerate(batch) if split_variant(m)[0] == base), 0)


async def free_chat(
    app: App,
    *,
    message: str,
    model: str | None = None,
    system: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    fallback: bool = True,
) -> FreeChat:
    """Chat with a free model that fits, falling back past rate-limited ones, within the known quota."""
    messages = _messages(message, system)
    params = {"max_tokens"} if max_tokens is not None else set()
    if temperature is not None:
        params.add("temperature")
    needs = Needs(estimate_prompt_tokens(messages), max_tokens, frozenset(params))
    snap = await app.catalog.snapshot()
    ready, skipped = await choose(app, snap, needs, model, fallback)
    storage = await app.storage()
    await quota(app)
    tried: list[str] = []
    last: ToolFailure | None = None
    for _ in range(MAX_REQUESTS):
        batch, ready = ready[:BATCH], ready[BATCH:]
        if not batch:
            break
        current = await take_request(app)
        args: dict[str, Any] = {"messages": messages, "model": batch[0], "max_tokens": max_tokens, "temperature": temperature}
        if len(batch) > 1:
            args["models"] = batch
        request = build_request(args, app.settings)
        try:
            result = await run_chat(app, request.body, tool="free_chat", retry_rate_limited=False, stream=True)  # its speed stats need the first token's time
        except ToolFailure as failure:
            tried += batch
            if failure.code is not ErrorCode.RATE_LIMITED:
                await record_failure(storage, batch[0], failure.code.value, cooldown_s=None, rate_limited=False)
                raise
            rest = failure.retry_after_s or COOLDOWN_S
            for m in batch:
                await record_failure(storage, m, "rate-limited (429)", cooldown_s=rest, rate_limited=True)
            last = failure
            continue
        at = _answered(result, batch)
        for passed in batch[:at]:
            # OpenRouter's fallback only moves on when a model is rate-limited or down: rest it a while.
            await record_failure(storage, passed, "passed over by OpenRouter's fallback (rate-limited or down)", cooldown_s=COOLDOWN_S, rate_limited=False)
        await record_success(storage, batch[at], result)
        return FreeChat(request, result, batch[at], [*tried, *batch[: at + 1]], skipped, current)
    assert last is not None
    raise ToolFailure(
        ErrorCode.RATE_LIMITED,
        f"Every free model tried ({', '.join(tried)}) is rate-limited upstream; each rests for {last.retry_after_s or COOLDOWN_S:g} s. "
        "Try again later, or use chat_completion with a paid model.",
        retry_after_s=last.retry_after_s or COOLDOWN_S,
        details={"tried": tried},
    )


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
