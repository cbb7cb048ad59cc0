"""The simulator's `POST /api/v1/chat/completions`: checks the request, walks the fallback models, routes
each to a provider by the request's preferences (404 with OpenRouter's `availability` when they leave none),
injects faults, replays cached responses when asked to (`X-OpenRouter-Cache`), and answers in one JSON body
or as an SSE stream, with logprobs and signed reasoning_details, billing the generation (partly, when a
client leaves mid-stream; nothing on a cache hit)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from . import catalog, media, quiz
from .bodies import read_body
from .chat_plan import Plan, make_plan
from .faults import Fault, fault_for, request_fault
from .replies import reasoning_signature
from .responses import error
from .state import Generation, Simulator, free_daily_limit

_WEB_RESULT_PRICE = Decimal("0.004")
# Request parameters an endpoint must list for provider.require_parameters (top_logprobs rides on logprobs).
_ROUTED_PARAMETERS = {
    **{p: p for p in ("tools", "response_format", "reasoning", "seed", "top_k", "min_p", "logprobs", "logit_bias")},
    "top_logprobs": "logprobs",
}
# The provider option each routing filter reads, as `availability.excluded_by` names the filter.
_FILTER_FIELDS = {"allowed_providers": "only", "quantization": "quantizations", "require_parameters": "require_parameters", "max_price": "max_price"}
_CACHE_TTL_S = 300
# The provider's failure after a few words (sim/mid-stream-error), streamed or in one answer.
_MID_STREAM_ERROR = {"code": 502, "message": "Provider disconnected mid-stream", "metadata": {"error_type": "provider_error"}}


@dataclass
class Route:
    """Where routing sent a request: the provider and the parameters its endpoint supports, or the filter
    (`excluded_by`'s word for it) that removed the last endpoint."""

    provider: str | None
    params: frozenset[str] = frozenset()
    excluded_by: str | None = None
    providers: list[str] = field(default_factory=list)  # every provider of the model, before filtering


@dataclass
class Cached:
    """A request that asked for response caching: its cache key and, on a hit, what the entry holds."""

    key: str
    ttl_s: int
    hit: tuple[str, str, str, float] | None = None  # (source generation id, model, provider, stored at)

    def headers(self) -> dict[str, str]:
        if self.hit is None:
            return {"X-OpenRouter-Cache-Status": "MISS", "X-OpenRouter-Cache-TTL": str(self.ttl_s)}
        age = int(time.time() - self.hit[3])
        return {
            "X-OpenRouter-Cache-Status": "HIT",
            "X-OpenRouter-Cache-Age": str(age),
            "X-OpenRouter-Cache-TTL": str(max(0, self.ttl_s - age)),
            "X-OpenRouter-Cache-Source-Id": self.hit[0],
        }


class ChatRoutes:
    """`POST /chat/completions`, with the provider routing and the completion (whole or streamed) behind it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        # Response cache entries (each a hit) by API key and request body.
        self._cache: dict[str, Cached] = {}

    async def chat(self, request: Request) -> Response:
        try:
            raw, blobs = await read_body(request)
        except ClientDisconnect:
            return Response(status_code=499)  # the client gave up before sending the whole request
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self.sim.state.log(request, model=None)
            return error(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return error(400, "Request body must be a JSON object")
        candidates = [body["model"]] if isinstance(body.get("model"), str) else []
        candidates += [m for m in body.get("models") or [] if isinstance(m, str) and m not in candidates]
        # Headers that change the answer are logged with the body: the response-cache switches.
        asked = {k: v for k, v in request.headers.items() if k.lower().startswith("x-openrouter-cache")}
        logged = {"model": candidates[0] if candidates else None, "models": candidates, "body": body, "media": blobs, **({"headers": asked} if asked else {})}
        self.sim.state.log(request, **logged)
        if not (key := self.sim._authorized(request)):
            return error(401, "User not found.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return error(400, "messages: expected a non-empty array")
        if not candidates:
            return error(400, "No model specified")
        if (refused := _altered_reasoning(messages)) is not None:
            return refused
        if any(m.endswith(":free") for m in candidates) and (refused := self._take_free(key)) is not None:
            return refused
        body_key = raw.decode("utf-8", "replace")
        attempt = self.sim.state.attempt(body_key)
        cached = self._cached(request, f"{key}\0{body_key}")
        if cached is not None and cached.hit is not None and (hit_model := self.sim.model(cached.hit[1])) is not None:
            # A hit never reaches a provider: no fault, no routing, nothing billed.
            return await self._complete(cached.hit[1], hit_model, Route(cached.hit[2], _params(hit_model)), body, None, cached)

        last_error: Response | None = None
        for model_id in candidates:
            model = self.sim.model(model_id)
            if model is None:
                last_error = error(404, f"No endpoints found for {model_id}.")
                continue
            fault = fault_for(model_id)
            failure = request_fault(fault, attempt)
            if failure is not None:
                last_error = failure
                # Only availability failures move on to the next fallback model, as OpenRouter does.
                if failure.status_code in (429, 502, 503, 500, 408) and model_id != candidates[-1]:
                    continue
                return failure
            route = self._route(model_id, model, body.get("provider") or {}, body)
            if route.provider is None:
                last_error = _no_endpoint(model_id, route, body.get("provider") or {}, candidates)
                continue
            return await self._complete(model_id, model, route, body, fault, cached)
        assert last_error is not None
        return last_error

    def _cached(self, request: Request, key: str) -> Cached | None:
        """What the response cache says about a request that asked for it (guides/features/response-caching.mdx):
        a hit while the entry lives, a miss otherwise or when X-OpenRouter-Cache-Clear asks for a fresh answer."""
        if request.headers.get("x-openrouter-cache", "").lower() != "true":
            return None
        digits = "".join(itertools.takewhile(str.isdigit, request.headers.get("x-openrouter-cache-ttl", "")))
        ttl_s = min(86_400, max(1, int(digits))) if digits else _CACHE_TTL_S
        with self.sim.state.lock:
            if request.headers.get("x-openrouter-cache-clear", "").lower() == "true":
                self._cache.pop(key, None)
            entry = self._cache.get(key)
            if entry is not None and entry.hit is not None and time.time() < entry.hit[3] + entry.ttl_s:
                return entry
        return Cached(key, ttl_s)

    def _take_free(self, key: str) -> Response | None:
        """Count a request to free models against the key's daily free quota (per simulator run), as
        OpenRouter does, and refuse it with 429 once the quota is used up."""
        limit = free_daily_limit(key)
        with self.sim.state.lock:
            used = self.sim.state.free_requests[key]
            if used >= limit:
                headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"}
                return error(429, "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day", None, headers)
            self.sim.state.free_requests[key] = used + 1
        return None

    # ---------- routing ----------
    def _route(self, model_id: str, model: dict[str, Any], prefs: dict[str, Any], body: dict[str, Any]) -> Route:
        base = model_id.split(":", 1)[0]
        info = catalog.endpoints_for(base)
        if info is None:
            return Route(str(catalog.behaviour(base)["provider"]), _params(model))
        eps = list(info["endpoints"])
        providers = [str(e["provider_name"]) for e in eps]

        def slug(ep: dict[str, Any]) -> set[str]:
            name = str(ep.get("provider_name", ""))
            return {name.lower(), name.lower().replace(" ", "-"), str(ep.get("tag", "")).lower().split("/")[0]}

        # Each filter, named as OpenRouter's `availability.excluded_by` names it (api_reference/errors-and-debugging.mdx).
        filters: list[tuple[str, Callable[[dict[str, Any]], object]]] = []
        if only := prefs.get("only"):
            allowed = {str(x).lower() for x in only}
            filters.append(("allowed_providers", lambda e: slug(e) & allowed))
        if ignore := prefs.get("ignore"):
            banned = {str(x).lower() for x in ignore}
            filters.append(("allowed_providers", lambda e: not slug(e) & banned))
        if quants := prefs.get("quantizations"):
            filters.append(("quantization", lambda e: e.get("quantization") in quants))
        if prefs.get("require_parameters"):
            used = {needs for k, needs in _ROUTED_PARAMETERS.items() if k in body}
            filters.append(("require_parameters", lambda e: used <= set(e.get("supported_parameters") or [])))
        if (cap_prompt := (prefs.get("max_price") or {}).get("prompt")) is not None:
            filters.append(("max_price", lambda e: Decimal(str(e["pricing"]["prompt"])) * 1_000_000 <= Decimal(str(cap_prompt))))
        order = prefs.get("order")
        if order and prefs.get("allow_fallbacks") is False:
            named = {str(x).lower() for x in order}
            filters.append(("allowed_providers", lambda e: slug(e) & named))
        for excluded_by, keep in filters:
            eps = [e for e in eps if keep(e)]
            if not eps:
                return Route(None, excluded_by=excluded_by, providers=providers)
        if order:
            rank = {str(x).lower(): i for i, x in enumerate(order)}
            eps.sort(key=lambda e: min((rank[s] for s in slug(e) if s in rank), default=len(rank)))
        elif sort := prefs.get("sort"):
            by = sort.get("by") if isinstance(sort, dict) else sort
            if by == "price":
                eps.sort(key=lambda e: Decimal(str(e["pricing"]["prompt"])))
            elif by == "throughput":
                eps.sort(key=lambda e: -float((e.get("throughput_last_30m") or {}).get("p50") or 0))
            elif by == "latency":
                eps.sort(key=lambda e: float((e.get("latency_last_30m") or {}).get("p50") or 1e9))
        return Route(str(eps[0]["provider_name"]), frozenset(eps[0].get("supported_parameters") or ()), providers=providers)

    # ---------- completion ----------
    async def _complete(self, model_id: str, model: dict[str, Any], route: Route, body: dict[str, Any], fault: Fault | None, cached: Cached | None) -> Response:
        messages: list[dict[str, Any]] = body["messages"]
        kind = fault.kind if fault else ""
        cap = body.get("max_completion_tokens", body.get("max_tokens"))
        plan = make_plan(model_id, model, body, messages, kind, cap if isinstance(cap, int) else None)
        outputs = media.chat_outputs(model_id, model, body)
        if isinstance(outputs, Response):
            return outputs
        plan.media_out = outputs
        # Token log probabilities come back only when asked for and the provider's endpoint returns them.
        if body.get("logprobs") is True and "logprobs" in route.params:
            plan.top_logprobs = int(body.get("top_logprobs") or 0)
        plan.cache_hit = cached is not None and cached.hit is not None
        provider = str(route.provider)
        prefix_key = json.dumps(messages[:-1], sort_keys=True) if len(messages) > 1 else ""
        with self.sim.state.lock:
            prompt_cached = plan.prompt_tokens // 2 if prefix_key and prefix_key in self.sim.state.seen_prefixes else 0
            if prefix_key:
                self.sim.state.seen_prefixes.add(prefix_key)
        gen = Generation(
            id=f"gen-{int(time.time())}-{uuid.uuid4().hex[:16]}",
            model=model_id,
            provider=provider,
            created_at=time.time(),
            streamed=bool(body.get("stream")),
            prompt_tokens=0 if plan.cache_hit else plan.prompt_tokens,
            cached_tokens=0 if plan.cache_hit else prompt_cached,
            search_results=0 if plan.cache_hit else len(plan.annotations),
        )
        headers = cached.headers() if cached is not None else {}
        if cached is not None and cached.hit is None and not kind:
            with self.sim.state.lock:
                self._cache[cached.key] = Cached(cached.key, cached.ttl_s, hit=(gen.id, model_id, provider, time.time()))
        behaviour = (
            catalog.behaviour(model_id.split(":", 1)[0])
            if not model_id.startswith("sim/")
            else {"ttft_ms": 0, "tokens_per_s": 10.0 if kind == "trickle" else 0.0}
        )
        if quiz.handles(model_id):
            behaviour = quiz.behaviour(model_id)
        ttft_s = fault.delay_s if fault and fault.kind in ("slow", "delay") else behaviour["ttft_ms"] / 1000
        tps = float(behaviour.get("tokens_per_s") or 0)

        if body.get("stream"):
            return StreamingResponse(
                self._stream(gen, model, plan, kind, ttft_s, tps),
                background=BackgroundTask(self._record_abandoned, gen),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Generation-Id": gen.id, **headers},
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
        if kind == "mid-stream-error":
            # Unstreamed, the provider's failure after a few words comes as one 200 answer whose choice ends in
            # "error" with the error object beside it, billed for what was generated (as the stream is).
            partial = " ".join((plan.content or "").split()[:3])
            self._finish(gen, model, plan, 3, 0, "error", started)
            failed = {"role": "assistant", "content": partial}
            return _whole(gen, {"index": 0, "message": failed, "finish_reason": "error", "native_finish_reason": "error", "error": _MID_STREAM_ERROR}, headers)
        self._finish(gen, model, plan, plan.completion_tokens, plan.reasoning_tokens, plan.finish_reason, started)
        message: dict[str, Any] = {"role": "assistant", "content": plan.content, **media.message_fields(plan.media_out)}
        if plan.reasoning is not None and not plan.exclude_reasoning:
            message["reasoning"] = plan.reasoning
            message["reasoning_details"] = plan.reasoning_details(plan.reasoning, last=True)
        if plan.tool_calls:
            message["tool_calls"] = plan.tool_calls
        if plan.annotations:
            message["annotations"] = plan.annotations
        choice = {"index": 0, "message": message, "finish_reason": plan.finish_reason, "native_finish_reason": plan.finish_reason}
        return _whole(gen, {**choice, "logprobs": plan.logprobs(model_id, plan.content or "")}, headers, system_fingerprint=None)

    async def _record_abandoned(self, gen: Generation) -> None:
        """A client that left before the stream's first event still saw the generation id (a header): the
        generation is recorded, with nothing billed, so a lookup of that id finds it."""
        with self.sim.state.lock:
            if gen.id not in self.sim.state.generations:
                gen.cancelled = True
                self.sim.state.generations[gen.id] = gen

    def _finish(
        self,
        gen: Generation,
        model: dict[str, Any],
        plan: Plan,
        completion: int,
        reasoning: int,
        finish: str | None,
        started: float,
        *,
        cancelled: bool = False,
        bill: bool = True,
    ) -> None:
        if plan.cache_hit:
            completion, reasoning, bill = 0, 0, False
        gen.completion_tokens = completion + reasoning
        gen.reasoning_tokens = reasoning
        gen.finish_reason = finish
        gen.cancelled = cancelled
        prompt_price = media.price(model, "prompt")
        cache_price = media.price(model, "input_cache_read") or prompt_price / 4
        gen.cost = (
            (
                (gen.prompt_tokens - gen.cached_tokens) * prompt_price
                + gen.cached_tokens * cache_price
                + gen.completion_tokens * media.price(model, "completion")
                + gen.search_results * _WEB_RESULT_PRICE
                + media.extra_cost(plan.media_out)
            ).quantize(Decimal("0.000000001"))
            if bill
            else Decimal(0)
        )
        gen.latency_ms = (time.perf_counter() - started) * 1000
        gen.generation_ms = gen.latency_ms
        self.sim.state.bill(gen)

    async def _stream(self, gen: Generation, model: dict[str, Any], plan: Plan, kind: str, ttft_s: float, tps: float) -> AsyncIterator[bytes]:
        started = time.perf_counter()
        base = {"id": gen.id, "object": "chat.completion.chunk", "created": int(gen.created_at), "model": gen.model, "provider": gen.provider}
        sent_reasoning = 0
        sent_content = 0
        finished = False

        def chunk(delta: dict[str, Any], finish: str | None = None, logprobs: dict[str, Any] | None = None, **extra: Any) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": finish}
            payload = {**base, "choices": [{**choice, "logprobs": logprobs} if logprobs else choice], **extra}
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        try:
            yield b": OPENROUTER PROCESSING\n\n"
            deadline = started + ttft_s
            while (left := deadline - time.perf_counter()) > 0:
                await asyncio.sleep(min(left, 1.0))
                if deadline - time.perf_counter() > 0:
                    yield b": OPENROUTER PROCESSING\n\n"
            if kind == "bad-json":
                yield b'data: {"id": "' + gen.id.encode() + b'", "choices": [\n\n'
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
            last_reasoning = max((i for i, piece in enumerate(pieces) if piece[0] == "reasoning"), default=-1)
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
                        details = plan.reasoning_details(text, last=index == last_reasoning)
                        yield chunk({"role": "assistant", "content": "", "reasoning": text, "reasoning_details": details})
                else:
                    sent_content += tokens
                    yield chunk({"role": "assistant", "content": text}, logprobs=plan.logprobs(gen.model, text))
                if kind == "mid-stream-error" and sent_content >= 3:
                    self._finish(gen, model, plan, sent_content, sent_reasoning, "error", started)
                    finished = True
                    yield chunk({"content": ""}, "error", error=_MID_STREAM_ERROR)
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


def _params(model: dict[str, Any]) -> frozenset[str]:
    return frozenset(model.get("supported_parameters") or ())


def _no_endpoint(model_id: str, route: Route, prefs: dict[str, Any], candidates: list[str]) -> Response:
    """The 404 OpenRouter answers when the routing options leave a model no endpoint, with the `availability`
    object its docs describe (api_reference/errors-and-debugging.mdx; the message as in
    guides/features/router-metadata.mdx, "No Providers Available")."""
    by = str(route.excluded_by)
    field_name = _FILTER_FIELDS[by]
    if by == "allowed_providers":
        code = "no_endpoints"
        wanted = prefs.get("only") or prefs.get("order")
        permits = f"permits only: {', '.join(map(str, wanted))}" if wanted else "excludes every one of them"
        chosen = "only" if prefs.get("only") else "order" if wanted else "ignore"
        message = f"No allowed providers are available for the selected model. Providers serving {model_id}: {', '.join(route.providers)}, but your request's provider.{chosen} preference {permits}."
    elif by == "require_parameters":
        code, message = "constraint_filtered", "No endpoints found that can handle the requested parameters."
    else:
        code, message = "constraint_filtered", f"No endpoints found for {model_id} matching your provider.{field_name} preference."
    availability: dict[str, Any] = {
        "code": code,
        "retryable": False,
        "requested_models": candidates,
        "affected_providers": route.providers,
        "excluded_by": [by],
        "docs_url": f"https://openrouter.ai/docs/errors#{code}",
    }
    if code == "constraint_filtered":
        availability["constraint"] = {"field": field_name, "detail": message}
    return error(404, message, extra={"error_type": "not_found", "http_status": 404, "availability": availability})


def _altered_reasoning(messages: list[Any]) -> Response | None:
    """A reasoning model refuses a conversation whose earlier reasoning blocks were changed: each signed
    block sent back must be the one it signed (guides/best-practices/reasoning-tokens.mdx, "Preserving Reasoning")."""
    for m in messages:
        for detail in (m.get("reasoning_details") if isinstance(m, dict) else None) or ():
            signature = detail.get("signature") if isinstance(detail, dict) else None
            if signature is not None and signature != reasoning_signature(str(detail.get("text") or "")):
                return error(400, "Invalid signature in reasoning_details: send the reasoning blocks back exactly as they were returned")
    return None


def _whole(gen: Generation, choice: dict[str, Any], headers: dict[str, str], **extra: Any) -> JSONResponse:
    """A completion as one JSON body (the answer to a request that is not streamed), with its one choice."""
    body = {"id": gen.id, "object": "chat.completion", "created": int(gen.created_at), "model": gen.model, "provider": gen.provider, **extra}
    return JSONResponse({**body, "choices": [choice], "usage": _usage_wire(gen)}, headers={"X-Generation-Id": gen.id, **headers})


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
