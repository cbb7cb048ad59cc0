"""The offline simulator's model catalog: ~300 models in the exact wire shapes of OpenRouter's
`GET /api/v1/models` and `GET /api/v1/models/{author}/{slug}/endpoints`, the retired ids with
their successors, and each model's simulated speed. The models themselves are one line each in
`catalog_models.txt`; the per-author facts and the table's vocabulary are in `catalog_facts.py`.

Pure data and pure functions, built on first use and cached. Every dict handed out is shared
with the cache, so callers must treat it as read-only.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

from .catalog_facts import (
    CAPABILITIES,
    HOST_QUANTS,
    INPUT_STRENGTHS,
    LATENCY_MS,
    MODALITIES,
    SAMPLING,
    STRENGTHS,
    STYLES,
    TRAIT_PARAMS,
    WORKLOADS,
    authors,
)

# `typing` alone costs ~6 ms to import; annotations here are never evaluated (PEP 563), so only
# type checkers need it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from decimal import Decimal
    from typing import Any

RETIRED: dict[str, str] = {
    "openai/gpt-4-32k": "openai/gpt-4o",
    "openai/gpt-4-vision-preview": "openai/gpt-4o",
    "openai/gpt-3.5-turbo-0301": "openai/gpt-4o-mini",
    "anthropic/claude-2": "anthropic/claude-sonnet-4.5",
    "anthropic/claude-instant-1": "anthropic/claude-haiku-4.5",
    "anthropic/claude-3-opus": "anthropic/claude-opus-4.5",
    "anthropic/claude-3.5-sonnet": "anthropic/claude-sonnet-4.5",
    "google/gemini-pro": "google/gemini-2.5-pro",
    "google/gemini-pro-vision": "google/gemini-2.5-flash",
    "google/palm-2-chat-bison": "google/gemini-2.5-flash",
    "meta-llama/llama-2-70b-chat": "meta-llama/llama-3.3-70b-instruct",
    "mistralai/mistral-medium": "mistralai/mistral-medium-3.1",
    "cohere/command": "cohere/command-a",
    "deepseek/deepseek-coder": "deepseek/deepseek-v3.2",
}


def _table() -> str:
    """The table in `catalog_models.txt`, read once (by `_entries`). One model per line: id | name
    | released | context | max output | $/M prompt | $/M completion | inputs>outputs | traits | what
    the model is (optional, completes "<name> is <maker>'s ...").

    Modality letters: t text, i image, f file, a audio, v video, e embeddings, s speech,
    x transcription, r rerank. Traits: open (open weights, served by hosting providers), 3p (open but not
    served by its author), free (also listed as an `:free` variant), router, tools, json, reason,
    search, cache, notemp (no sampling parameters), strengths (code math multi long agent creative
    rp rag chat fast safety), and key=value: exp (expiration date), io ($/M image output),
    rq ($ per request), tok (tokenizer), it (instruct type, "null" for none).
    """
    from importlib import resources

    return resources.files(__package__).joinpath("catalog_models.txt").read_text(encoding="utf-8")


class _Row:
    """One parsed line of the table."""

    __slots__ = (
        "completion",
        "ctx",
        "day",
        "id",
        "inputs",
        "max_out",
        "name",
        "note",
        "opts",
        "outputs",
        "prompt",
        "traits",
    )

    def __init__(self, line: str) -> None:
        cells = [cell.strip() for cell in line.split("|")]
        self.id, self.name, self.day = cells[0], cells[1], cells[2]
        self.ctx = int(cells[3])
        self.max_out = None if cells[4] == "-" else int(cells[4])
        self.prompt, self.completion = cells[5], cells[6]
        ins, outs = cells[7].split(">")
        self.inputs = [MODALITIES[letter] for letter in ins]
        self.outputs = [MODALITIES[letter] for letter in outs]
        self.traits = frozenset(t for t in cells[8].split() if "=" not in t)
        self.opts = {k: v for k, _, v in (t.partition("=") for t in cells[8].split()) if v}
        self.note = cells[9]

    @property
    def author(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def kind(self) -> str:
        """What the model produces, which decides its parameters, pricing and stats."""
        for output in ("embeddings", "rerank", "speech", "transcription", "video"):
            if output in self.outputs:
                return output
        return "image" if "image" in self.outputs else "text"


def _h(model_id: str, salt: str) -> int:
    """A stable hash: Python's own hash() is randomised per process."""
    return zlib.crc32(f"{salt}\0{model_id}".encode())


