"""The CLI's tables, drawn by rich: on a terminal with a rule under the header, bold headers and colour;
on a pipe or in a file as plain text that scripts read (no box, columns two spaces apart, lines never
wrapped and without trailing spaces). rich loads only when a command draws."""

from __future__ import annotations

import io
import shutil
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Column, Table

# Wide enough that a plain table is never wrapped, whatever COLUMNS says.
_PLAIN_WIDTH = 10_000


def table(*columns: Column | str) -> Table:
    """An empty table with these columns (a header, or a rich Column for alignment, style and overflow)."""
    from rich.table import Table

    return Table(*columns, box=None, pad_edge=False, header_style="bold", show_edge=False)


def draw(grid: Table, stream: IO[str] | None = None) -> str:
    """The table as text for `stream` (stdout by default): styled for a terminal, plain for anything else."""
    from rich import box
    from rich.console import Console

    target = sys.stdout if stream is None else stream
    terminal = bool(getattr(target, "isatty", lambda: False)())
    out = io.StringIO()
    if terminal:
        grid.box = box.SIMPLE_HEAD
        console = Console(file=out, force_terminal=True, width=shutil.get_terminal_size().columns, markup=False, highlight=False, emoji=False)
    else:
        console = Console(file=out, force_terminal=False, no_color=True, width=_PLAIN_WIDTH, markup=False, highlight=False, emoji=False)
    console.print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").split("\n"))
