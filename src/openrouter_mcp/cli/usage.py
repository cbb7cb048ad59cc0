"""`openrouter-mcp usage`: the local ledger as a table with a small bar chart in the terminal, as JSON,
or as a PNG chart (`--plot`); with `--simulate`, the simulator's own ledger under `<home>/simulated/`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..services.usage import date_range, usage_stats
from ..storage import open_storage
from .common import settings_or_exit

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont, ImageFont

    Font = FreeTypeFont | ImageFont

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
    lines = [
        f"Usage {stats['start_date']} to {stats['end_date']}: {s['total_requests']} calls, {s['total_errors']} errors, {s['total_tokens']} tokens, ${s['total_cost']:.6f}"
    ]
    if s.get("calls_with_cost_pending"):
        lines.append(f"({s['calls_with_cost_pending']} calls still waiting for their cost from OpenRouter)")
    if not rows:
        lines.append("No calls in this period.")
        return "\n".join(lines)
    from rich.table import Column

    from .tables import draw, table

    top = max(r[4] for r in rows) or 1.0
    numbers = (Column(header, justify="right") for header in ("calls", "errors", "tokens", "cost (USD)"))
    grid = table(Column(by, style="cyan", overflow="fold"), *numbers, Column("", style="blue"))
    for label, calls, errors, tokens, cost in rows:
        bar = "█" * max(1 if cost else 0, round(cost / top * width))
        grid.add_row(label, str(calls), str(errors), str(tokens), f"{cost:.6f}", bar)
    lines += ["", draw(grid)]
    return "\n".join(lines)


# The chart shows this many rows at most; the rest are summed up in one line under it.
PLOT_ROWS = 20
_BAR = (52, 101, 164)
_INK = (60, 60, 60)


def _font(size: int) -> Font:
    """A font whose spaces show at this size: DejaVu Sans where the system has it, else Pillow's own."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _wrap(text: str, font: Font, width: float) -> list[str]:
    """The label in lines no wider than `width`, broken after a '/', '-', ':' or space where one fits."""
    lines: list[str] = []
    while font.getlength(text) > width:
        cut = len(text)
        while cut > 1 and font.getlength(text[:cut]) > width:
            cut -= 1
        soft = max(text.rfind(mark, 0, cut) for mark in "/-: ")
        cut = soft + 1 if soft > 0 else cut
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*lines, text]


def left_out(rest: list[tuple[str, int, int, int, float]], by: str) -> str:
    """The chart's last line: how many groups it leaves out, and their cost and calls."""
    which = f"{'earlier' if by == 'day' else 'more'} {by}{'' if len(rest) == 1 else 's'}"
    calls = sum(r[1] for r in rest)
    return f"+ {len(rest)} {which}, ${sum(r[4] for r in rest):.6f} ({calls} call{'' if calls == 1 else 's'})"


def plot(stats: dict[str, Any], by: str, path: Path) -> None:
    """A horizontal bar chart of cost per group, as a PNG: the PLOT_ROWS costliest groups (the latest days,
    by day) with their full labels, wrapped when long, and a line for the rest; a group that cost $0 gets no bar."""
    from PIL import Image, ImageDraw

    rows = rows_for(stats, by)
    cut = max(0, len(rows) - PLOT_ROWS)
    shown, rest = (rows[cut:], rows[:cut]) if by == "day" else (rows[:PLOT_ROWS], rows[PLOT_ROWS:])
    font, title_font = _font(13), _font(15)
    width, pad, line_h, gap = 900, 16, 17, 12
    label_w = min(360.0, max([font.getlength(r[0]) for r in shown] + [font.getlength("(no calls in this period)")]))
    labels = [_wrap(r[0], font, label_w) for r in shown]
    left = pad + int(label_w) + 16
    span = width - left - 190  # room after the longest bar for its amount
    title_h = 48
    heights = [max(1, len(lines)) * line_h + gap for lines in labels]
    height = title_h + sum(heights) + (line_h + gap if rest or not rows else 0) + pad
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text(
        (pad, pad), f"Cost by {by}, {stats['start_date']} to {stats['end_date']} (total ${stats['summary']['total_cost']:.6f})", fill="black", font=title_font
    )
    top = max((r[4] for r in shown), default=0.0) or 1.0
    y = title_h
    for (_label, calls, _errors, _tokens, cost), lines, row_h in zip(shown, labels, heights, strict=True):
        for i, line in enumerate(lines):
            draw.text((pad, y + i * line_h), line, fill="black", font=font)
        end = left
        if cost > 0:
            end = left + max(2, int(cost / top * span))
            draw.rectangle((left, y, end, y + line_h - 3), fill=_BAR)
        amount = f"${cost:.6f}" if cost else "$0"
        draw.text((end + 8, y), f"{amount} ({calls} call{'' if calls == 1 else 's'})", fill=_INK, font=font)
        y += row_h
    if rest:
        draw.text((pad, y), left_out(rest, by), fill=_INK, font=font)
    elif not rows:
        draw.text((pad, y), "(no calls in this period)", fill=_INK, font=font)
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
