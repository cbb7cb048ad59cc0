"""Model ids as a person types them: the catalog's ids that start with what was typed, then those that
contain it, then, for a misspelling, the closest ids (`suggest`) and the best text matches (`search`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .suggest import suggestions

if TYPE_CHECKING:
    from .entries import Snapshot
    from .search import SearchIndex

# The most values one completion may carry (MCP `completion/complete`).
MAX_VALUES = 100


def complete_model_id(index: SearchIndex, snap: Snapshot, typed: str, limit: int = MAX_VALUES) -> tuple[list[str], int]:
    """Up to `limit` model ids for a partly typed (or mistyped) one, best first, and how many matched in all."""
    text = typed.strip().lower()
    newest = index.order["newest"]
    if not text:
        return [index.models[i].id for i in newest[:limit]], len(newest)
    starts = [i for i in newest if index.lower_ids[i].startswith(text)]
    # "gpt-4o" matches "openai/gpt-4o..." by its name after the author too.
    named = [i for i in newest if "/" not in text and index.lower_ids[i].partition("/")[2].startswith(text)]
    contains = [i for i in newest if text in index.lower_ids[i]]
    ids = [index.models[i].id for i in (*starts, *named, *contains)]
    if len(dict.fromkeys(ids)) < limit:
        ids += suggestions(index, snap, text, limit=10)
        ids += [index.models[i].id for i in index.best_matches(text, 20)]
    found = list(dict.fromkeys(ids))
    return found[:limit], len(found)
