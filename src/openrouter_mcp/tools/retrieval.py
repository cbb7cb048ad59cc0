"""The `retrieval` toolset: `create_embeddings` (vectors for texts) and `rerank_documents` (documents in
order of relevance to a query), each one paid, ledgered call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from ..core.results import ok
from ..services import retrieval
from ..shapes import Shape
from ._common import PAID_CALL

if TYPE_CHECKING:
    from ..app import App


class EmbeddingUsage(Shape):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsOutput(Shape):
    model: str
    embeddings: list[list[float]] = Field(description="One vector per input, in input order.")
    dimensions: int
    usage: EmbeddingUsage
    cost_usd: float
    generation_id: str | None


class RankedDocument(Shape):
    index: int = Field(description="Position in documents.")
    score: float
    document: str | None = None


class RerankUsage(Shape):
    total_tokens: int
    search_units: int


class RerankOutput(Shape):
    model: str
    results: list[RankedDocument] = Field(description="Best first.")
    usage: RerankUsage
    cost_usd: float
    generation_id: str | None


MaxCost = Annotated[float | None, Field(gt=0)]
SHOWN = 10  # results listed in the text; all of them are in the structured output


def register(server: MCPServer[Any], app: App) -> None:
    @server.tool(annotations=PAID_CALL, description="Embedding vectors for texts, in input order.")
    async def create_embeddings(
        input: Annotated[
            str | list[str],
            Field(
                description=f"A text or up to {retrieval.MAX_TEXTS} texts, {retrieval.MAX_CHARS:,} chars in all",
                json_schema_extra={"maxItems": retrieval.MAX_TEXTS, "maxLength": retrieval.MAX_CHARS},
            ),
        ],
        model: Annotated[str | None, Field(max_length=200, description="Default: the server's embedding model")] = None,
        dimensions: Annotated[int | None, Field(ge=1, le=retrieval.MAX_DIMENSIONS, description="Vector size, if the model allows")] = None,
        max_cost_usd: MaxCost = None,
    ) -> Annotated[CallToolResult, EmbeddingsOutput]:
        done = await retrieval.create_embeddings(app, input=input, model=model, dimensions=dimensions, max_cost_usd=max_cost_usd)
        size = len(done.vectors[0]) if done.vectors else 0
        out = {
            "model": done.model,
            "embeddings": done.vectors,
            "dimensions": size,
            "usage": {"prompt_tokens": done.prompt_tokens, "total_tokens": done.prompt_tokens},
            "cost_usd": float(done.cost_usd or 0),
            "generation_id": done.generation_id,
        }
        count = len(done.vectors)
        text = f"{count} vector{'' if count == 1 else 's'} of {size} dimensions (in the structured output) · {done.model} · {done.prompt_tokens} tokens · ${out['cost_usd']:.6f}"
        return ok(out, text)

    @server.tool(annotations=PAID_CALL, description="Rank documents by relevance to a query, best first.")
    async def rerank_documents(
        query: str,
        documents: Annotated[list[str], Field(min_length=1, max_length=retrieval.MAX_DOCUMENTS, description=f"{retrieval.MAX_CHARS:,} chars with the query")],
        model: Annotated[str | None, Field(max_length=200, description=f"Default {retrieval.DEFAULT_RERANK_MODEL}")] = None,
        top_n: Annotated[int | None, Field(ge=1, le=retrieval.MAX_DOCUMENTS, description="Keep the best N")] = None,
        return_documents: Annotated[bool | None, Field(description="Include the texts")] = None,
        max_cost_usd: MaxCost = None,
    ) -> Annotated[CallToolResult, RerankOutput]:
        done = await retrieval.rerank_documents(app, query=query, documents=documents, model=model, top_n=top_n, max_cost_usd=max_cost_usd)
        results: list[dict[str, Any]] = []
        for hit in done.hits:
            result: dict[str, Any] = {"index": hit.index, "score": hit.score}
            if return_documents:
                result["document"] = documents[hit.index]
            results.append(result)
        out = {
            "model": done.model,
            "results": results,
            "usage": {"total_tokens": done.total_tokens, "search_units": done.search_units},
            "cost_usd": float(done.cost_usd or 0),
            "generation_id": done.generation_id,
        }
        lines = [f"{len(results)} of {len(documents)} documents, best first:"]
        lines += [f"{i}. #{h.index} ({h.score:.4f}) {_snippet(documents[h.index])}" for i, h in enumerate(done.hits[:SHOWN], 1)]
        if len(results) > SHOWN:
            lines.append(f"… {len(results) - SHOWN} more in the structured output")
        lines.append(f"— {done.model} · {done.total_tokens} tokens · ${out['cost_usd']:.6f}")
        return ok(out, "\n".join(lines))


def _snippet(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
