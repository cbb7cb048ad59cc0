"""The retrieval tools end to end: `create_embeddings` and `rerank_documents` driven through the real MCP
client (stdio and Streamable HTTP) against the simulator over a real socket. What reached "OpenRouter" is
read from the simulator's request log; what was billed, from the server's own ledger."""

from __future__ import annotations

import json
import math
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, SimLog, error_of, server_env
from .media_support import ledger_rows

PATHS = ("/api/v1/embeddings", "/api/v1/rerank")
QUERY = "What is the capital of France?"
DOCS = [
    "Berlin is the capital of Germany.",
    "Paris is the capital of France.",
    "The Eiffel Tower stands in Paris, France.",
    "Bananas are rich in potassium.",
]


def sent(sim_log: SimLog, mark: int) -> list[dict[str, Any]]:
    """The embeddings and rerank requests that reached the simulator since `mark`."""
    return [e for e in sim_log.entries()[mark:] if e["path"] in PATHS]


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


async def refused(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    return error_of(await client.call_tool(tool, args))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def post(simulator: RunningSimulator, path: str, body: dict[str, Any], key: str | None = SIMULATOR_KEY) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(simulator.api_url + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture(scope="module")
async def budget_client(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """A server whose daily budget is far below any retrieval call's worst case."""
    env = server_env(simulator, tmp_path_factory.mktemp("retrieval-budget"), OPENROUTER_MCP_DAILY_BUDGET_USD="0.0000001")
    async with ClientHolder(StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)) as client:
        yield client


async def test_both_tools_are_listed_small_annotated_and_state_their_caps(mcp_client: Client) -> None:
    tools = {t.name: t for t in (await mcp_client.list_tools()).tools}
    for name in ("create_embeddings", "rerank_documents"):
        tool = tools[name]
        size = len(json.dumps(tool.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":")).encode())
        print(f"{name}: {size} bytes in tools/list")
        assert size < 1000, size
        assert tool.annotations is not None and tool.annotations.destructive_hint is False and tool.annotations.read_only_hint in (False, None)
        assert tool.input_schema["additionalProperties"] is False
        assert tool.input_schema["properties"]["max_cost_usd"]["exclusiveMinimum"] == 0
        assert {"model", "cost_usd", "usage", "generation_id"} <= set(tool.output_schema["properties"])  # type: ignore[index]
    embed = tools["create_embeddings"].input_schema["properties"]
    assert (embed["input"]["maxItems"], embed["input"]["maxLength"]) == (128, 200_000)
    assert (embed["dimensions"]["minimum"], embed["dimensions"]["maximum"]) == (1, 8192)
    rerank = tools["rerank_documents"].input_schema
    assert rerank["required"] == ["query", "documents"]
    assert (rerank["properties"]["documents"]["minItems"], rerank["properties"]["documents"]["maxItems"]) == (1, 1000)
    assert (rerank["properties"]["top_n"]["minimum"], rerank["properties"]["top_n"]["maximum"]) == (1, 1000)
    assert rerank["properties"]["return_documents"]["type"] == "boolean"


async def test_create_embeddings_returns_one_vector_per_input_in_input_order(mcp_client: Client, sim_log: SimLog) -> None:
    texts = ["the cat sat on the mat", "stock prices fell sharply today", "a cat sat on a mat"]
    mark = sim_log.mark()
    out = await call(mcp_client, "create_embeddings", {"input": texts})
    assert out["model"] == "openai/text-embedding-3-small"
    assert len(out["embeddings"]) == 3 and all(len(v) == out["dimensions"] == 256 for v in out["embeddings"])
    # The simulator's vectors follow shared words: the two texts about a cat are the closest pair.
    v = out["embeddings"]
    assert cosine(v[0], v[2]) > 0.5 > cosine(v[0], v[1])
    assert out["usage"]["prompt_tokens"] > 0 and out["usage"]["total_tokens"] == out["usage"]["prompt_tokens"]
    assert out["cost_usd"] > 0 and out["generation_id"].startswith("gen-emb-")
    (request,) = sent(sim_log, mark)
    assert request["body"] == {"model": "openai/text-embedding-3-small", "input": texts, "provider": {"data_collection": "deny"}}

    one = await call(mcp_client, "create_embeddings", {"input": texts[1]})
    assert one["embeddings"] == [v[1]]  # a lone string is one input, and its vector is the one it had in the list

    mark = sim_log.mark()
    short = await call(mcp_client, "create_embeddings", {"input": texts[:2], "dimensions": 64, "model": "openai/text-embedding-3-large"})
    assert short["dimensions"] == 64 and [len(x) for x in short["embeddings"]] == [64, 64]
    (request,) = sent(sim_log, mark)
    assert request["body"]["dimensions"] == 64 and request["body"]["model"] == "openai/text-embedding-3-large"


async def test_rerank_orders_documents_best_first_and_keeps_top_n(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await mcp_client.call_tool("rerank_documents", {"query": QUERY, "documents": DOCS})
    assert not result.is_error, result.content[0].text
    out = result.structured_content
    assert out["model"] == "cohere/rerank-v3.5"
    ranked = out["results"]
    assert sorted(r["index"] for r in ranked) == [0, 1, 2, 3]
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    assert ranked[0]["index"] == 1 and ranked[-1]["index"] == 3  # Paris first, bananas last
    assert all("document" not in r for r in ranked)
    assert out["usage"]["search_units"] == 1 and out["usage"]["total_tokens"] > 0
    assert out["cost_usd"] >= 0.001 and out["generation_id"].startswith("gen-rerank-")
    assert "1. #1 " in result.content[0].text and "Paris is the capital of France." in result.content[0].text
    (request,) = sent(sim_log, mark)
    assert request["body"] == {"model": "cohere/rerank-v3.5", "query": QUERY, "documents": DOCS, "provider": {"data_collection": "deny"}}

    mark = sim_log.mark()
    top = await call(mcp_client, "rerank_documents", {"query": QUERY, "documents": DOCS, "top_n": 2, "return_documents": True})
    assert [(r["index"], r["score"]) for r in top["results"]] == [(r["index"], r["score"]) for r in ranked[:2]]
    assert [r["document"] for r in top["results"]] == [DOCS[r["index"]] for r in ranked[:2]]
    (request,) = sent(sim_log, mark)
    assert request["body"]["top_n"] == 2

    mark = sim_log.mark()
    every = await call(mcp_client, "rerank_documents", {"query": QUERY, "documents": DOCS, "top_n": 10})
    assert len(every["results"]) == 4
    (request,) = sent(sim_log, mark)
    assert request["body"]["top_n"] == 4  # no more than there are documents


def test_the_simulator_answers_rerank_in_openrouters_wire_format(simulator: RunningSimulator) -> None:
    from openrouter.operations.creatererank import CreateRerankResponseBody

    status, body = post(simulator, "/rerank", {"model": "cohere/rerank-v3.5", "query": QUERY, "documents": [DOCS[0], {"text": DOCS[1]}, DOCS[3]], "top_n": 2})
    assert status == 200, body
    parsed = CreateRerankResponseBody.model_validate(body)
    assert [r.index for r in parsed.results] == [1, 0] and parsed.results[0].relevance_score > parsed.results[1].relevance_score
    assert parsed.results[0].document.text == DOCS[1]  # a {text} document is echoed like a plain one
    assert parsed.usage is not None and parsed.usage.search_units == 1 and parsed.usage.cost is not None
    with urllib.request.urlopen(
        urllib.request.Request(f"{simulator.api_url}/generation?id={body['id']}", headers={"Authorization": f"Bearer {SIMULATOR_KEY}"})
    ) as resp:
        assert json.load(resp)["data"]["total_cost"] == parsed.usage.cost  # billed as answered

    refusals: list[tuple[dict[str, Any], str | None, int]] = [
        ({"model": "cohere/rerank-v3.5", "query": QUERY, "documents": DOCS}, None, 401),
        ({"model": "openai/gpt-4o-mini", "query": QUERY, "documents": DOCS}, SIMULATOR_KEY, 400),
        ({"model": "cohere/rerank-v9", "query": QUERY, "documents": DOCS}, SIMULATOR_KEY, 404),
        ({"model": "cohere/rerank-v3.5", "query": QUERY, "documents": []}, SIMULATOR_KEY, 400),
        ({"model": "cohere/rerank-v3.5", "query": QUERY, "documents": DOCS, "top_n": 0}, SIMULATOR_KEY, 400),
    ]
    for request, key, expected in refusals:
        status, body = post(simulator, "/rerank", request, key)
        assert status == expected and body["error"]["code"] == expected, (request, body)


async def test_each_call_is_in_the_ledger_once_with_its_cost(mcp_client: Client, server_home: Path) -> None:
    embedded = await call(mcp_client, "create_embeddings", {"input": ["ledger check", "one row per call"]})
    ranked = await call(mcp_client, "rerank_documents", {"query": "ledger", "documents": ["the ledger", "a row"]})
    by_id = {embedded["generation_id"]: ("create_embeddings", embedded), ranked["generation_id"]: ("rerank_documents", ranked)}
    rows = await ledger_rows(server_home, set(by_id))
    assert sorted(r["generation_id"] for r in rows) == sorted(by_id)  # one row each, no more
    for row in rows:
        tool, out = by_id[row["generation_id"]]
        assert (row["tool"], row["status"], row["user_name"], row["model_requested"]) == (tool, "ok", "local", out["model"])
        assert row["cost_e10"] == round(out["cost_usd"] * 10**10) > 0
        assert row["estimate_e10"] >= row["cost_e10"]  # the worst case held against the budgets was not below the bill
    usage = await call(mcp_client, "get_usage_stats", {})
    assert {"create_embeddings", "rerank_documents"} <= {t["tool"] for t in usage["by_tool"]}


async def test_a_refusal_by_max_cost_usd_or_the_budget_sends_nothing(mcp_client: Client, budget_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    for client, extra, window in ((mcp_client, {"max_cost_usd": 1e-9}, "call"), (budget_client, {}, "daily")):
        for tool, args in (("create_embeddings", {"input": ["a text", "another"]}), ("rerank_documents", {"query": QUERY, "documents": DOCS})):
            error = await refused(client, tool, {**args, **extra})
            assert error["code"] == "BUDGET_EXCEEDED" and error["details"]["window"] == window, error
    assert sent(sim_log, mark) == []
    usage = await call(budget_client, "get_usage_stats", {})
    assert usage["summary"]["total_requests"] == 0  # a refused call leaves no ledger row


async def test_limits_at_and_past_each_cap(stdio_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    past: list[tuple[str, dict[str, Any], str, str | None]] = [
        ("create_embeddings", {"input": [f"text {i}" for i in range(129)]}, "INVALID_INPUT", "input"),
        ("create_embeddings", {"input": []}, "INVALID_INPUT", "input"),
        ("create_embeddings", {"input": "x" * 200_001}, "TOO_LARGE", "input"),
        ("create_embeddings", {"input": ["x" * 100_000, "y" * 100_001]}, "TOO_LARGE", "input"),
        ("create_embeddings", {"input": ["fine", "  "]}, "INVALID_INPUT", "input[1]"),
        ("create_embeddings", {"input": "text", "dimensions": 0}, "INVALID_INPUT", "dimensions"),
        ("create_embeddings", {"input": "text", "dimensions": 8193}, "INVALID_INPUT", "dimensions"),
        ("create_embeddings", {"input": "text", "model": "no-such/embedder"}, "MODEL_NOT_FOUND", None),
        ("rerank_documents", {"query": QUERY, "documents": [f"doc {i}" for i in range(1001)]}, "INVALID_INPUT", "documents"),
        ("rerank_documents", {"query": QUERY, "documents": []}, "INVALID_INPUT", "documents"),
        ("rerank_documents", {"query": "q" * 100_000, "documents": ["d" * 100_000, "e"]}, "TOO_LARGE", "documents"),
        ("rerank_documents", {"query": " ", "documents": DOCS}, "INVALID_INPUT", "query"),
        ("rerank_documents", {"query": QUERY, "documents": [*DOCS, ""]}, "INVALID_INPUT", "documents[4]"),
        ("rerank_documents", {"query": QUERY, "documents": DOCS, "top_n": 0}, "INVALID_INPUT", "top_n"),
        ("rerank_documents", {"query": QUERY, "documents": DOCS, "top_n": 1001}, "INVALID_INPUT", "top_n"),
        ("rerank_documents", {"query": QUERY, "documents": DOCS, "model": "cohere/rerank-v3.6"}, "MODEL_NOT_FOUND", None),
    ]
    for tool, args, code, field in past:
        error = await refused(stdio_client, tool, args)
        assert error["code"] == code, (tool, field, error)
        if field is not None:
            assert error["details"]["field"] == field and field in error["message"], (tool, field, error)
    assert (await refused(stdio_client, "rerank_documents", past[-1][1]))["suggestions"][0] == "cohere/rerank-v3.5"
    assert sent(sim_log, mark) == []

    at: list[tuple[str, dict[str, Any]]] = [
        ("create_embeddings", {"input": [f"text number {i}" for i in range(128)]}),
        ("create_embeddings", {"input": "x" * 200_000}),
        ("create_embeddings", {"input": ["x" * 100_000, "y" * 100_000], "dimensions": 8192}),
        ("create_embeddings", {"input": "text", "dimensions": 1}),
        ("rerank_documents", {"query": QUERY, "documents": [f"document {i} on a topic" for i in range(1000)], "top_n": 1000}),
        ("rerank_documents", {"query": "q" * 100_000, "documents": ["d" * 99_999, "e"], "top_n": 1}),
    ]
    for tool, args in at:
        await call(stdio_client, tool, args)
    assert len(sent(sim_log, mark)) == len(at)


@pytest.mark.parametrize(
    ("model", "code", "sends"),
    [
        ("sim/rate-limit", "RATE_LIMITED", 2),  # Retry-After (2 s) honoured once; a second wait would pass the 3 s cap
        ("sim/unavailable", "UPSTREAM_UNAVAILABLE", None),  # refused before any work: retried
        ("sim/timeout", "UPSTREAM_TIMEOUT", None),
        ("sim/internal-error", "UPSTREAM_ERROR", 1),  # may have run: never re-sent
        ("sim/no-credits", "NO_CREDITS", 1),
        ("sim/error-in-200", "UPSTREAM_UNAVAILABLE", 1),
        ("sim/bad-json", "UPSTREAM_ERROR", 1),
    ],
)
@pytest.mark.parametrize("tool", ["rerank_documents", "create_embeddings"])
async def test_an_upstream_fault_gives_its_code_and_the_server_keeps_serving(
    mcp_client: Client, sim_log: SimLog, model: str, code: str, sends: int | None, tool: str
) -> None:
    mark = sim_log.mark()
    args = {"query": QUERY, "documents": DOCS} if tool == "rerank_documents" else {"input": [QUERY, *DOCS]}
    error = await refused(mcp_client, tool, {**args, "model": model})
    assert error["code"] == code, error
    if code == "RATE_LIMITED":
        assert error["retryable"] is True and error["retry_after_s"] == 2
    count = len(sent(sim_log, mark))
    assert count == sends if sends is not None else 1 < count <= 4
    assert (await call(mcp_client, "rerank_documents", {"query": QUERY, "documents": DOCS}))["results"][0]["index"] == 1


async def test_a_fault_once_is_retried_and_a_refusal_upstream_is_reported(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    # A unique body: the simulator fails only the first request with a given body.
    once = await call(mcp_client, "rerank_documents", {"query": f"{QUERY} {mark} {id(mcp_client)}", "documents": DOCS, "model": "sim/server-error-once"})
    assert once["results"] and len(sent(sim_log, mark)) == 2

    mark = sim_log.mark()
    for tool, args in (
        ("create_embeddings", {"input": "text", "model": "openai/gpt-4o-mini"}),
        ("rerank_documents", {"query": QUERY, "documents": DOCS, "model": "openai/text-embedding-3-small"}),
    ):
        error = await refused(mcp_client, tool, args)
        assert error["code"] == "INVALID_INPUT" and "OpenRouter answered 400" in error["message"], error
    assert len(sent(sim_log, mark)) == 2  # refused, not retried
    assert (await call(mcp_client, "create_embeddings", {"input": "still serving"}))["embeddings"]
