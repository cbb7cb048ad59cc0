"""The offline OpenRouter: a real HTTP server that answers `/api/v1/...` in OpenRouter's wire format,
bills every generation, keeps a request log, and injects faults on request (see `faults.py`).

Start it in-process with `start_in_thread()` (tests, `serve --simulate`, `demo`) or alone with
`openrouter-mcp simulate`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import catalog, embeddings, media, quiz
from .faults import FAULT_MODELS, Fault, fault_for
from .replies import citations, json_reply, message_text, reasoning_text, reply_text, stable_int, tool_arguments

MANAGEMENT_KEY_PREFIX = "sk-or-mgmt-"
INVALID_KEY_PREFIX = "sk-or-invalid"
FREE_TIER_MARK = "free-tier"  # a key containing this belongs to an account that never bought credits
_EFFORT_WORDS = {"minimal": 8, "low": 16, "medium": 32, "high": 64, "xhigh": 96}
_WEB_RESULT_PRICE = Decimal("0.004")


def _error(status: int, message: str, metadata: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": status, "message": message}}
    if metadata:
        body["error"]["metadata"] = metadata
    return JSONResponse(body, status_code=status, headers=headers)


def _fault_catalog() -> list[dict[str, Any]]:
    base = catalog.find("openai/gpt-4o-mini")
    assert base is not None
    out = []
    for model_id, description in FAULT_MODELS.items():
        item = json.loads(json.dumps(base))
        item.update(
            id=model_id,
            canonical_slug=model_id,
            name=f"Simulator: {model_id.removeprefix('sim/')}",
            description=description,
            links={"details": f"/api/v1/models/{model_id}/endpoints"},
        )
        if model_id == "sim/reasoning-length":
            item["supported_parameters"] = sorted(set(item["supported_parameters"]) | {"reasoning", "include_reasoning"})
        if model_id.endswith(":free"):
            item["pricing"] = {key: "0" for key in item["pricing"]}
            item["name"] += " (free)"
        out.append(item)
    return out


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
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, request: Request, **extra: Any) -> None:
        with self.lock:
            self.requests.append(
                {"t": time.time(), "method": request.method, "path": request.url.path, "query": str(request.url.query), **extra}
            )

    def bill(self, gen: Generation) -> None:
        with self.lock:
            self.generations[gen.id] = gen
            self.usage_usd += gen.cost


def _price(model: dict[str, Any], key: str) -> Decimal:
    raw = (model.get("pricing") or {}).get(key) or "0"
    value = Decimal(str(raw))
    return value if value > 0 else Decimal(0)


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    chars = 0
    for m in messages:
        content = m.get("content")
        chars += len(message_text(content)) + 8
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "input_audio", "file", "video_url"):
                    chars += 1000  # a media part costs tokens whatever its size here
    return max(1, math.ceil(chars / 4))


class Simulator:
    """The state and request handlers of one simulator instance."""

    def __init__(self) -> None:
        self.state = SimState()
        self._models = catalog.build_catalog() + catalog.paced_models() + _fault_catalog() + quiz.catalog_items(catalog.find("openai/gpt-4o-mini") or {})
        self._models += media.catalog_items(catalog.find("google/veo-3.1-fast") or {})
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

    # ---------- routes ----------
    async def list_models(self, request: Request) -> Response:
        self.state.log(request)
        wanted = request.query_params.get("output_modalities", "text")
        params = request.query_params.get("supported_parameters")
        models = self._models
        if wanted != "all":
            want = {w.strip() for w in wanted.split(",")}
            models = [m for m in models if want & set(m["architecture"]["output_modalities"])]
        if params:
            need = {p.strip() for p in params.split(",")}
            models = [m for m in models if need <= set(m.get("supported_parameters") or [])]
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
            limit = min(1000, max(1, int(request.query_params.get("limit", "1000"))))
        except ValueError:
            return _error(400, "offset and limit must be whole numbers")
        page = models[offset : offset + limit]
        more = offset + limit < len(models)
        query = "&".join(f"{k}={v}" for k, v in request.query_params.items() if k not in ("offset", "limit"))
        next_link = f"/api/v1/models?{query + '&' if query else ''}offset={offset + limit}&limit={limit}" if more else None
        return JSONResponse({"data": page, "links": {"next": next_link}, "total_count": len(models)})

    async def endpoints(self, request: Request) -> Response:
        model_id = f"{request.path_params['author']}/{request.path_params['slug']}"
        self.state.log(request, model=model_id)
        data = catalog.endpoints_for(model_id)
        if data is None and quiz.handles(model_id) and model_id in self._by_id:
            data = quiz.endpoints_for(self._by_id[model_id], (catalog.endpoints_for("openai/gpt-4o-mini") or {})["endpoints"][0])
        if data is None:
            return _error(404, f"No endpoints found for {model_id}.")
        return JSONResponse({"data": data})

    async def generation(self, request: Request) -> Response:
        self.state.log(request)
        if not self._authorized(request):
            return _error(401, "No auth credentials found")
        gen = self.state.generations.get(request.query_params.get("id", ""))
        if gen is None:
            return _error(404, "Generation not found")
        return JSONResponse({"data": _generation_wire(gen)})

    async def key(self, request: Request) -> Response:
        self.state.log(request)
        key = self._authorized(request)
        if not key:
            return _error(401, "No auth credentials found")
        usage = float(self.state.usage_usd)
        limit = self.state.key_limit_usd
        data = _key_wire(key, usage, limit)
        free_limit = _free_daily_limit(key)
        free_used = self.state.free_requests[key]
        data["free_model_daily_requests"] = {"limit": free_limit, "remaining": max(0, free_limit - free_used), "used": free_used, "resets_at": None}
        data["is_free_tier"] = FREE_TIER_MARK in key
        return JSONResponse({"data": data})

    async def credits(self, request: Request) -> Response:
        self.state.log(request)
        key = self._authorized(request)
        if not key:
            return _error(401, "No auth credentials found")
        if not key.startswith(MANAGEMENT_KEY_PREFIX):
            return _error(403, "Only management keys can fetch credits")
        return JSONResponse({"data": {"total_credits": 100.0, "total_usage": float(self.state.usage_usd)}})

    async def requests_log(self, request: Request) -> Response:
        with self.state.lock:
            return JSONResponse({"data": list(self.state.requests), "usage_usd": str(self.state.usage_usd)})

    async def generations_log(self, request: Request) -> Response:
        with self.state.lock:
            gens = [{"id": g.id, "model": g.model, "cost": str(g.cost), "cancelled": g.cancelled, "finish_reason": g.finish_reason} for g in self.state.generations.values()]
            return JSONResponse({"data": gens, "usage_usd": str(self.state.usage_usd)})

    async def reset(self, request: Request) -> Response:
        body = await request.json() if (await request.body()) else {}
        with self.state.lock:
            self.state.requests.clear()
            self.state.seen_bodies.clear()
            if "key_limit_usd" in body:
                limit = body["key_limit_usd"]
                self.state.key_limit_usd = None if limit is None else Decimal(str(limit))
        return JSONResponse({"ok": True})

    async def chat(self, request: Request) -> Response:
        try:
            raw, blobs = await media.read_body(request)
        except ClientDisconnect:
            return Response(status_code=499)  # the client gave up before sending the whole request
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self.state.log(request, model=None)
            return _error(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object")
        candidates = [body["model"]] if isinstance(body.get("model"), str) else []
        candidates += [m for m in body.get("models") or [] if isinstance(m, str) and m not in candidates]
        self.state.log(request, model=candidates[0] if candidates else None, models=candidates, body=body, media=blobs)
        if not (key := self._authorized(request)):
            return _error(401, "User not found.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "messages: expected a non-empty array")
        if not candidates:
            return _error(400, "No model specified")
        if any(m.endswith(":free") for m in candidates) and (refused := self._take_free(key)) is not None:
            return refused
        body_key = raw.decode("utf-8", "replace")
        with self.state.lock:
            self.state.seen_bodies[body_key] += 1
            attempt = self.state.seen_bodies[body_key]

        last_error: Response | None = None
        for model_id in candidates:
            model = self.model(model_id)
            if model is None:
                last_error = _error(404, f"No endpoints found for {model_id}.")
                continue
            fault = fault_for(model_id)
            failure = _request_fault(fault, attempt)
            if failure is not None:
                last_error = failure
                # Only availability failures move on to the next fallback model, as OpenRouter does.
                if failure.status_code in (429, 502, 503, 500, 408) and model_id != candidates[-1]:
                    continue
                return failure
            provider = self._route(model_id, body.get("provider") or {}, body)
            if provider is None:
                last_error = _error(503, "No endpoints found matching your provider constraints for " + model_id)
                continue
            return await self._complete(model_id, model, provider, body, fault)
        assert last_error is not None
        return last_error

    def _take_free(self, key: str) -> Response | None:
        """Count a request to free models against the key's daily free quota (per simulator run), as
        OpenRouter does, and refuse it with 429 once the quota is used up."""
        limit = _free_daily_limit(key)
        with self.state.lock:
            used = self.state.free_requests[key]
            if used >= limit:
                headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"}
                return _error(429, "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day", None, headers)
            self.state.free_requests[key] = used + 1
        return None

    # ---------- routing ----------
    def _route(self, model_id: str, prefs: dict[str, Any], body: dict[str, Any]) -> str | None:
        base = model_id.split(":", 1)[0]
        info = catalog.endpoints_for(base)
        if info is None:
            return str(catalog.behaviour(base)["provider"])
        eps = list(info["endpoints"])

        def slug(ep: dict[str, Any]) -> set[str]:
            name = str(ep.get("provider_name", ""))
            return {name.lower(), name.lower().replace(" ", "-"), str(ep.get("tag", "")).lower().split("/")[0]}

        if only := prefs.get("only"):
            allowed = {str(x).lower() for x in only}
            eps = [e for e in eps if slug(e) & allowed]
        if ignore := prefs.get("ignore"):
            banned = {str(x).lower() for x in ignore}
            eps = [e for e in eps if not slug(e) & banned]
        if quants := prefs.get("quantizations"):
            eps = [e for e in eps if e.get("quantization") in quants]
        if prefs.get("require_parameters"):
            used = {k for k in ("tools", "response_format", "reasoning", "seed", "top_k", "min_p") if k in body}
            eps = [e for e in eps if used <= set(e.get("supported_parameters") or [])]
        if max_price := prefs.get("max_price"):
            cap_prompt = max_price.get("prompt")
            if cap_prompt is not None:
                eps = [e for e in eps if Decimal(str(e["pricing"]["prompt"])) * 1_000_000 <= Decimal(str(cap_prompt))]
        if not eps:
            return None
        if order := prefs.get("order"):
            rank = {str(x).lower(): i for i, x in enumerate(order)}
            eps.sort(key=lambda e: min((rank[s] for s in slug(e) if s in rank), default=len(rank)))
            if prefs.get("allow_fallbacks") is False:
                eps = [e for e in eps if slug(e) & set(rank)] or []
                if not eps:
                    return None
        elif sort := prefs.get("sort"):
            by = sort.get("by") if isinstance(sort, dict) else sort
            if by == "price":
                eps.sort(key=lambda e: Decimal(str(e["pricing"]["prompt"])))
            elif by == "throughput":
                eps.sort(key=lambda e: -float((e.get("throughput_last_30m") or {}).get("p50") or 0))
            elif by == "latency":
                eps.sort(key=lambda e: float((e.get("latency_last_30m") or {}).get("p50") or 1e9))
        return str(eps[0]["provider_name"])

    # ---------- completion ----------
    async def _complete(
        self, model_id: str, model: dict[str, Any], provider: str, body: dict[str, Any], fault: Fault | None
    ) -> Response:
        messages: list[dict[str, Any]] = body["messages"]
        kind = fault.kind if fault else ""
        max_tokens = body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None
        plan = _plan(model_id, model, body, messages, kind, max_tokens)
        outputs = media.chat_outputs(model_id, model, body)
        if isinstance(outputs, Response):
            return outputs
        plan.media_out = outputs
        prefix_key = json.dumps(messages[:-1], sort_keys=True) if len(messages) > 1 else ""
        with self.state.lock:
            cached = plan.prompt_tokens // 2 if prefix_key and prefix_key in self.state.seen_prefixes else 0
            if prefix_key:
                self.state.seen_prefixes.add(prefix_key)
        gen = Generation(
            id=f"gen-{int(time.time())}-{uuid.uuid4().hex[:16]}",
            model=model_id,
            provider=provider,
            created_at=time.time(),
            streamed=bool(body.get("stream")),
            prompt_tokens=plan.prompt_tokens,
            cached_tokens=cached,
            search_results=len(plan.annotations),
        )
        behaviour = catalog.behaviour(model_id.split(":", 1)[0]) if not model_id.startswith("sim/") else {"ttft_ms": 0, "tokens_per_s": 10.0 if kind == "trickle" else 0.0}
        if quiz.handles(model_id):
            behaviour = quiz.behaviour(model_id)
        ttft_s = fault.delay_s if fault and fault.kind in ("slow", "delay") else behaviour["ttft_ms"] / 1000
        tps = float(behaviour.get("tokens_per_s") or 0)

        if body.get("stream"):
            return StreamingResponse(
                self._stream(gen, model, plan, kind, ttft_s, tps),
                background=BackgroundTask(self._record_abandoned, gen),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Generation-Id": gen.id},
            )
        started = time.perf_counter()
        if ttft_s:
            await asyncio.sleep(ttft_s)
        total_tokens = plan.completion_tokens + plan.reasoning_tokens
        if tps and total_tokens:
            await asyncio.sleep(total_tokens / tps)
        if kind == "bad-json":
            self._finish(gen, model, plan, plan.completion_tokens, plan.reasoning_tokens, plan.finish_reason, started)
            return Response('{"id": "' + gen.id + '", "choices": [', media_type="application/json")
        if kind == "error-in-200":
            return JSONResponse({"error": {"code": 502, "message": "Provider returned error", "metadata": {"provider_name": provider}}})
        self._finish(gen, model, plan, plan.completion_tokens, plan.reasoning_tokens, plan.finish_reason, started)
        message: dict[str, Any] = {"role": "assistant", "content": plan.content, **media.message_fields(plan.media_out)}
        if plan.reasoning is not None and not plan.exclude_reasoning:
            message["reasoning"] = plan.reasoning
            message["reasoning_details"] = [{"type": "reasoning.text", "text": plan.reasoning, "format": "unknown", "index": 0}]
        if plan.tool_calls:
            message["tool_calls"] = plan.tool_calls
        if plan.annotations:
            message["annotations"] = plan.annotations
        return JSONResponse(
            {
                "id": gen.id,
                "object": "chat.completion",
                "created": int(gen.created_at),
                "model": model_id,
                "provider": provider,
                "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "finish_reason": plan.finish_reason, "native_finish_reason": plan.finish_reason, "logprobs": None}],
                "usage": _usage_wire(gen),
            }
        )

    async def _record_abandoned(self, gen: Generation) -> None:
        """A client that left before the stream's first event still saw the generation id (a header): the
        generation is recorded, with nothing billed, so a lookup of that id finds it."""
        with self.state.lock:
            if gen.id not in self.state.generations:
                gen.cancelled = True
                self.state.generations[gen.id] = gen

    def _finish(
        self, gen: Generation, model: dict[str, Any], plan: _Plan, completion: int, reasoning: int, finish: str | None, started: float, *, cancelled: bool = False, bill: bool = True
    ) -> None:
        gen.completion_tokens = completion + reasoning
        gen.reasoning_tokens = reasoning
        gen.finish_reason = finish
        gen.cancelled = cancelled
        prompt_price = _price(model, "prompt")
        cache_price = _price(model, "input_cache_read") or prompt_price / 4
        gen.cost = (
            (gen.prompt_tokens - gen.cached_tokens) * prompt_price
            + gen.cached_tokens * cache_price
            + gen.completion_tokens * _price(model, "completion")
            + gen.search_results * _WEB_RESULT_PRICE
            + media.extra_cost(plan.media_out)
        ).quantize(Decimal("0.000000001")) if bill else Decimal(0)
        gen.latency_ms = (time.perf_counter() - started) * 1000
        gen.generation_ms = gen.latency_ms
        self.state.bill(gen)

    async def _stream(self, gen: Generation, model: dict[str, Any], plan: _Plan, kind: str, ttft_s: float, tps: float) -> AsyncIterator[bytes]:
        started = time.perf_counter()
        base = {"id": gen.id, "object": "chat.completion.chunk", "created": int(gen.created_at), "model": gen.model, "provider": gen.provider}
        sent_reasoning = 0
        sent_content = 0
        finished = False

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            payload = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": finish}], **extra}
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        try:
            yield b": OPENROUTER PROCESSING\n\n"
            deadline = started + ttft_s
            while (left := deadline - time.perf_counter()) > 0:
                await asyncio.sleep(min(left, 1.0))
                if deadline - time.perf_counter() > 0:
                    yield b": OPENROUTER PROCESSING\n\n"
            if kind == "bad-json":
                yield b"data: {\"id\": \"" + gen.id.encode() + b"\", \"choices\": [\n\n"
                self._finish(gen, model, plan, 0, 0, None, started)
                finished = True
                return
            if kind == "error-in-200":
                self._finish(gen, model, plan, 0, 0, "error", started, bill=False)
                finished = True
                yield b"data: " + json.dumps({**base, "choices": [], "error": {"code": 502, "message": "Provider returned error"}}).encode() + b"\n\n"
                return
            t0 = time.perf_counter()
            pieces = plan.stream_pieces()
            emitted_tokens = 0
            for index, (field_name, text, tokens) in enumerate(pieces):
                emitted_tokens += tokens
                # The first piece leaves at the time to first token; the rest are paced so the reply ends
                # tokens / tokens_per_s after it, which is the rate a client measures from the stream.
                if tps and index:
                    due = t0 + emitted_tokens / tps
                    if (wait := due - time.perf_counter()) > 0.002:
                        await asyncio.sleep(wait)
                if field_name == "reasoning":
                    sent_reasoning += tokens
                    if not plan.exclude_reasoning:
                        yield chunk({"role": "assistant", "content": "", "reasoning": text, "reasoning_details": [{"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}]})
                else:
                    sent_content += tokens
                    yield chunk({"role": "assistant", "content": text})
                if kind == "mid-stream-error" and sent_content >= 3:
                    self._finish(gen, model, plan, sent_content, sent_reasoning, "error", started)
                    finished = True
                    yield chunk({"content": ""}, "error", error={"code": 502, "message": "Provider disconnected mid-stream", "metadata": {"error_type": "provider_error"}})
                    yield b"data: [DONE]\n\n"
                    return
            for i, call in enumerate(plan.tool_calls):
                yield chunk({"role": "assistant", "content": None, "tool_calls": [{"index": i, **call}]})
            for delta in media.stream_deltas(plan.media_out):
                yield chunk(delta)
            final_delta: dict[str, Any] = {"content": ""}
            if plan.annotations:
                final_delta["annotations"] = plan.annotations
            self._finish(gen, model, plan, plan.completion_tokens, plan.reasoning_tokens, plan.finish_reason, started)
            finished = True
            yield chunk(final_delta, plan.finish_reason)
            yield b"data: " + json.dumps({**base, "choices": [], "usage": _usage_wire(gen)}).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"
        finally:
            if not finished:
                # The client went away: bill what was generated so far, as OpenRouter does. Nothing is
                # billed when it left before the first token.
                self._finish(gen, model, plan, sent_content, sent_reasoning, None, started, cancelled=True, bill=bool(sent_content or sent_reasoning))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/models", self.list_models),
                Route("/api/v1/models/{author}/{slug}/endpoints", self.endpoints),
                Route("/api/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/api/v1/embeddings", functools.partial(embeddings.handle, self), methods=["POST"]),
                Route("/api/v1/generation", self.generation),
                Route("/api/v1/key", self.key),
                Route("/api/v1/credits", self.credits),
                Route("/_sim/requests", self.requests_log),
                Route("/_sim/generations", self.generations_log),
                Route("/_sim/reset", self.reset, methods=["POST"]),
                *media.MediaRoutes(self).routes(),
            ]
        )


def _request_fault(fault: Fault | None, attempt: int) -> Response | None:
    """The error a fault model answers with before any generation starts, if any."""
    if fault is None:
        return None
    match fault.kind:
        case "rate-limit-once" if attempt == 1:
            return _error(429, "Rate limit exceeded: try again in 1 s", {"headers": {"X-RateLimit-Limit": "20"}}, {"Retry-After": "1"})
        case "rate-limit":
            return _error(429, "Rate limit exceeded: try again in 2 s", None, {"Retry-After": "2"})
        case "free-rate-limited:free":
            return _error(429, "sim/free-rate-limited:free is temporarily rate-limited upstream. Please retry shortly.", {"provider_name": "Simulator"}, {"Retry-After": "5"})
        case "server-error-once" if attempt == 1:
            return _error(502, "Provider returned error (simulated once)")
        case "unavailable":
            return _error(503, "No available provider could serve this request")
        case "internal-error":
            return _error(500, "Internal Server Error")
        case "timeout":
            return _error(408, "Request timed out upstream")
        case "no-credits":
            return _error(402, "Insufficient credits. Add more at https://openrouter.ai/settings/credits")
        case "moderation":
            return _error(403, "Input was flagged by moderation", {"reasons": ["harassment"], "flagged_input": "…", "provider_name": "OpenAI", "model_slug": "sim/moderation"})
    return None


@dataclass
class _Plan:
    prompt_tokens: int
    content: str | None
    reasoning: str | None
    exclude_reasoning: bool
    tool_calls: list[dict[str, Any]]
    annotations: list[dict[str, Any]]
    finish_reason: str
    completion_tokens: int
    reasoning_tokens: int
    media_out: media.ChatMedia | None = None

    def stream_pieces(self) -> list[tuple[str, str, int]]:
        """(field, text, tokens) pieces in stream order: reasoning first, then content, 4 words a piece."""
        out: list[tuple[str, str, int]] = []
        for field_name, text in (("reasoning", self.reasoning), ("content", self.content)):
            if not text:
                continue
            words = text.split(" ")
            for i in range(0, len(words), 4):
                group = words[i : i + 4]
                piece = " ".join(group) + (" " if i + 4 < len(words) else "")
                out.append((field_name, piece, len(group)))
        return out


def _plan(model_id: str, model: dict[str, Any], body: dict[str, Any], messages: list[dict[str, Any]], kind: str, max_tokens: int | None) -> _Plan:
    params = set(model.get("supported_parameters") or [])
    reasoning_cfg = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else None
    thinks = "reasoning" in params and (
        (reasoning_cfg is not None and reasoning_cfg.get("enabled", True) is not False and reasoning_cfg.get("effort") != "none")
        or model_id.endswith(":thinking")
        or "deepseek-r1" in model_id
        or kind == "reasoning-length"
    )
    reasoning = None
    reasoning_tokens = 0
    if thinks:
        words = _EFFORT_WORDS.get(str((reasoning_cfg or {}).get("effort", "medium")), 32)
        if reasoning_cfg and isinstance(reasoning_cfg.get("max_tokens"), int):
            words = max(1, min(words, reasoning_cfg["max_tokens"]))
        if kind == "reasoning-length":
            words = max_tokens or 64
        reasoning = reasoning_text(model_id, messages, words)
        reasoning_tokens = len(reasoning.split(" "))

    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    function_tools = [t for t in tools if t.get("type") == "function"]
    web = (
        any(t.get("type") == "openrouter:web_search" for t in tools)
        or any(isinstance(p, dict) and p.get("id") == "web" for p in body.get("plugins") or [])
        or model_id.endswith(":online")
    )
    choice = body.get("tool_choice", "auto")
    last_role = messages[-1].get("role")
    tool_calls: list[dict[str, Any]] = []
    if function_tools and choice != "none" and last_role != "tool":
        chosen = function_tools[0]
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            chosen = next((t for t in function_tools if (t.get("function") or {}).get("name") == wanted), chosen)
        name = (chosen.get("function") or {}).get("name", "tool")
        tool_calls = [{"id": f"call_{stable_int(model_id, name) % 10**12:012d}", "type": "function", "function": {"name": name, "arguments": tool_arguments(chosen)}}]

    content: str | None
    fmt = body.get("response_format") if isinstance(body.get("response_format"), dict) else None
    if tool_calls:
        content = None
    elif quiz.handles(model_id):
        content = quiz.reply(model_id, body)
    elif fmt and fmt.get("type") in ("json_schema", "json_object"):
        content = json_reply(fmt, violate=kind == "schema-violation")
    else:
        content = reply_text(model_id, messages)
    annotations: list[dict[str, Any]] = []
    if web and content and not fmt:
        content += " Sources: [1] [2] [3]"
        annotations = citations(message_text(messages[-1].get("content")), content)

    completion_tokens = len(content.split(" ")) if content else sum(len(c["function"]["arguments"]) // 4 + 1 for c in tool_calls)
    finish = "tool_calls" if tool_calls else "stop"
    if kind == "reasoning-length":
        content, completion_tokens, finish, annotations = "", 0, "length", []
    elif max_tokens is not None and content and not fmt and completion_tokens + reasoning_tokens > max_tokens:
        keep = max(0, max_tokens - reasoning_tokens)
        content = " ".join(content.split(" ")[:keep])
        completion_tokens, finish = keep, "length"
    return _Plan(
        prompt_tokens=_prompt_tokens(messages),
        content=content,
        reasoning=reasoning,
        exclude_reasoning=bool((reasoning_cfg or {}).get("exclude")),
        tool_calls=tool_calls,
        annotations=annotations,
        finish_reason=finish,
        completion_tokens=completion_tokens,
        reasoning_tokens=reasoning_tokens,
    )


def _usage_wire(gen: Generation) -> dict[str, Any]:
    return {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "total_tokens": gen.prompt_tokens + gen.completion_tokens,
        "cost": float(gen.cost),
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": gen.cached_tokens, "cache_write_tokens": 0, "audio_tokens": 0, "video_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": gen.reasoning_tokens, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": float(gen.cost), "upstream_inference_prompt_cost": 0, "upstream_inference_completions_cost": 0},
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _generation_wire(gen: Generation) -> dict[str, Any]:
    return {
        "id": gen.id,
        "api_type": "completions",
        "app_id": None,
        "cache_discount": None,
        "cancelled": gen.cancelled,
        "created_at": _iso(gen.created_at),
        "data_region": "global",
        "external_user": None,
        "finish_reason": gen.finish_reason,
        "generation_time": round(gen.generation_ms),
        "http_referer": None,
        "is_byok": False,
        "latency": round(gen.latency_ms),
        "model": gen.model,
        "moderation_latency": None,
        "native_finish_reason": gen.finish_reason,
        "native_tokens_cached": gen.cached_tokens,
        "native_tokens_completion": gen.completion_tokens,
        "native_tokens_completion_images": 0,
        "native_tokens_prompt": gen.prompt_tokens,
        "native_tokens_reasoning": gen.reasoning_tokens,
        "num_fetches": 0,
        "num_input_audio_prompt": 0,
        "num_media_completion": 0,
        "num_media_prompt": 0,
        "num_search_results": gen.search_results,
        "origin": "",
        "preset_id": None,
        "provider_name": gen.provider,
        "provider_responses": None,
        "router": None,
        "service_tier": None,
        "streamed": gen.streamed,
        "tokens_completion": gen.completion_tokens,
        "tokens_prompt": gen.prompt_tokens,
        "total_cost": float(gen.cost),
        "upstream_id": None,
        "upstream_inference_cost": float(gen.cost),
        "usage": float(gen.cost),
        "user_agent": None,
        "web_search_engine": "exa" if gen.search_results else None,
        "workspace_id": None,
    }


def _free_daily_limit(key: str) -> int:
    """50 free-model requests a day for accounts that never bought 10 credits (keys containing
    FREE_TIER_MARK here), 1000 for the others."""
    return 50 if FREE_TIER_MARK in key else 1000


def _key_wire(key: str, usage: float, limit: Decimal | None) -> dict[str, Any]:
    return {
        "label": f"sk-or-...{key[-4:]}",
        "allowed_data_regions": [],
        "budgets": [],
        "byok_usage": 0.0,
        "byok_usage_daily": 0.0,
        "byok_usage_monthly": 0.0,
        "byok_usage_weekly": 0.0,
        "creator_user_id": None,
        "effective_budget": None,
        "free_model_daily_requests": {"limit": 1000, "remaining": 1000, "used": 0, "resets_at": None},
        "include_byok_in_limit": False,
        "is_free_tier": False,
        "is_management_key": key.startswith(MANAGEMENT_KEY_PREFIX),
        "is_provisioning_key": False,
        "limit": None if limit is None else float(limit),
        "limit_remaining": None if limit is None else max(0.0, float(limit) - usage),
        "limit_reset": None,
        "organization_id": None,
        "rate_limit": {"interval": "10s", "note": "deprecated", "requests": -1},
        "usage": usage,
        "usage_daily": usage,
        "usage_monthly": usage,
        "usage_weekly": usage,
        "workspace_id": None,
        "expires_at": None,
    }


def loopback_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket created with IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted
    connections (a socket made with proto=0 gets ~44 ms Nagle stalls on keep-alive connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@dataclass
class RunningSimulator:
    simulator: Simulator
    url: str
    _server: Any
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        return self.url + "/api/v1"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_in_thread(host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
    """Start a simulator on a free loopback port in a daemon thread; returns once it accepts connections."""
    import uvicorn

    sim = Simulator()
    sock = loopback_socket(host, port)
    actual_port = sock.getsockname()[1]
    # log_config=None: uvicorn must not configure logging (its access log would write to stdout,
    # which belongs to JSON-RPC when the server runs over stdio).
    config = uvicorn.Config(sim.app(), log_config=None, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name="openrouter-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.005)
    if not server.started:
        raise RuntimeError("the simulator did not start within 10 s")
    return RunningSimulator(sim, f"http://{host}:{actual_port}", server, thread)


def serve_forever(host: str = "127.0.0.1", port: int = 8790) -> None:
    """Run the simulator in the foreground (the `simulate` command)."""
    import uvicorn

    sim = Simulator()
    sock = loopback_socket(host, port)
    config = uvicorn.Config(sim.app(), log_level="info", lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
