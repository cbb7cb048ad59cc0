"""The simulator's `POST /api/v1/rerank`, in the wire format of OpenRouter's "Submit a rerank request":
deterministic relevance scores (how far the query's and a document's word vectors from `embeddings.embed`
point the same way, so shared words rank a document higher), billed per search unit and per token at the
model's prices, with the fault models' failures injected as for chat."""

from __future__ import annotations

import math
import time
import uuid
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import catalog
from .embeddings import embed
from .faults import before_answer, fault_for, request_fault
from .media import price
from .responses import error, json_object
from .state import Generation, Simulator

UNIT_DOCUMENTS = 100  # documents a search unit covers


def _documents(raw: Any) -> list[str] | None:
    """The documents' texts (plain strings, or objects with `text`), or None when they are not a non-empty list of them."""
    if not isinstance(raw, list) or not raw:
        return None
    texts = []
    for document in raw:
        text = document.get("text") if isinstance(document, dict) else document
        if not isinstance(text, str) or not text:
            return None
        texts.append(text)
    return texts


class RerankRoutes:
    """`POST /rerank`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def rerank(self, request: Request) -> Response:
        body = await json_object(request)
        model_id = body.get("model") if isinstance(body, dict) else None
        self.sim.state.log(request, model=model_id, body=body if isinstance(body, dict) else None)
        if not self.sim._authorized(request):
            return error(401, "User not found.")
        if isinstance(body, Response):
            return body
        if not isinstance(model_id, str):
            return error(400, "model: expected a model id")
        query, documents, top_n = body.get("query"), _documents(body.get("documents")), body.get("top_n")
        if not isinstance(query, str) or not query:
            return error(400, "query: expected a non-empty string")
        if documents is None:
            return error(400, "documents: expected a non-empty array of strings or {text} objects")
        if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
            return error(400, "top_n: expected an integer of at least 1")
        attempt = self.sim.state.attempt("rerank\0" + (await request.body()).decode("utf-8", "replace"))
        fault = fault_for(model_id)
        if (failure := request_fault(fault, attempt)) is not None:
            return failure
        model = self.sim.model(model_id)
        if model is None:
            return error(404, f"No endpoints found for {model_id}.")
        # A fault model stands in for any kind of model.
        if fault is None and "rerank" not in model["architecture"]["output_modalities"]:
            return error(400, f"{model_id} is not a rerank model.")
        if (failure := await before_answer(fault, "Cohere")) is not None:
            return failure
        return self._answer(model_id, model, query, documents, top_n, fault.kind if fault else "")

    def _answer(self, model_id: str, model: dict[str, Any], query: str, documents: list[str], top_n: int | None, fault: str) -> Response:
        wanted = embed(query)
        scores = [max(0.0, round(sum(a * b for a, b in zip(wanted, embed(d), strict=True)), 6)) for d in documents]
        order = sorted(range(len(documents)), key=lambda i: (-scores[i], i))[: top_n or len(documents)]
        tokens = sum(max(1, math.ceil(len(t) / 4)) for t in (query, *documents))
        units = math.ceil(len(documents) / UNIT_DOCUMENTS)
        cost = (units * price(model, "request") + tokens * price(model, "prompt")).quantize(Decimal("0.000000001"))
        provider = str(catalog.behaviour(model_id.split(":", 1)[0])["provider"])
        gen = Generation(id=f"gen-rerank-{int(time.time())}-{uuid.uuid4().hex[:12]}", model=model_id, provider=provider, created_at=time.time(), streamed=False)
        gen.prompt_tokens, gen.cost, gen.finish_reason = tokens, cost, "stop"
        self.sim.state.bill(gen)
        if fault == "bad-json":
            return Response('{"id": "' + gen.id + '", "results": [', media_type="application/json")
        return JSONResponse(
            {
                "id": gen.id,
                "model": model_id,
                "provider": provider,
                "results": [{"index": i, "relevance_score": scores[i], "document": {"text": documents[i]}} for i in order],
                "usage": {"search_units": units, "total_tokens": tokens, "cost": float(cost)},
            }
        )
