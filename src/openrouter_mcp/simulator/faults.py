"""The simulator's fault-injection models: model ids under `sim/` that make the simulator misbehave in
one precise, documented way, so anyone can see how the server handles each failure."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from .responses import error

FAULT_MODELS: dict[str, str] = {
    "sim/instant": "Answers at once: no time to first token, unlimited speed. For overhead measurements.",
    "sim/rate-limit-once": "The first request with a given body gets 429 with Retry-After: 1; the retry succeeds.",
    "sim/rate-limit": "Always 429 with Retry-After: 2.",
    "sim/free-rate-limited:free": "A free model whose upstream is always busy: 429 with Retry-After: 5 (free_chat moves on).",
    "sim/server-error-once": "The first request with a given body gets 502; the retry succeeds.",
    "sim/unavailable": "Always 503 (no provider can serve the request).",
    "sim/internal-error": "Always 500.",
    "sim/timeout": "Always 408.",
    "sim/no-credits": "Always 402 (the account is out of credits).",
    "sim/moderation": "Always 403 with moderation metadata (input flagged).",
    "sim/bad-json": "Answers 200 with a body that is not valid JSON (a broken SSE event when streaming).",
    "sim/error-in-200": "Answers 200 whose body (or first SSE event) is an error object.",
    "sim/mid-stream-error": "Streams a few words, then an SSE error event with finish_reason 'error'.",
    "sim/reasoning-length": "Spends the whole max_tokens on reasoning and stops with finish_reason 'length'.",
    "sim/schema-violation": "With response_format json_schema, answers JSON that does not match the schema.",
    "sim/slow-3s": "Waits 3 s before the first token (any sim/slow-<N>s works).",
    "sim/slow-180s": "Waits 180 s before the first token, sending keep-alive comments.",
    "sim/delay-200ms": "Waits 200 ms before answering (any sim/delay-<N>ms works). For load tests.",
    "sim/trickle": "Streams slowly (10 tokens/s, 1 to 4 s a reply), so a client can cancel mid-stream.",
}

# The video fault models: the video routes in `media.py` check for these ids themselves.
VIDEO_FAULTS = {
    "sim/video-poll-error": "A video job whose first 3 status reads answer 500 (the job itself goes on).",
    "sim/video-fail": "A video job that ends with status failed.",
    "sim/video-slow": "A video job that takes 60 s.",
    "sim/video-slow-submit": "A video submit answered after 3 s (the job is accepted, and billed, at once).",
    "sim/video-garbled": "A video submit accepted (and billed) but answered with a body that is not JSON.",
}

_SLOW = re.compile(r"sim/slow-(\d{1,4})s\Z")
_DELAY = re.compile(r"sim/delay-(\d{1,6})ms\Z")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    delay_s: float = 0.0


def fault_for(model_id: str) -> Fault | None:
    """The fault a `sim/` model id asks for, or None for an ordinary model."""
    if not model_id.startswith("sim/"):
        return None
    if m := _SLOW.match(model_id):
        return Fault("slow", float(m.group(1)))
    if m := _DELAY.match(model_id):
        return Fault("delay", int(m.group(1)) / 1000)
    if model_id in FAULT_MODELS:
        return Fault(model_id.removeprefix("sim/"))
    return None


def request_fault(fault: Fault | None, attempt: int) -> Response | None:
    """The error a fault model answers with before any generation starts, if any."""
    if fault is None:
        return None
    match fault.kind:
        case "rate-limit-once" if attempt == 1:
            return error(429, "Rate limit exceeded: try again in 1 s", {"headers": {"X-RateLimit-Limit": "20"}}, {"Retry-After": "1"})
        case "rate-limit":
            return error(429, "Rate limit exceeded: try again in 2 s", None, {"Retry-After": "2"})
        case "free-rate-limited:free":
            return error(
                429,
                "sim/free-rate-limited:free is temporarily rate-limited upstream. Please retry shortly.",
                {"provider_name": "Simulator"},
                {"Retry-After": "5"},
            )
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
            return error(
                403,
                "Input was flagged by moderation",
                {"reasons": ["harassment"], "flagged_input": "…", "provider_name": "OpenAI", "model_slug": "sim/moderation"},
            )
    return None


async def before_answer(fault: Fault | None, provider: str) -> Response | None:
    """What a fault model does to a whole-JSON endpoint (embeddings, rerank) once the request is accepted:
    wait (slow, delay) or answer 200 with an error object (error-in-200); None to answer as usual."""
    if fault is None:
        return None
    if fault.kind in ("slow", "delay"):
        await asyncio.sleep(fault.delay_s)
    if fault.kind == "error-in-200":
        return JSONResponse({"error": {"code": 502, "message": "Provider returned error", "metadata": {"provider_name": provider}}})
    return None
