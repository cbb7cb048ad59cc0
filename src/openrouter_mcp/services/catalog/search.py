"""Catalog search: an index built once per catalog snapshot that answers `search_models` from memory.

Filters are bitmasks over the models (one Python int per modality, parameter, author, price and context
threshold), so a filter costs a few big-int ANDs. Text matching goes through token postings (id and
name tokens weigh more than description words), prefix lookups on a sorted vocabulary, substring scans
of one joined string, and a deletion-neighbourhood index for typos (one edit for short words, two for
long ones), so no query compares itself with every model.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from ...errors import invalid
from ..checks import whole
from .entries import ModelInfo, Snapshot, catalog_state, family, split_variant

SORTS = ("relevance", "price", "context_length", "newest")
Sort = Literal["relevance", "price", "context_length", "newest"]
MAX_LIMIT = 100

# The features a row shows, each the supported parameter it is read from.
FEATURES: dict[str, str] = {
    "tools": "tools",
    "structured_outputs": "structured_outputs",
    "response_format": "response_format",
    "reasoning": "reasoning",
    "web_search": "web_search_options",
}
# Other names people use for the same parameters.
_ALIASES = {"json": "response_format", "json_mode": "response_format", "function_calling": "tools", "tool_calling": "tools", "tool_choice": "tool_choice"}
MODALITIES = ("text", "image", "file", "audio", "video", "embeddings", "rerank", "speech", "transcription")

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")
_PART = re.compile(r"[a-z]+|[0-9]+(?:\.[0-9]+)*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "with"]
)

# Scores: what a match is worth, strongest first.
_EXACT_ID, _EXACT_BASE, _EXACT_SLUG, _ID_PREFIX, _SLUG_PREFIX, _ID_SUBSTRING, _COMPACT_SUBSTRING = 1000, 900, 800, 400, 350, 200, 150
_STRONG = {"exact": 30, "prefix": 20, "fuzzy": 12}
_WEAK = {"exact": 6, "prefix": 4, "fuzzy": 2}
_MILLION = Decimal(1_000_000)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; a token mixing letters and digits also yields its parts (qwen3 -> qwen, 3)."""
    out: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        out.append(token)
        parts = _PART.findall(token)
        if len(parts) > 1:
            out.extend(p for p in parts if len(p) > 1 or p.isdigit())
    return out


def per_million(price: Decimal | None) -> float | None:
    """USD per token -> USD per million tokens, as people read prices."""
    return None if price is None else float((price * _MILLION).normalize())


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _max_edits(word: str) -> int:
    return 0 if len(word) < 4 or any(c.isdigit() for c in word) else (1 if len(word) < 8 else 2)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours counts one), or limit + 1 when larger."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class _Vocabulary:
    """Token -> models postings with exact, prefix and typo-tolerant lookup."""

    def __init__(self, postings: dict[str, set[int]]) -> None:
        self.postings = postings
        self.sorted = sorted(postings)
        self.neighbours: dict[str, list[str]] = {}
        for word in self.sorted:
            for variant in _deletes(word, _max_edits(word)):
                self.neighbours.setdefault(variant, []).append(word)

    def prefixed(self, prefix: str) -> list[str]:
        lo = bisect_left(self.sorted, prefix)
        hi = bisect_left(self.sorted, prefix + "\uffff", lo)
        return self.sorted[lo:hi]

    def close(self, word: str) -> list[str]:
        """Vocabulary words within the edits a word of this length allows, nearest first."""
        edits = _max_edits(word)
        if not edits:
            return []
        seen: set[str] = set()
        for variant in _deletes(word, edits):
            seen.update(self.neighbours.get(variant, ()))
        seen.discard(word)
        near = [(edit_distance(word, w, edits), w) for w in seen]
        return [w for d, w in sorted(near) if d <= edits]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    query: str = ""
    provider: str | None = None
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()
    supports: tuple[str, ...] = ()
    max_prompt_price: float | None = None
    max_completion_price: float | None = None
    min_context_length: int | None = None
    free_only: bool = False
    sort: str = "relevance"
    limit: int = 20
    offset: int = 0


