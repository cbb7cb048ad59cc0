"""`usage --plot`: the chart stays readable for any number of groups: at most PLOT_ROWS bars, a line that
says what was left out, no bar for a group that cost nothing, and model ids wrapped whole, never cut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from openrouter_mcp.cli import usage

BAR = (52, 101, 164)


def stats(costs: list[float], *, long_id: str | None = None) -> dict[str, Any]:
    groups = [{"model": f"vendor{i}/model-{i}", "requests": 2, "errors": 0, "tokens": 100, "cost": cost} for i, cost in enumerate(costs)]
    if long_id is not None:
        groups[0]["model"] = long_id
    summary = {"total_requests": 2 * len(costs), "total_errors": 0, "total_tokens": 100 * len(costs), "total_cost": sum(costs)}
    return {"start_date": "2026-01-01", "end_date": "2026-01-30", "data": [], "summary": summary, "by_model": groups}


def bars(path: Path) -> list[tuple[int, int]]:
    """The (top, bottom) pixel rows of each bar in the chart."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    rows = [any(pixels[x, y] == BAR for x in range(width)) for y in range(height)]
    runs, start = [], None
    for y, on in enumerate([*rows, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append((start, y - 1))
            start = None
    return runs


def test_many_groups_show_the_costliest_and_say_what_is_left_out(tmp_path: Path) -> None:
    costs = [0.01 / (i + 1) for i in range(27)]
    chart = tmp_path / "usage.png"
    usage.plot(stats(costs), "model", chart)
    assert len(bars(chart)) == usage.PLOT_ROWS == 20
    left = usage.rows_for(stats(costs), "model")[20:]
    assert usage.left_out(left, "model") == f"+ 7 more models, ${sum(costs[20:]):.6f} (14 calls)"
    assert usage.left_out(left[:1], "day") == f"+ 1 earlier day, ${costs[20]:.6f} (2 calls)"


def test_a_group_that_cost_nothing_gets_no_bar(tmp_path: Path) -> None:
    chart = tmp_path / "usage.png"
    usage.plot(stats([0.004, 0.002, 0.001, 0.0005, 0.0, 0.0]), "model", chart)
    assert len(bars(chart)) == 4


def test_a_long_model_id_is_wrapped_whole(tmp_path: Path) -> None:
    long_id = "someverylongauthorname-labs/an-extremely-long-model-identifier-that-keeps-going-2026-preview:thinking"
    font = usage._font(13)
    lines = usage._wrap(long_id, font, 360)
    assert len(lines) > 1 and "".join(lines) == long_id and all(font.getlength(line) <= 360 for line in lines)
    short, wrapped = tmp_path / "short.png", tmp_path / "long.png"
    usage.plot(stats([0.002, 0.001]), "model", short)
    usage.plot(stats([0.002, 0.001], long_id=long_id), "model", wrapped)
    assert Image.open(wrapped).size[1] > Image.open(short).size[1]  # the wrapped id's extra lines made the row taller
    assert Image.open(wrapped).size[0] == 900
