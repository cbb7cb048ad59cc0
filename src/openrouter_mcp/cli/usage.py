"""`openrouter-mcp usage`: the local ledger as a table with a small bar chart in the terminal, as JSON,
or as a PNG chart (`--plot`); with `--simulate`, the simulator's own ledger under `<home>/simulated/`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..config import Settings
from ..services.usage import date_range, usage_stats
from ..storage import open_storage
from .common import settings_or_exit

GROUPS = {"model": "by_model", "tool": "by_tool", "provider": "by_provider"}


async def collect(settings: Settings, days: int) -> dict[str, Any]:
    end = datetime.now(UTC).date()
    span = date_range((end - timedelta(days=days - 1)).isoformat(), end.isoformat())
    storage = await open_storage(settings.database_url)
    try:
        return await usage_stats(storage, span)
    finally:
        await storage.close()


def rows_for(stats: dict[str, Any], by: str) -> list[tuple[str, int, int, int, float]]:
    """(label, calls, errors, tokens, cost) per group."""
    if by == "day":
        return [(d["date"], d["requests"], d["errors"], d["total_tokens"], d["total_cost"]) for d in stats["data"]]
    key = by
    return [(str(g[key]), g["requests"], g["errors"], g["tokens"], g["cost"]) for g in stats[GROUPS[by]]]


def render_table(stats: dict[str, Any], by: str, width: int = 24) -> str:
    rows = rows_for(stats, by)
    s = stats["summary"]
    lines = [f"Usage {stats['start_date']} to {stats['end_date']}: {s['total_requests']} calls, {s['total_errors']} errors, {s['total_tokens']} tokens, ${s['total_cost']:.6f}"]
    if s.get("calls_with_cost_pending"):
        lines.append(f"({s['calls_with_cost_pending']} calls still waiting for their cost from OpenRouter)")
    if not rows:
        lines.append("No calls in this period.")
        return "\n".join(lines)
    label_w = max(len(by), *(len(r[0]) for r in rows))
    top = max(r[4] for r in rows) or 1.0
    lines.append("")
    lines.append(f"{by:<{label_w}}  {'calls':>6}  {'errors':>6}  {'tokens':>9}  {'cost (USD)':>12}")
    for label, calls, errors, tokens, cost in rows:
        bar = "█" * max(1 if cost else 0, round(cost / top * width))
        lines.append(f"{label:<{label_w}}  {calls:>6}  {errors:>6}  {tokens:>9}  {cost:>12.6f}  {bar}")
    return "\n".join(lines)


def plot(stats: dict[str, Any], by: str, path: Path) -> None:
    """A horizontal bar chart of cost per group, as a PNG."""
    from PIL import Image, ImageDraw, ImageFont

    rows = rows_for(stats, by)[:20] or [("(no calls)", 0, 0, 0, 0.0)]
    font = ImageFont.load_default()
    row_h, left, right, top_pad = 28, 260, 140, 60
    width, height = 900, top_pad + row_h * len(rows) + 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((16, 16), f"Cost by {by}, {stats['start_date']} to {stats['end_date']} (total ${stats['summary']['total_cost']:.6f})", fill="black", font=font)
    top = max(r[4] for r in rows) or 1.0
    span = width - left - right
    for i, (label, calls, _errors, _tokens, cost) in enumerate(rows):
        y = top_pad + i * row_h
        draw.text((16, y + 6), label[:38], fill="black", font=font)
        draw.rectangle((left, y + 4, left + max(2, int(cost / top * span)), y + row_h - 6), fill=(52, 101, 164))
        draw.text((left + int(cost / top * span) + 8, y + 6), f"${cost:.6f} ({calls} calls)", fill=(60, 60, 60), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(require_key=False, simulate=args.simulate)
    return report(settings, days=args.days, by=args.by, as_json=args.json, plot_path=args.plot)


def report(settings: Settings, *, days: int, by: str, as_json: bool, plot_path: str | None) -> int:
    stats = asyncio.run(collect(settings, days))
    if as_json:
        json.dump(stats, sys.stdout, indent=2)
        print()
    else:
        print(render_table(stats, by))
    if plot_path:
        target = Path(plot_path).expanduser()
        if target.suffix.lower() != ".png":
            print(f"openrouter-mcp: --plot writes a PNG; use a file name ending in .png, not {target.name!r}", file=sys.stderr)
            return 2
        plot(stats, by, target)
        print(f"Chart written to {target}", file=sys.stderr)
    return 0