@dataclass(slots=True)
class SearchPage:
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    corrections: dict[str, str] = field(default_factory=dict)

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total

    @property
    def next_offset(self) -> int | None:
        return self.offset + len(self.rows) if self.has_more else None


def usd(price: Decimal | None) -> float | None:
    """A flat price (per request, image, search) in USD; None when unknown or zero."""
    return float(price) if price else None


def prices_of(m: ModelInfo) -> dict[str, float | None]:
    """A model's token and request prices, as search results and model details show them."""
    return {
        "prompt_usd_per_m": per_million(m.prompt_price),
        "completion_usd_per_m": per_million(m.completion_price),
        "request_usd": usd(m.request_price),
    }


def features_of(params: Container[str]) -> list[str]:
    """The FEATURES names that supported parameters give."""
    return [name for name, param in FEATURES.items() if param in params]


def date_of(epoch: int) -> str | None:
    """A Unix time as a UTC date (None for 0, unknown)."""
    return datetime.fromtimestamp(epoch, UTC).date().isoformat() if epoch else None


def compact_row(m: ModelInfo) -> dict[str, Any]:
    """What one search result shows: enough to choose, small enough for a model's context."""
    return {
        "id": m.id,
        "name": m.name,
        "context_length": m.context_length,
        **prices_of(m),
        "input_modalities": list(m.input_modalities),
        "output_modalities": list(m.output_modalities),
        "supports": features_of(m.supported_parameters),
        "free": m.is_free,
        "released": date_of(m.created),
    }


class Indexed(Protocol):
    """What a search needs of the catalog: its index, built once per snapshot (the `Catalog` itself)."""

    async def index(self) -> tuple[SearchIndex, Snapshot]: ...


async def search(catalog: Indexed, query: SearchQuery) -> dict[str, Any]:
    """One page of search results with the catalog's freshness, as `search_models` and `openrouter-mcp models` show it."""
    index, snap = await catalog.index()
    page = index.search(index.check(query))
    return {
        **catalog_state(snap),
        "models": page.rows,
        "total": page.total,
        "has_more": page.has_more,
        "next_offset": page.next_offset,
        "corrections": page.corrections,
    }


