"""Argument checks every tool shares. Each names the field and says how to fix it (INVALID_INPUT)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import invalid

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*/[A-Za-z0-9][A-Za-z0-9._\-]*(:[A-Za-z0-9._\-]+)?$")


def model_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not MODEL_ID.match(value.strip()):
        raise invalid(field, f"{value!r} is not a model id", "Use author/slug, e.g. openai/gpt-4o-mini (variants: :free, :nitro, :floor, :online, :thinking)")
    return value.strip()


def number(field: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """A number from `lo` to `hi` (above `lo` when `lo_open`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, f"{value!r} is not a number", f"Use a number from {lo:g} to {hi:g}")
    if value < lo or value > hi or (lo_open and value == lo):
        rng = f"{'more than' if lo_open else 'from'} {lo:g} {'and at most' if lo_open else 'to'} {hi:g}"
        raise invalid(field, f"{value:g} is out of range", f"Use a number {rng}")
    return float(value)


def whole(field: str, value: Any, lo: int, hi: int | None = None) -> int:
    """A whole number of at least `lo` (and at most `hi`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"{value!r} is not a whole number", f"Use a whole number of at least {lo}")
    if value < lo or (hi is not None and value > hi):
        raise invalid(field, f"{value} is out of range", f"Use a whole number from {lo} to {hi}" if hi is not None else f"Use a whole number of {lo} or more")
    return value


def names(field: str, value: Any, *, allow_empty: bool = True) -> list[str]:
    """A list of non-blank strings, stripped."""
    if not isinstance(value, list) or (not value and not allow_empty) or not all(isinstance(x, str) and x.strip() for x in value):
        raise invalid(field, f"{value!r} is not a list of names", 'Use a list of strings, e.g. ["openai", "anthropic"]')
    return [x.strip() for x in value]


def flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid(field, f"{value!r} is not true or false", "Use true or false")
    return value
