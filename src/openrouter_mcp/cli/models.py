"""`openrouter-mcp models`: search OpenRouter's model catalog from the terminal and print a table (or
JSON), with the same filters as the `search_models` tool. Listing models needs no API key."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

# Only what the arguments need loads with the parser; the search itself waits until the command runs.
from ..services.catalog.search import FEATURES, SORTS

if TYPE_CHECKING:
    from ..config import Settings
    from ..services.catalog.search import SearchQuery


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="*", help="words or an id to look for (typos are fine)")
    parser.add_argument("--free", action="store_true", help="only free models")
    parser.add_argument(
        "--supports", action="append", default=[], metavar="FEATURE", help=f"required feature, repeatable: {', '.join(FEATURES)} or a parameter name"
    )
    parser.add_argument("--provider", help="model author prefix, e.g. openai, anthropic, meta")
    parser.add_argument("--input", action="append", default=[], metavar="MODALITY", help="accepted input, repeatable: text, image, file, audio, video")
    parser.add_argument(
        "--output", action="append", default=[], metavar="MODALITY", help="produced output, repeatable: text, image, audio, video, speech, embeddings"
    )
    parser.add_argument("--max-price", type=float, metavar="USD", help="most USD per million prompt tokens")
    parser.add_argument("--min-context", type=int, metavar="TOKENS", help="least context length")
    parser.add_argument("--sort", choices=SORTS, default="relevance")
    parser.add_argument("--limit", type=int, default=20, help="rows to show, 1-100 (default 20)")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the search_models result as JSON")
    parser.add_argument("--simulate", action="store_true", help="search the built-in simulator's catalog (no network)")


def _money(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}" if value >= 0.01 or value == 0 else f"{value:.4f}"


def _context(tokens: int | None) -> str:
    if not tokens:
        return "?"
    return f"{tokens / 1_000_000:.1f}M" if tokens >= 1_000_000 else f"{tokens // 1000}K"


def render(out: dict[str, object]) -> str:
    from rich.table import Column

    from .tables import draw, table

    rows = out["models"]
    assert isinstance(rows, list)
    grid = table(
        Column("ID", style="cyan", overflow="fold"),
        Column("CONTEXT", justify="right"),
        Column("$/M IN", justify="right"),
        Column("$/M OUT", justify="right"),
        Column("MODALITIES", overflow="fold"),
        "FEATURES",
    )
    for r in rows:
        price_in, price_out = _money(r["prompt_usd_per_m"]), _money(r["completion_usd_per_m"])
        if r["request_usd"] and not (r["prompt_usd_per_m"] or r["completion_usd_per_m"]):
            price_in, price_out = f"${r['request_usd']:g}/req", ""
        mods = f"{'+'.join(r['input_modalities'])}>{'+'.join(r['output_modalities'])}"
        features = " ".join(r["supports"]) + (" free" if r["free"] else "")
        grid.add_row(r["id"], _context(r["context_length"]), price_in, price_out, mods, features.strip())
    shown = len(rows)
    footer = f"{shown} of {out['total']} models"
    if out["next_offset"] is not None:
        footer += f" (more with --offset {out['next_offset']})"
    if out["corrections"]:
        assert isinstance(out["corrections"], dict)
        footer += "; read " + ", ".join(f"{k} as {v}" for k, v in out["corrections"].items())
    if out["stale"]:
        footer += f"; catalog is stale: {out['stale_reason']}"
    return f"{draw(grid)}\n{footer}" if rows else footer.replace(f"0 of {out['total']} models", "No model matches")


async def _search(settings: Settings, query: SearchQuery) -> dict[str, object]:
    from ..app import App
    from ..services.catalog.search import search

    app = App(settings)
    try:
        return await search(app.catalog, query)
    finally:
        await app.aclose()


def run(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from ..errors import ToolFailure
    from ..services.catalog.search import SearchQuery
    from .common import settings_or_exit, simulated

    settings = settings_or_exit(require_key=False, simulate=args.simulate)
    if args.simulate:
        settings = simulated(settings)
    query = SearchQuery(
        query=" ".join(args.query),
        provider=args.provider,
        input_modalities=tuple(args.input),
        output_modalities=tuple(args.output),
        supports=tuple(s.strip() for value in args.supports for s in value.split(",") if s.strip()),
        max_prompt_price=args.max_price,
        min_context_length=args.min_context,
        free_only=args.free,
        sort=args.sort,
        limit=args.limit,
        offset=args.offset,
    )
    try:
        out = asyncio.run(_search(settings, query))
    except ToolFailure as failure:
        print(f"openrouter-mcp models: {failure.message}", file=sys.stderr)
        return 2 if failure.code.value == "INVALID_INPUT" else 1
    print(json.dumps(out, indent=2) if args.json else render(out))
    return 0