class SearchIndex:
    """Everything `search` needs, precomputed from one snapshot's models (read-only afterwards)."""

    def __init__(self, models: Sequence[ModelInfo]) -> None:
        self.models = tuple(models)
        n = len(self.models)
        self.rows = [compact_row(m) for m in self.models]
        self.position = {m.id.lower(): i for i, m in enumerate(self.models)}
        self.lower_ids = [m.id.lower() for m in self.models]
        self.all = (1 << n) - 1
        self.free = _mask(i for i, m in enumerate(self.models) if m.is_free)
        self.authors: dict[str, int] = {}
        self.inputs: dict[str, int] = {}
        self.outputs: dict[str, int] = {}
        self.params: dict[str, int] = {}
        for i, m in enumerate(self.models):
            bit = 1 << i
            self.authors[m.author.lower()] = self.authors.get(m.author.lower(), 0) | bit
            for mod in m.input_modalities:
                self.inputs[mod] = self.inputs.get(mod, 0) | bit
            for mod in m.output_modalities:
                self.outputs[mod] = self.outputs.get(mod, 0) | bit
            for p in m.supported_parameters:
                self.params[p] = self.params.get(p, 0) | bit

        # Orders for the sorts; unknown prices and context lengths go last.
        newest = sorted(range(n), key=lambda i: (-self.models[i].created, self.models[i].id))
        self.order: dict[str, list[int]] = {
            "newest": newest,
            "price": sorted(range(n), key=lambda i: (*_price_key(self.models[i]), self.models[i].id)),
            "context_length": sorted(range(n), key=lambda i: (-(self.models[i].context_length or -1), self.models[i].id)),
        }
        self.rank = {name: _ranks(order) for name, order in self.order.items()}
        # Threshold filters: a sorted key list and the mask of every prefix of it.
        self.prompt_prices = _threshold([(m.prompt_price, i) for i, m in enumerate(self.models) if m.prompt_price is not None])
        self.completion_prices = _threshold([(m.completion_price, i) for i, m in enumerate(self.models) if m.completion_price is not None])
        self.contexts = _threshold([(-(m.context_length or 0), i) for i, m in enumerate(self.models) if m.context_length])

        # Text: exact ids and slugs, joined strings for substring scans, and token vocabularies.
        self.base_ids: dict[str, list[int]] = {}
        self.slugs: dict[str, list[int]] = {}
        self.families: dict[str, list[int]] = {}
        for i, m in enumerate(self.models):
            base = split_variant(m.id.lower())[0]
            self.base_ids.setdefault(base, []).append(i)
            self.slugs.setdefault(base.partition("/")[2], []).append(i)
            self.families.setdefault(family(base), []).append(i)
        self._ids_joined, self._id_starts = _joined(self.lower_ids)
        self._compact_joined, self._compact_starts = _joined(_NOT_ALNUM.sub("", i) for i in self.lower_ids)
        strong: dict[str, set[int]] = {}
        weak: dict[str, set[int]] = {}
        for i, m in enumerate(self.models):
            for tok in tokenize(f"{m.id} {m.name}"):
                strong.setdefault(tok, set()).add(i)
            for tok in tokenize(m.description):
                if tok not in _STOP and len(tok) > 1:
                    weak.setdefault(tok, set()).add(i)
        self.strong = _Vocabulary(strong)
        self.weak = _Vocabulary(weak)
        # Among equal matches, general models (short slugs) that write text rank first, then the newest.
        self.shape = [
            (1 if "text" in m.output_modalities else 0) - 2 * len(_TOKEN.findall(self.lower_ids[i].partition("/")[2])) for i, m in enumerate(self.models)
        ]
        self.created = [m.created for m in self.models]
        self.known_params = frozenset(self.params)
        self.known_modalities = frozenset(MODALITIES) | frozenset(self.inputs) | frozenset(self.outputs)

    # ---------- validation ----------
    def check(self, q: SearchQuery) -> SearchQuery:
        """The query with names normalised; INVALID_INPUT naming the field when a value cannot match anything."""
        whole("limit", q.limit, 1, MAX_LIMIT)
        whole("offset", q.offset, 0)
        if q.sort not in SORTS:
            raise invalid("sort", f"{q.sort!r} is not a sort", f"Use one of {', '.join(SORTS)}")
        for field_name, values in (("input_modalities", q.input_modalities), ("output_modalities", q.output_modalities)):
            bad = [v for v in values if v.lower() not in self.known_modalities]
            if bad:
                raise invalid(field_name, f"{', '.join(map(repr, bad))} is not a modality", f"Use any of {', '.join(sorted(self.known_modalities))}")
        supports = tuple(self.parameter(s) for s in q.supports)
        for field_name, price in (("max_prompt_price", q.max_prompt_price), ("max_completion_price", q.max_completion_price)):
            if price is not None and price < 0:
                raise invalid(field_name, f"{price} is negative", "Give USD per million tokens, 0 or more (0 means free)")
        if q.min_context_length is not None:
            whole("min_context_length", q.min_context_length, 1)
        provider = q.provider.strip().lower() if q.provider else None
        if provider is not None and not any(a.startswith(provider) for a in self.authors):
            close = difflib.get_close_matches(provider, self.authors, n=3, cutoff=0.6) or sorted(self.authors)[:3]
            raise invalid("provider", f"no model author starts with {q.provider!r}", f"Use an author prefix such as {', '.join(close)}")
        return replace(
            q,
            query=q.query.strip(),
            provider=provider or None,
            input_modalities=tuple(v.lower() for v in q.input_modalities),
            output_modalities=tuple(v.lower() for v in q.output_modalities),
            supports=supports,
        )

    def parameter(self, name: str) -> str:
        """The supported parameter a feature name stands for (tools, structured_outputs, web_search, ...)."""
        key = name.strip().lower()
        param = FEATURES.get(key) or _ALIASES.get(key) or key
        if param not in self.known_params:
            features = ", ".join(FEATURES)
            raise invalid(
                "supports", f"{name!r} is not a feature or parameter any model supports", f"Use {features}, or a parameter name such as seed or logprobs"
            )
        return param

    # ---------- search ----------
    def search(self, q: SearchQuery) -> SearchPage:
        """One page of models matching every filter, ranked. `q` must have passed `check`."""
        mask = self._filter_mask(q)
        corrections: dict[str, str] = {}
        if q.query:
            scores = self._text_scores(q.query, corrections)
            hits = [i for i in scores if mask >> i & 1]
            if q.sort == "relevance":
                shape, created = self.shape, self.created
                hits.sort(key=lambda i: (-(scores[i] + shape[i]), -created[i], i))
            else:
                hits.sort(key=self.rank[q.sort].__getitem__)
            total = len(hits)
            page = hits[q.offset : q.offset + q.limit]
        else:
            total = mask.bit_count()
            order = self.order["newest" if q.sort == "relevance" else q.sort]
            page = []
            skip = q.offset
            for i in order:
                if mask >> i & 1:
                    if skip:
                        skip -= 1
                        continue
                    page.append(i)
                    if len(page) == q.limit:
                        break
        return SearchPage(rows=[self.rows[i] for i in page], total=total, offset=q.offset, limit=q.limit, corrections=corrections)

    def best_matches(self, text: str, limit: int) -> list[int]:
        """The `limit` models whose id, name or description match `text` best (typos tolerated)."""
        scores = self._text_scores(text, {})
        return sorted(scores, key=lambda i: (-(scores[i] + self.shape[i]), -self.created[i]))[:limit]

    def of_author(self, author: str) -> list[int]:
        bits = self.authors.get(author.lower(), 0)
        return [i for i in range(bits.bit_length()) if bits >> i & 1]

    def _filter_mask(self, q: SearchQuery) -> int:
        mask = self.all
        if q.free_only:
            mask &= self.free
        if q.provider:
            mask &= _union(bits for author, bits in self.authors.items() if author.startswith(q.provider))
        for mod in q.input_modalities:
            mask &= self.inputs.get(mod, 0)
        for mod in q.output_modalities:
            mask &= self.outputs.get(mod, 0)
        for param in q.supports:
            mask &= self.params.get(param, 0)
        if q.max_prompt_price is not None:
            mask &= self.prompt_prices.at_most(Decimal(repr(q.max_prompt_price)) / _MILLION)
        if q.max_completion_price is not None:
            mask &= self.completion_prices.at_most(Decimal(repr(q.max_completion_price)) / _MILLION)
        if q.min_context_length is not None:
            mask &= self.contexts.at_most(-q.min_context_length)
        return mask

    def _text_scores(self, query: str, corrections: dict[str, str]) -> dict[int, int]:
        text = query.lower()
        scores: dict[int, int] = {}
        # Whole-query matches on the id: exact, variant-less, slug, prefix, substring.
        if (exact := self.position.get(text)) is not None:
            _lift(scores, [exact], _EXACT_ID)
        _lift(scores, self.base_ids.get(text, ()), _EXACT_BASE)
        _lift(scores, self.slugs.get(text, ()), _EXACT_SLUG)
        for i in _occurrences(self._ids_joined, self._id_starts, text):
            model_id = self.lower_ids[i]
            _lift(scores, [i], _ID_PREFIX if model_id.startswith(text) else _SLUG_PREFIX if model_id.partition("/")[2].startswith(text) else _ID_SUBSTRING)
        compact = _NOT_ALNUM.sub("", text)
        if len(compact) >= 3:
            _lift(scores, _occurrences(self._compact_joined, self._compact_starts, compact), _COMPACT_SUBSTRING)
        on_id = dict(scores)

        # Word matches: every query word must match the model somewhere (id, name or description).
        words = [w for w in dict.fromkeys(tokenize(text)) if w not in _STOP]
        per_word: list[dict[int, int]] = []
        for word in words:
            found: dict[int, int] = {}
            for vocab, weights in ((self.strong, _STRONG), (self.weak, _WEAK)):
                if word in vocab.postings:
                    _lift(found, vocab.postings[word], weights["exact"])
                for longer in vocab.prefixed(word) if len(word) >= 2 else ():
                    if longer != word:
                        _lift(found, vocab.postings[longer], weights["prefix"])
            spelled = word in self.strong.postings or word in self.weak.postings
            # A word no id or name starts with may be a typo of one (sonet -> sonnet), else of a description word.
            for vocab, weights in ((self.strong, _STRONG), (self.weak, _WEAK)):
                if any(s >= _STRONG["prefix"] for s in found.values()) or (vocab is self.weak and found):
                    break
                near = vocab.close(word)
                for w in near:
                    _lift(found, vocab.postings[w], weights["fuzzy"])
                if near and not spelled:
                    corrections.setdefault(word, near[0])
            per_word.append(found)
        if per_word:
            matched = set(per_word[0]).intersection(*per_word[1:])
            if not matched and not on_id and len(per_word) > 1:
                # No model has every word: rank by how many words match, so a near miss still answers.
                matched = set().union(*per_word)
            for i in matched:
                word_score = sum(found.get(i, 0) for found in per_word)
                scores[i] = max(scores.get(i, 0), on_id.get(i, 0) + word_score)
        return scores