def _usd(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _per_token(per_million: str, ratio: str = "1") -> str:
    from decimal import Decimal

    return _usd(Decimal(per_million) * Decimal(ratio) / Decimal(1_000_000))


def _scaled(price: str, factor: int) -> str:
    """A price raised by factor percent; unknown (-1) and free (0) prices stay as they are."""
    from decimal import Decimal

    if price in ("0", "-1"):
        return price
    return _usd(Decimal(price) * (100 + factor) / 100)


def _epoch(day: str, model_id: str) -> int:
    from datetime import date

    # A per-model time of day keeps models released on the same day in a stable order.
    return (date.fromisoformat(day).toordinal() - 719163) * 86400 + _h(model_id, "time") % 86400


def _canonical_slug(row: _Row) -> str:
    base = row.id.split(":", 1)[0]
    if "open" in row.traits or row.kind not in ("text", "image"):
        return base
    tail = base.rsplit("-", 1)[-1]
    already_dated = (len(tail) == 8 and tail.isdigit()) or base[-10:].replace("-", "").isdigit()
    if already_dated:
        return base
    if row.author == "openai":
        return f"{base}-{row.day}"
    if row.author == "anthropic":
        return f"{base}-{row.day.replace('-', '')}"
    return base


def _parameters(row: _Row, author: dict[str, Any]) -> list[str]:
    if "router" in row.traits:
        return sorted(set(STYLES["oss"]) | {p for ps in TRAIT_PARAMS.values() for p in ps})
    if "text" not in row.outputs:
        return []
    style = "oss" if "open" in row.traits else author["style"]
    params = set(STYLES[style])
    if "notemp" in row.traits:
        params -= SAMPLING
    for trait, extra in TRAIT_PARAMS.items():
        if trait in row.traits:
            params.update(extra)
    return sorted(params)


def _pricing(row: _Row, author: dict[str, Any]) -> dict[str, str]:
    if "router" in row.traits:
        return {"prompt": "-1", "completion": "-1"}
    pricing = {"prompt": _per_token(row.prompt), "completion": _per_token(row.completion)}
    if "rq" in row.opts:
        pricing["request"] = row.opts["rq"]
    if "image" in row.inputs and author["image_tokens"] and "text" in row.outputs:
        pricing["image"] = _per_token(row.prompt, str(author["image_tokens"]))
    if "audio" in row.inputs and author["audio_ratio"]:
        pricing["audio"] = _per_token(row.prompt, author["audio_ratio"])
    if "audio" in row.outputs:
        # Spoken output is billed at eight times the text rate, as OpenAI does.
        pricing["audio_output"] = _per_token(row.completion, "8")
    if "io" in row.opts:
        pricing["image_output"] = _per_token(row.opts["io"])
    if "search" in row.traits:
        pricing["web_search"] = "0.01"
    if "reason" in row.traits:
        pricing["internal_reasoning"] = pricing["completion"]
    if "cache" in row.traits:
        pricing["input_cache_read"] = _per_token(row.prompt, author["cache_read"])
        if author["cache_write"]:
            pricing["input_cache_write"] = _per_token(row.prompt, author["cache_write"])
    return pricing


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _description(row: _Row, author: dict[str, Any]) -> str:
    display = author["display"]
    maker = f"{display}'" if display.endswith("s") else f"{display}'s"
    kind = row.kind
    if row.note:
        what = row.note
    elif kind == "embeddings":
        what = "text embedding model for semantic search, clustering and retrieval"
    elif kind == "rerank":
        what = "reranking model that orders search results by their relevance to a query"
    elif kind == "speech":
        what = f"text-to-speech model with {len(author['voices'])} built-in voices"
    elif kind == "transcription":
        what = "speech-to-text model that turns recordings into accurate transcripts"
    elif kind == "video":
        what = "video generation model for short clips from text and image prompts"
    elif kind == "image":
        what = "image generation and editing model"
    elif "audio" in row.outputs:
        what = "voice model that listens and answers in speech"
    else:
        weights = "open-weight " if "open" in row.traits else ""
        family = "reasoning model" if "reason" in row.traits else "language model"
        window = f"{row.ctx // 1_000_000}M" if row.ctx >= 1_000_000 else f"{row.ctx // 1000}K"
        what = f"{weights}{family} with a {window}-token context window"
    sentences = [f"{row.name} is {maker} {what}."]
    strengths = [text for trait, text in STRENGTHS.items() if trait in row.traits]
    if kind == "text":
        strengths += [text for letter, text in INPUT_STRENGTHS.items() if MODALITIES[letter] in row.inputs]
    if strengths:
        sentences.append(f"It is strong at {_join(strengths)}.")
    capabilities = [text for trait, text in CAPABILITIES.items() if trait in row.traits]
    if capabilities:
        sentences.append(f"Supports {_join(capabilities)}.")
    return " ".join(sentences)


def _model(row: _Row) -> dict[str, Any]:
    author = authors()[row.author]
    name = f"{author['display']}: {row.name}"
    writes_text = "text" in row.outputs
    tokenizer = row.opts.get("tok", author["tok"]) if writes_text or row.kind in ("embeddings", "rerank") else "Media"
    instruct = row.opts.get("it", author["it"]) if writes_text else None
    defaults = author["defaults"]
    return {
        "id": row.id,
        "canonical_slug": _canonical_slug(row),
        "name": name,
        "created": _epoch(row.day, row.id.split(":", 1)[0]),
        "description": _description(row, author),
        "context_length": row.ctx,
        "architecture": {
            "modality": "+".join(row.inputs) + "->" + "+".join(m for m in MODALITIES.values() if m in row.outputs),
            "input_modalities": list(row.inputs),
            "output_modalities": list(row.outputs),
            "tokenizer": tokenizer,
            "instruct_type": None if instruct == "null" else instruct,
        },
        "pricing": _pricing(row, author),
        "top_provider": {
            "context_length": row.ctx,
            "max_completion_tokens": row.max_out,
            "is_moderated": author["moderated"],
        },
        "per_request_limits": None,
        "supported_parameters": _parameters(row, author),
        "default_parameters": dict(defaults) if defaults and row.kind == "text" else None,
        "supported_voices": list(author["voices"]) if row.kind == "speech" else None,
        "links": {"details": f"/api/v1/models/{row.id}/endpoints"},
        "expiration_date": row.opts.get("exp"),
    }


def _free_variant(model: dict[str, Any]) -> dict[str, Any]:
    free_id = f"{model['id']}:free"
    return {
        **model,
        "id": free_id,
        "name": f"{model['name']} (free)",
        "pricing": {key: "0" for key in model["pricing"]},
        # Free hosts do not return token probabilities.
        "supported_parameters": [p for p in model["supported_parameters"] if p not in ("logit_bias", "logprobs")],
        "links": {"details": f"/api/v1/models/{free_id}/endpoints"},
    }


@lru_cache(maxsize=1)
def _entries() -> dict[str, tuple[dict[str, Any], _Row]]:
    """Every catalog id mapped to its model object and the table row it came from."""
    entries: dict[str, tuple[dict[str, Any], _Row]] = {}
    for line in _table().strip().splitlines():
        row = _Row(line)
        model = _model(row)
        entries[row.id] = (model, row)
        if "free" in row.traits:
            free = _free_variant(model)
            entries[free["id"]] = (free, row)
    return entries


@lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, Any], ...]:
    # Newest first, as the real API lists them; a :free variant sorts right after its model.
    models = [model for model, _ in _entries().values()]
    return tuple(sorted(models, key=lambda m: (-m["created"], m["id"])))


