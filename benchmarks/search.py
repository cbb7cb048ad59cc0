"""Catalog search latency: `search_models`' per-snapshot index against a naive baseline, in one run.

The catalog is the simulator's `GET /models?output_modalities=all` (every model our server sees), and
the same catalog padded to 500 and 1000 models with renamed copies. For each, a mix of queries (exact
ids, prefixes, several words, description words, typos, filters alone and with words, no match) is
timed with:

  index     services.catalog.search.SearchIndex.search (the index is built once per catalog snapshot; its
            build time is reported apart);
  baseline  a linear scan: per query, every model's lower-cased id, name and description checked for
            every word by substring, filters checked field by field, and, when no word matches, difflib
            over every id for typos (what a first implementation does).

Also reported: `search_models` through a real MCP client (in-memory transport) on the plain catalog.

Run:  python benchmarks/search.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import statistics
import tempfile
import time
import urllib.request
from functools import partial
from typing import Any

from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.services.catalog.entries import ModelInfo
from openrouter_mcp.services.catalog.search import FEATURES, SearchIndex, SearchQuery
from openrouter_mcp.simulator.server import start_in_thread

QUERIES: list[tuple[str, SearchQuery]] = [
    ("exact id", SearchQuery(query="openai/gpt-4o-mini")),
    ("slug", SearchQuery(query="gpt-4o")),
    ("prefix", SearchQuery(query="claude")),
    ("two words", SearchQuery(query="gemini flash")),
    ("description word", SearchQuery(query="roleplay")),
    ("typo", SearchQuery(query="claude sonet")),
    ("typo in id", SearchQuery(query="openai/gpt-4o-mnii")),
    ("no match", SearchQuery(query="zzqqxx")),
    ("filters only", SearchQuery(supports=("tools", "reasoning"), max_prompt_price=1.0, sort="price")),
    ("free + context", SearchQuery(free_only=True, min_context_length=100_000, sort="context_length")),
    ("words + filters", SearchQuery(query="llama", input_modalities=("image",), supports=("tools",))),
    ("modalities", SearchQuery(output_modalities=("image",), sort="newest")),
]


def fetch_catalog() -> list[dict[str, Any]]:
    sim = start_in_thread()
    try:
        with urllib.request.urlopen(sim.api_url + "/models?output_modalities=all") as resp:
            return list(json.load(resp)["data"])
    finally:
        sim.stop()


def padded(items: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """The catalog grown to `size` models with renamed copies (another version of each model)."""
    out = list(items)
    n = 2
    while len(out) < size:
        for item in items:
            if len(out) >= size:
                break
            author, _, slug = item["id"].partition("/")
            out.append({**item, "id": f"{author}/{slug.split(':')[0]}-v{n}", "name": f"{item['name']} v{n}", "created": item["created"] + n})
        n += 1
    return out


# ---------- the baseline ----------


def baseline(models: list[ModelInfo], q: SearchQuery) -> list[str]:
    words = q.query.lower().split()
    params = {FEATURES.get(s, s) for s in q.supports}
    hits: list[tuple[int, ModelInfo]] = []
    for m in models:
        if q.free_only and not m.is_free:
            continue
        if q.provider and not m.author.startswith(q.provider):
            continue
        if not set(q.input_modalities) <= set(m.input_modalities) or not set(q.output_modalities) <= set(m.output_modalities):
            continue
        if not params <= m.supported_parameters:
            continue
        if q.max_prompt_price is not None and (m.prompt_price is None or float(m.prompt_price) * 1e6 > q.max_prompt_price):
            continue
        if q.min_context_length is not None and (m.context_length or 0) < q.min_context_length:
            continue
        score = 0
        if words:
            text = f"{m.id} {m.name} {m.description}".lower()
            if not all(w in text for w in words):
                continue
            score = 100 if m.id == q.query else 50 if m.id.startswith(q.query) else sum(w in m.id for w in words)
        hits.append((score, m))
    if words and not hits:
        close = set(difflib.get_close_matches(q.query.lower(), [m.id for m in models], n=20, cutoff=0.6))
        hits = [(1, m) for m in models if m.id in close]
    key = {
        "relevance": lambda h: (-h[0], -h[1].created),
        "price": lambda h: (h[1].prompt_price is None, (h[1].prompt_price or 0) + (h[1].completion_price or 0)),
        "context_length": lambda h: -(h[1].context_length or 0),
        "newest": lambda h: -h[1].created,
    }[q.sort]
    hits.sort(key=key)
    return [m.id for _, m in hits[q.offset : q.offset + q.limit]]


# ---------- timing ----------


def timed(fn: Any, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


async def via_mcp(rounds: int) -> list[float]:
    from mcp import Client

    from openrouter_mcp.server import build_server

    sim = start_in_thread()
    try:
        env = {
            "OPENROUTER_BASE_URL": sim.api_url,
            "OPENROUTER_API_KEY": SIMULATOR_KEY,
            "OPENROUTER_MCP_HOME": tempfile.mkdtemp(),
            "OPENROUTER_MCP_TOOLSETS": "models",
        }
        server, _ = build_server(load_settings(env))
        samples: list[float] = []
        async with Client(server) as client:
            await client.call_tool("search_models", {"query": "warm up"})
            for _ in range(rounds // len(QUERIES) + 1):
                for _, q in QUERIES:
                    args = {k: v for k, v in {"query": q.query or None, "supports": list(q.supports) or None, "free_only": q.free_only or None,
                            "max_prompt_price": q.max_prompt_price, "min_context_length": q.min_context_length,
                            "input_modalities": list(q.input_modalities) or None, "output_modalities": list(q.output_modalities) or None,
                            "sort": q.sort}.items() if v is not None}  # fmt: skip
                    t = time.perf_counter()
                    result = await client.call_tool("search_models", args)
                    samples.append((time.perf_counter() - t) * 1e6)
                    assert not result.is_error
        return samples
    finally:
        sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200, help="timed runs of each query (default 200)")
    args = parser.parse_args()
    items = fetch_catalog()
    print(f"Catalog search latency, microseconds per query ({len(QUERIES)} queries x {args.rounds} rounds each)\n")
    print(f"{'models':>6}  {'index build':>11}  {'index p50':>9}  {'index p99':>9}  {'baseline p50':>12}  {'baseline p99':>12}  {'p50 ratio':>9}")
    per_query: dict[str, tuple[float, float]] = {}
    for size in (len(items), 500, 1000):
        models = [ModelInfo.from_wire(i) for i in padded(items, size)]
        t = time.perf_counter()
        index = SearchIndex(models)
        build_ms = (time.perf_counter() - t) * 1000
        ours: list[float] = []
        base: list[float] = []
        for label, q in QUERIES:
            mine = timed(partial(index.search, index.check(q)), args.rounds)
            theirs = timed(partial(baseline, models, q), args.rounds)
            ours += mine
            base += theirs
            if size == 500:
                per_query[label] = (statistics.median(mine), statistics.median(theirs))
        o50, b50 = statistics.median(ours), statistics.median(base)
        print(f"{size:>6}  {build_ms:>8.1f} ms  {o50:>9.1f}  {p99(ours):>9.1f}  {b50:>12.1f}  {p99(base):>12.1f}  {b50 / o50:>8.0f}x")
    print(f"\nPer query at 500 models, p50 in microseconds\n{'query':<18}  {'index':>7}  {'baseline':>8}")
    for label, (mine_p50, theirs_p50) in per_query.items():
        print(f"{label:<18}  {mine_p50:>7.1f}  {theirs_p50:>8.1f}")
    mcp = asyncio.run(via_mcp(args.rounds))
    print(f"\nsearch_models through an in-memory MCP client ({len(items)} models): p50 {statistics.median(mcp) / 1000:.2f} ms, p99 {p99(mcp) / 1000:.2f} ms")


if __name__ == "__main__":
    main()