@dataclass(slots=True)
class _Threshold:
    keys: list[Any]
    masks: list[int]  # masks[k] = models with the k smallest keys

    def at_most(self, limit: Any) -> int:
        return self.masks[bisect_right(self.keys, limit)]


def _threshold(pairs: list[tuple[Any, int]]) -> _Threshold:
    pairs.sort()
    masks = [0]
    for _, i in pairs:
        masks.append(masks[-1] | 1 << i)
    return _Threshold([k for k, _ in pairs], masks)


def _mask(indices: Iterable[int]) -> int:
    out = 0
    for i in indices:
        out |= 1 << i
    return out


def _union(masks: Iterable[int]) -> int:
    out = 0
    for m in masks:
        out |= m
    return out


def _ranks(order: list[int]) -> list[int]:
    rank = [0] * len(order)
    for r, i in enumerate(order):
        rank[i] = r
    return rank


def _price_key(m: ModelInfo) -> tuple[int, Decimal, Decimal]:
    if m.prompt_price is None or m.completion_price is None:
        return (1, Decimal(0), Decimal(0))
    return (0, m.prompt_price + m.completion_price, m.request_price or Decimal(0))


def _joined(texts: Iterable[str]) -> tuple[str, list[int]]:
    starts: list[int] = []
    parts: list[str] = []
    pos = 0
    for t in texts:
        starts.append(pos)
        parts.append(t)
        pos += len(t) + 1
    return "\n".join(parts), starts


def _occurrences(joined: str, starts: list[int], needle: str) -> list[int]:
    """Indices of the texts in `joined` that contain `needle` (one C-speed scan of one string)."""
    if not needle or "\n" in needle:
        return []
    out: list[int] = []
    pos = joined.find(needle)
    while pos != -1:
        i = bisect_right(starts, pos) - 1
        out.append(i)
        nxt = starts[i + 1] if i + 1 < len(starts) else len(joined)
        pos = joined.find(needle, nxt)
    return out


def _lift(found: dict[int, int], indices: Iterable[int], score: int) -> None:
    for i in indices:
        if found.get(i, 0) < score:
            found[i] = score