def build_catalog() -> list[dict[str, Any]]:
    """Every model, newest first, each shaped like an item of `GET /api/v1/models`."""
    return list(_catalog())


def find(model_id: str) -> dict[str, Any] | None:
    """The catalog item with exactly this id, or None."""
    entry = _entries().get(model_id)
    return entry[0] if entry else None


def _providers(row: _Row, author: dict[str, Any], free: bool) -> list[str]:
    spin = _h(row.id, "providers")

    def hosts(pool: tuple[str, ...], count: int) -> list[str]:
        return [pool[(spin + i) % len(pool)] for i in range(min(count, len(pool)))]

    if free:
        return hosts(author["free_hosts"], 1 + spin % 2)
    first: tuple[str, ...] = author["first"]
    if "open" not in row.traits:
        return list(first[: 1 + spin % len(first)]) if first else hosts(author["hosts"], 1)
    own = list(first[:1]) if author["serves_open"] and "3p" not in row.traits else []
    return own + hosts(author["hosts"], 1 + spin % (4 - len(own)))


def _percentiles(p50: int, spread: tuple[float, float, float]) -> dict[str, float]:
    return {"p50": float(p50), "p75": round(p50 * spread[0], 1), "p90": round(p50 * spread[1], 1), "p99": round(p50 * spread[2], 1)}


