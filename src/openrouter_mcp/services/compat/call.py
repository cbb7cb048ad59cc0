"""One call in a seed server's words, being turned into a call of ours: the arguments given (ours and
theirs, only those the caller set), our tool's arguments as they are built, and what to do to its result.
A value of theirs we cannot honour is refused, never dropped; one of theirs that says something else than
an argument of ours the caller also gave is refused too."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ...errors import invalid

if TYPE_CHECKING:
    from ...app import App

# What is done to a successful result's structured output and text (a job's later result is not reshaped).
After = Callable[[dict[str, Any], str], tuple[dict[str, Any], str]]


def show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


class Call:
    def __init__(self, ours: dict[str, Any], theirs: dict[str, Any], defaults: dict[str, Any], takes: frozenset[str]) -> None:
        self.args = dict(ours)  # our tool's arguments, as they are built
        self.theirs = theirs
        self.defaults = defaults  # our optional arguments' defaults
        self.takes = takes  # every argument our tool takes (its signature as registered, read at start-up)
        self.after: After | None = None

    def their(self, name: str, default: Any = None) -> Any:
        value = self.theirs.get(name)
        return default if value is None else value

    def put(self, ours: str, value: Any, *, alias: str) -> None:
        """Set our argument `ours` from their `alias`; refused when the caller also gave `ours`, otherwise."""
        given = self.args.get(ours)
        if given is not None and given != value:
            raise invalid(
                alias, f"{show(self.theirs.get(alias))} says {ours}={show(value)}, but {ours}={show(given)} is also given", f"Give {alias} or {ours}, not both"
            )
        self.args[ours] = value

    def refuse(self, name: str, why: str, fix: str) -> None:
        """Refuse their argument `name` when it is given (a value this server cannot honour)."""
        if name in self.theirs:
            raise invalid(name, why, fix)

    def amend(self, field: str, *, before: str | None = None, after: str | None = None) -> None:
        """Put text before and after our text argument `field` (left alone when the caller gave none: the
        tool says it is required)."""
        if isinstance(self.args.get(field), str):
            self.args[field] = "\n\n".join(part for part in (before, self.args[field], after) if part)


Translate = Callable[["App", Call], Awaitable[None]]
