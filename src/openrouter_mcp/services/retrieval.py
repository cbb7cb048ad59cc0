"""Embeddings and reranking: the inputs checked against their caps, the worst case held against
max_cost_usd and the budgets, and one ledgered upstream call each."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ..errors import ErrorCode, ToolFailure, invalid
from .billing import generation_costs
from .checks import model_id as check_model_id
from .tokens import estimate_text_tokens

if TYPE_CHECKING:
    from ..app import App
    from ..upstream.rerank import RerankHit
    from .catalog.entries import ModelInfo

# The caps a call takes (the tools' input schemas state them): a result of 128 vectors of 3,072
# dimensions is about 4 MB of JSON already.
MAX_TEXTS = 128
MAX_DOCUMENTS = 1000
MAX_CHARS = 200_000  # embeddings: all texts together; rerank: the query and all documents together
MAX_DIMENSIONS = 8192
DEFAULT_RERANK_MODEL = "cohere/rerank-v3.5"
# A margin on each text's token estimate (the tokens a model adds around a text), so the worst case errs high.
TEXT_OVERHEAD_TOKENS = 8
# Rerank is billed per search unit: a query with up to 100 documents, a long document counting once for
# every ~500 tokens (Cohere's unit, which OpenRouter's per-search price follows).
UNIT_DOCUMENTS = 100
UNIT_CHUNK_TOKENS = 500


@dataclass(frozen=True, slots=True)
class Embedded:
    model: str
    vectors: list[list[float]]
    prompt_tokens: int
    cost_usd: Decimal | None
    generation_id: str | None


@dataclass(frozen=True, slots=True)
class Ranked:
    model: str
    hits: list[RerankHit]  # best first, at most top_n
    total_tokens: int
    search_units: int
    cost_usd: Decimal | None
    generation_id: str | None


def _too_large(field: str, chars: int) -> ToolFailure:
    return ToolFailure(
        ErrorCode.TOO_LARGE,
        f"{field}: {chars:,} characters in all, more than the {MAX_CHARS:,} one call takes. Send fewer or shorter texts, over several calls.",
        details={"field": field, "cap_chars": MAX_CHARS},
    )


def _texts(value: str | list[str]) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not texts:
        raise invalid("input", "is an empty list", f"Give a text, or a list of 1 to {MAX_TEXTS} texts")
    if len(texts) > MAX_TEXTS:
        raise invalid("input", f"has {len(texts)} texts, more than the {MAX_TEXTS} one call takes", "Embed the rest in further calls")
    for i, text in enumerate(texts):
        if not text.strip():
            raise invalid("input" if isinstance(value, str) else f"input[{i}]", "is blank", "Give text to embed")
    if (chars := sum(map(len, texts))) > MAX_CHARS:
        raise _too_large("input", chars)
    return texts


def _model(requested: str | None, default: str) -> str:
    return check_model_id("model", requested) if requested is not None else default


async def _cost(app: App, cost_usd: Decimal | None, generation_id: str | None) -> Decimal | None:
    """The call's cost: as the answer gave it, else from one look at OpenRouter's record of the generation
    (left for the ledger's reconciler to read later when that record has no cost yet)."""
    if cost_usd is not None or not generation_id:
        return cost_usd
    return (await generation_costs(app.gateway, [generation_id], wait_s=0)).get(generation_id)


def _price(info: ModelInfo, tokens: int, requests: int = 1) -> Decimal:
    return tokens * (info.prompt_price or Decimal(0)) + requests * (info.request_price or Decimal(0))


async def create_embeddings(app: App, *, input: str | list[str], model: str | None, dimensions: int | None, max_cost_usd: float | None) -> Embedded:
    """One vector per text, in the order of the texts."""
    from ..upstream import embeddings as upstream

    texts = _texts(input)
    model_id = _model(model, app.settings.collective.embedding_model)
    info = await app.catalog.require(model_id)
    estimate = _price(info, sum(estimate_text_tokens(t) + TEXT_OVERHEAD_TOKENS for t in texts))
    provider = dict(app.settings.provider_defaults) or None
    async with app.ledger.paid_call(tool="create_embeddings", model=model_id, estimate_usd=estimate, max_cost_usd=max_cost_usd) as call:
        result = await upstream.create_embeddings(app.gateway, model_id, texts, dimensions=dimensions, provider=provider, on_start=call.started)
        cost = await _cost(app, result.cost_usd, result.generation_id)
        call.succeeded(
            model_used=result.model or model_id,
            provider=None,
            generation_id=result.generation_id,
            prompt_tokens=result.prompt_tokens,
            cost_usd=cost,
            latency_ms=result.latency_ms,
        )
    return Embedded(result.model or model_id, result.vectors, result.prompt_tokens, cost, result.generation_id)


def _search_units(query: str, documents: list[str]) -> int:
    """The most search units a rerank can take: every ~500 tokens of a document (with the query) one chunk,
    100 chunks a unit."""
    query_tokens = estimate_text_tokens(query)
    chunks = sum(max(1, math.ceil((query_tokens + estimate_text_tokens(d)) / UNIT_CHUNK_TOKENS)) for d in documents)
    return math.ceil(chunks / UNIT_DOCUMENTS)


async def rerank_documents(app: App, *, query: str, documents: list[str], model: str | None, top_n: int | None, max_cost_usd: float | None) -> Ranked:
    """The documents' relevance to the query, best first (ties in document order), at most top_n of them."""
    from ..upstream import rerank as upstream

    if not query.strip():
        raise invalid("query", "is blank", "Give the query to rank the documents against")
    if not documents:
        raise invalid("documents", "is an empty list", f"Give 1 to {MAX_DOCUMENTS} documents")
    for i, document in enumerate(documents):
        if not document.strip():
            raise invalid(f"documents[{i}]", "is blank", "Give each document's text, or leave the blank one out")
    if (chars := len(query) + sum(map(len, documents))) > MAX_CHARS:
        raise _too_large("documents", chars)
    model_id = _model(model, DEFAULT_RERANK_MODEL)
    info = await app.catalog.require(model_id)
    tokens = sum(estimate_text_tokens(d) + TEXT_OVERHEAD_TOKENS for d in documents) + estimate_text_tokens(query) * len(documents)
    estimate = _price(info, tokens, _search_units(query, documents))
    async with app.ledger.paid_call(tool="rerank_documents", model=model_id, estimate_usd=estimate, max_cost_usd=max_cost_usd) as call:
        result = await upstream.rerank(
            app.gateway,
            model_id,
            query,
            documents,
            top_n=None if top_n is None else min(top_n, len(documents)),
            provider=dict(app.settings.provider_defaults) or None,
            on_start=call.started,
        )
        cost = await _cost(app, result.cost_usd, result.generation_id)
        call.succeeded(
            model_used=result.model or model_id,
            provider=result.provider,
            generation_id=result.generation_id,
            prompt_tokens=result.total_tokens,
            cost_usd=cost,
            latency_ms=result.latency_ms,
        )
    hits = sorted(result.hits, key=lambda h: (-h.score, h.index))[: top_n or len(documents)]
    return Ranked(result.model or model_id, hits, result.total_tokens, result.search_units, cost, result.generation_id)
