"""The simulator's `POST /api/v1/embeddings`: deterministic vectors in which texts that share their words
point the same way (hashed bag of words and word pairs), billed at the model's prompt price."""

from __future__ import annotations

import itertools
import json
import math
import re
import time
import uuid
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .faults import before_answer, fault_for, request_fault
from .replies import stable_int
from .responses import error
from .state import Generation, Simulator

DIMENSIONS = 256
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(("a", "an", "the", "is", "it", "its", "of", "to", "and", "or", "in", "on", "at", "for", "this", "that", "be", "i", "my", "me", "so"))


def embed(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    vector = [0.0] * dimensions
    features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    for feature in features:
        h = stable_int("embedding", feature)
        vector[h % dimensions] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [round(x / norm, 6) for x in vector]


async def handle(sim: Simulator, request: Request) -> Response:
    try:
        body = json.loads(await request.body())
    except json.JSONDecodeError:
        body = None
    model_id = body.get("model") if isinstance(body, dict) else None
    sim.state.log(request, model=model_id, body=body)
    if not sim._authorized(request):
        return error(401, "User not found.")
    if not isinstance(body, dict) or not isinstance(model_id, str):
        return error(400, "model: expected a model id")
    attempt = sim.state.attempt("embeddings\0" + (await request.body()).decode("utf-8", "replace"))
    fault = fault_for(model_id)
    if (failure := request_fault(fault, attempt)) is not None:
        return failure
    model = sim.model(model_id)
    # A fault model stands in for any kind of model.
    if model is None or (fault is None and "embeddings" not in model["architecture"]["output_modalities"]):
        return error(404 if model is None else 400, f"{model_id} is not an embeddings model.")
    if (failure := await before_answer(fault, "OpenAI")) is not None:
        return failure
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return error(400, "input: expected a string or a non-empty list of strings")
    asked = body.get("dimensions")
    dims = asked if isinstance(asked, int) and 8 <= asked <= 4096 else DIMENSIONS
    tokens = sum(max(1, math.ceil(len(t) / 4)) for t in texts)
    cost = (tokens * Decimal(str(model["pricing"].get("prompt") or "0"))).quantize(Decimal("0.000000001"))
    gen = Generation(id=f"gen-emb-{int(time.time())}-{uuid.uuid4().hex[:12]}", model=model_id, provider="OpenAI", created_at=time.time(), streamed=False)
    gen.prompt_tokens, gen.cost, gen.finish_reason = tokens, cost, "stop"
    sim.state.bill(gen)
    if fault is not None and fault.kind == "bad-json":  # billed, then cut off
        return Response('{"id": "' + gen.id + '", "object": "list", "data": [', media_type="application/json")
    data: list[dict[str, Any]] = [{"object": "embedding", "index": i, "embedding": embed(t, dims)} for i, t in enumerate(texts)]
    return JSONResponse(
        {"id": gen.id, "object": "list", "data": data, "model": model_id, "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "cost": float(cost)}}
    )