def _endpoint(model: dict[str, Any], row: _Row, provider: str, index: int, free: bool) -> dict[str, Any]:
    author = authors()[row.author]
    key = f"{model['id']}@{provider}"
    own = provider in author["first"]
    ctx, max_out = row.ctx, row.max_out
    pricing = dict(model["pricing"])
    params = list(model["supported_parameters"])
    if index:
        # Secondary providers are dearer, sometimes shorter, and some skip logprobs.
        if _h(key, "ctx") % 3 == 0:
            ctx = max(min(ctx, 32768), ctx // 2)
        max_out = min(max_out, ctx) if max_out else (ctx if _h(key, "max") % 2 else None)
        factor = 10 * (_h(key, "price") % 9)
        pricing = {k: _scaled(v, factor) for k, v in pricing.items()}
        if _h(key, "params") % 2:
            params = [p for p in params if p not in ("logit_bias", "logprobs")]
    quantization = "unknown" if own and "open" not in row.traits else ("fp8" if own else HOST_QUANTS[_h(key, "quant") % len(HOST_QUANTS)])
    tag = provider.lower().replace(" ", "-").replace(".", "-")
    if quantization != "unknown":
        tag = f"{tag}/{quantization}"
    low, spread = LATENCY_MS[row.kind]
    latency = _percentiles(low + _h(key, "latency") % spread, (1.35, 1.9, 3.6))
    throughput = _percentiles(20 + _h(key, "throughput") % 300, (1.15, 1.3, 1.6)) if row.kind == "text" else None
    uptime = 100 - (_h(key, "uptime") % 40) / 10
    tools = "tools" in row.traits
    search_tool = author["search_tool"]
    return {
        "name": f"{provider} | {model['canonical_slug']}{':free' if free else ''}",
        "model_id": model["canonical_slug"],
        "model_name": model["name"],
        "provider_name": provider,
        "tag": tag,
        "context_length": ctx,
        "pricing": pricing,
        "quantization": quantization,
        "max_completion_tokens": max_out,
        "max_prompt_tokens": None,
        "supported_parameters": params,
        "status": 0,
        "uptime_last_5m": 100.0 if _h(key, "5m") % 4 else round(uptime - 1.5, 1),
        "uptime_last_30m": uptime,
        "uptime_last_1d": round(min(100.0, uptime + 0.3), 1),
        "supports_implicit_caching": "input_cache_read" in pricing,
        "latency_last_30m": latency,
        "throughput_last_30m": throughput,
        "perf_last_30m_by_workload": {
            WORKLOADS[row.kind]: {
                "latency": latency,
                "throughput": throughput,
                "request_count": 200 + _h(key, "requests") % 60000,
            }
        },
        "native_tools": ({"openrouter:web_search": {"type": search_tool}} if index == 0 and own and search_tool and "search" in row.traits else {}),
        "service_tier": None,
        "supports_diarization": False,
        "supports_tool_choice": {"auto": tools, "none": tools, "required": tools, "function": tools},
    }


@lru_cache(maxsize=1024)
def endpoints_for(model_id: str) -> dict[str, Any] | None:
    """The `data` object of `GET /api/v1/models/{author}/{slug}/endpoints`, or None for an id
    that is not in the catalog."""
    entry = _entries().get(model_id)
    if entry is None:
        return None
    model, row = entry
    free = model_id.endswith(":free")
    providers = _providers(row, authors()[row.author], free)
    return {
        "id": model["id"],
        "name": model["name"],
        "created": model["created"],
        "description": model["description"],
        "architecture": {
            "modality": model["architecture"]["modality"],
            "input_modalities": model["architecture"]["input_modalities"],
            "output_modalities": model["architecture"]["output_modalities"],
            "tokenizer": model["architecture"]["tokenizer"],
            "instruct_type": model["architecture"]["instruct_type"],
        },
        "endpoints": [_endpoint(model, row, p, i, free) for i, p in enumerate(providers)],
    }


# Simulator-only models for benchmarks (listed after the catalog, not part of it): a steady time to first
# token and speed large enough to measure (the catalog's models answer in a few ms) and distinct prices.
# id: (ttft_ms, tokens_per_s, $/M prompt, $/M completion, description)
PACED: dict[str, tuple[int, float, str, str, str]] = {
    "bench/swift": (100, 300.0, "2", "8", "Fast and dear: 100 ms to the first token, then 300 tokens/s."),
    "bench/steady": (150, 200.0, "0.5", "1.5", "Middling: 150 ms to the first token, then 200 tokens/s."),
    "bench/thrifty": (300, 100.0, "0.05", "0.2", "Slow and cheap: 300 ms to the first token, then 100 tokens/s."),
}


def paced_models() -> list[dict[str, Any]]:
    """The `PACED` models as `GET /models` items, shaped like gpt-4o-mini with their own names and prices."""
    import copy

    template = find("openai/gpt-4o-mini")
    assert template is not None
    out = []
    for model_id, (_ttft, _tps, prompt, completion, description) in PACED.items():
        item = copy.deepcopy(template)
        item.update(
            id=model_id,
            canonical_slug=model_id,
            name=f"Simulator: {model_id}",
            description=description,
            links={"details": f"/api/v1/models/{model_id}/endpoints"},
            expiration_date=None,
        )
        item["pricing"] = {**item["pricing"], "prompt": _per_token(prompt), "completion": _per_token(completion)}
        item["pricing"].pop("input_cache_read", None)
        out.append(item)
    return out


@lru_cache(maxsize=1024)
def behaviour(model_id: str) -> dict[str, Any]:
    """How the simulator answers for this model: time to first token, generation speed and the
    provider it reports. Kept fast so simulated calls return almost at once (except the `PACED`
    benchmark models); a variant (`:free`, `:nitro`, ...) behaves like its base model."""
    base = model_id.split(":", 1)[0]
    if base in PACED:
        ttft_ms, tokens_per_s = PACED[base][:2]
        return {"ttft_ms": ttft_ms, "tokens_per_s": tokens_per_s, "provider": "Simulator"}
    listing = endpoints_for(base)
    return {
        "ttft_ms": 5 + _h(base, "ttft") % 36,
        "tokens_per_s": float(500 + _h(base, "speed") % 4501),
        "provider": listing["endpoints"][0]["provider_name"] if listing else "OpenRouter",
    }
