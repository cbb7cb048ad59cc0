"""The simulator's `POST /api/v1/chat/completions`: checks the request, walks the fallback models, routes
each to a provider by the request's preferences, injects faults, and answers in one JSON body or as an SSE
stream, billing the generation (partly, when a client leaves mid-stream)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from . import catalog, media, quiz
from .bodies import read_body
from .chat_plan import Plan, make_plan
from .faults import Fault, fault_for
from .responses import error
from .state import Generation, Simulator, free_daily_limit

_WEB_RESULT_PRICE = Decimal("0.004")


def _price(model: dict[str, Any], key: str) -> Decimal:
    raw = (model.get("pricing") or {}).get(key) or "0"
    value = Decimal(str(raw))
    return value if value > 0 else Decimal(0)


class ChatRoutes:
    """`POST /chat/completions`, with the provider routing and the completion (whole or streamed) behind it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

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
        self.sim.state.log(request, model=candidates[0] if candidates else None, models=candidates, body=body, media=blobs)
        if not (key := self.sim._authorized(request)):
            return error(401, "User not found.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return error(400, "messages: expected a non-empty array")
        if not candidates:
            return error(400, "No model specified")
        if any(m.endswith(":free") for m in candidates) and (refused := self._take_free(key)) is not None:
            return refused
        body_key = raw.decode("utf-8", "replace")
        with self.sim.state.lock:
            self.sim.state.seen_bodies[body_key] += 1
            attempt = self.sim.state.seen_bodies[body_key]

        last_error: Response | None = None
        for model_id in candidates:
            model = self.sim.model(model_id)
            if model is None:
                last_error = error(404, f"No endpoints found for {model_id}.")
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
                last_error = error(503, "No endpoints found matching your provider constraints for " + model_id)
                continue
            return await self._complete(model_id, model, provider, body, fault)
        assert last_error is not None
        return last_error

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
        plan = make_plan(model_id, model, body, messages, kind, max_tokens)
        outputs = media.chat_outputs(model_id, model, body)
        if isinstance(outputs, Response):
            return outputs
        plan.media_out = outputs
        prefix_key = json.dumps(messages[:-1], sort_keys=True) if len(messages) > 1 else ""
        with self.sim.state.lock:
            cached = plan.prompt_tokens // 2 if prefix_key and prefix_key in self.sim.state.seen_prefixes else 0
            if prefix_key:
                self.sim.state.seen_prefixes.add(prefix_key)
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
        with self.sim.state.lock:
            if gen.id not in self.sim.state.generations:
                gen.cancelled = True
                self.sim.state.generations[gen.id] = gen

    def _finish(
        self, gen: Generation, model: dict[str, Any], plan: Plan, completion: int, reasoning: int, finish: str | None, started: float, *, cancelled: bool = False, bill: bool = True
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
        self.sim.state.bill(gen)

    async def _stream(self, gen: Generation, model: dict[str, Any], plan: Plan, kind: str, ttft_s: float, tps: float) -> AsyncIterator[bytes]:
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


def _request_fault(fault: Fault | None, attempt: int) -> Response | None:
    """The error a fault model answers with before any generation starts, if any."""
    if fault is None:
        return None
    match fault.kind:
        case "rate-limit-once" if attempt == 1:
            return error(429, "Rate limit exceeded: try again in 1 s", {"headers": {"X-RateLimit-Limit": "20"}}, {"Retry-After": "1"})
        case "rate-limit":
            return error(429, "Rate limit exceeded: try again in 2 s", None, {"Retry-After": "2"})
        case "free-rate-limited:free":
            return error(429, "sim/free-rate-limited:free is temporarily rate-limited upstream. Please retry shortly.", {"provider_name": "Simulator"}, {"Retry-After": "5"})
        case "server-error-once" if attempt == 1:
            return error(502, "Provider returned error (simulated once)")
        case "unavailable":
            return error(503, "No available provider could serve this request")
        case "internal-error":
            return error(500, "Internal Server Error")
        case "timeout":
            return error(408, "Request timed out upstream")
        case "no-credits":
            return error(402, "Insufficient credits. Add more at https://openrouter.ai/settings/credits")
        case "moderation":
            return error(403, "Input was flagged by moderation", {"reasons": ["harassment"], "flagged_input": "…", "provider_name": "OpenAI", "model_slug": "sim/moderation"})
    return None


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
