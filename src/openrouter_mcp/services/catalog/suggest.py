"""The closest current model ids to one that is not in the catalog: a retired id's successor, a near-miss
spelling, the same family's members."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .entries import VARIANTS, Snapshot, closest_variant, family, split_variant
from .retired import successor

if TYPE_CHECKING:
    from .search import SearchIndex


def suggestions(index: SearchIndex, snap: Snapshot, model_id: str, limit: int = 5) -> list[str]:
    """Up to `limit` current ids closest to a model id that is not in the catalog: a retired id's successor
    first; then a near-miss spelling (a typo); when nothing is spelled alike, the same family's closest
    members lead."""
    import difflib

    base, variant = split_variant(model_id.strip().lower())
    if variant is not None and variant not in VARIANTS:
        variant = closest_variant(variant)
    replacement = successor(base, snap.by_id)
    author, slash, slug = base.partition("/")
    pool = index.best_matches(base if slash else slug or author, 40) + index.slugs.get(base if not slash else slug, [])
    if slash:
        pool += index.of_author(author)
    compare = base if slash else author
    ids = dict.fromkeys(index.models[i].id for i in pool if ":" not in index.models[i].id)
    scored = sorted(((difflib.SequenceMatcher(None, compare, i.lower() if slash else i.partition("/")[2]).ratio(), i) for i in ids), key=lambda x: -x[0])
    spelled = [i for ratio, i in scored[:limit] if ratio >= 0.6]
    # A family of its own, or else (a retired line such as PaLM) its successor's.
    kin = [index.models[i].id for i in family_members(index, base) or family_members(index, replacement or "")][:2]
    typo = bool(scored) and scored[0][0] >= 0.85
    listed = [base] if base in snap.by_id else []
    ordered = listed + ([replacement] if replacement else []) + ([*spelled, *kin] if typo else [*kin, *spelled])
    out: list[str] = []
    for candidate in ordered:
        if variant and (variant != "free" or f"{candidate}:{variant}" in snap.by_id):
            candidate = f"{candidate}:{variant}"
        if candidate not in out and candidate.lower() != model_id.strip().lower():
            out.append(candidate)
    return out[:limit]


def family_members(index: SearchIndex, base: str) -> list[int]:
    """Current models of the id's family (author and name stem), those sharing its role words (sonnet,
    flash, mini, ...) first, then those that write text, then the newest."""
    words = {w for w in re.findall(r"[a-z]+", base.partition("/")[2]) if len(w) > 1}
    stem = set(re.findall(r"[a-z]+", family(base).partition("/")[2]))
    roles = words - stem

    def rank(i: int) -> tuple[int, int, int]:
        m = index.models[i]
        shared = len(roles & set(re.findall(r"[a-z]+", m.id.partition("/")[2])))
        return (-shared, 0 if "text" in m.output_modalities else 1, -m.created)

    members = [i for i in index.families.get(family(base), []) if ":" not in index.models[i].id]
    return sorted(members, key=rank)
