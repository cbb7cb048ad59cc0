"""`POST /embeddings`: vectors for a batch of texts, with the usage and cost OpenRouter reports. Re-sent
only when OpenRouter refused the request before doing any work (408/429/502/503) or the connection was
never made, like a chat request."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from .errors import RETRYABLE_STATUSES, bad_response, error_object, failure_from_body, failure_from_error, transport_failure
from .gateway import Gateway
from .types import StartFn


@dataclass(slots=True)
class EmbeddingResult:
    vectors: list[list[float]] = field(default_factory=list)
    model: str | None = None
    generation_id: str | None = None
    prompt_tokens: int = 0
    cost_usd: Decimal | None = None
    latency_ms: float = 0.0


def _parse(payload: Any, count: int) -> EmbeddingResult:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or len(data) != count:
        raise bad_response(f"an embeddings response without {count} vectors")
    vectors: list[list[float]] = [[] for _ in range(count)]
    for position, item in enumerate(data):
        vector = item.get("embedding") if isinstance(item, dict) else None
        index = item.get("index", position) if isinstance(item, dict) else position
        if not isinstance(vector, list) or not isinstance(index, int) or not 0 <= index < count:
            raise bad_response("an embeddings response with a malformed vector")
        vectors[index] = [float(x) for x in vector]
    usage = payload.get("usage") or {}
    cost = usage.get("cost")
    return EmbeddingResult(
        vectors=vectors,
        model=payload.get("model"),
        generation_id=payload.get("id"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        cost_usd=None if cost is None else Decimal(repr(cost)) if isinstance(cost, float) else Decimal(str(cost)),
    )


async def create_embeddings(gateway: Gateway, model: str, texts: list[str], *, on_start: StartFn | None = None, timeout_s: float = 60.0) -> EmbeddingResult:
    """One vector per text, in order."""
    settings = gateway._settings
    payload = json.dumps({"model": model, "input": texts}, separators=(",", ":")).encode()
    attempt = 0
    waited = 0.0
    started = time.perf_counter()
    while True:
        try:
            resp = await gateway.client.post("embeddings", content=payload, headers={"Content-Type": "application/json"}, timeout=timeout_s)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            failure = transport_failure("connect", type(exc).__name__)
        except httpx.TimeoutException as exc:
            raise transport_failure("timeout", type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise bad_response(f"a broken response ({type(exc).__name__})") from None
        else:
            if resp.status_code == 200:
                try:
                    body = resp.json()
                except ValueError:
                    raise bad_response("an embeddings response that is not valid JSON") from None
                if (error := error_object(body)) is not None:
                    raise failure_from_error(200, error, secret=gateway._key)
                result = _parse(body, len(texts))
                if result.generation_id and on_start is not None:
                    on_start(result.generation_id)
                result.latency_ms = (time.perf_counter() - started) * 1000
                return result
            failure = failure_from_body(resp.status_code, resp.content, resp.headers, secret=gateway._key)
            if resp.status_code not in RETRYABLE_STATUSES:
                raise failure
        delay = gateway._backoff(attempt, failure.retry_after_s)
        if attempt >= settings.max_retries or waited + delay > settings.retry_max_wait_s:
            raise failure
        await asyncio.sleep(delay)
        waited += delay
        attempt += 1
