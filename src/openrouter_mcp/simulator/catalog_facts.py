"""The facts the simulator's catalog is built from: each author's display name, providers, tokenizer and
pricing conventions, the parameter styles, and what the table's modality letters and traits mean.

Pure data, cheap to import (see `catalog.py`)."""

from __future__ import annotations

from functools import lru_cache

# Annotations here are never evaluated (PEP 563); only type checkers need `typing`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_OPEN_HOSTS = (
    "DeepInfra",
    "Together",
    "Fireworks",
    "Novita",
    "Parasail",
    "Nebius",
    "Groq",
    "SiliconFlow",
    "AtlasCloud",
    "BaseTen",
    "Chutes",
    "GMICloud",
    "Cerebras",
    "SambaNova",
    "Crusoe",
    "Friendli",
)
_ROLEPLAY_HOSTS = ("Featherless", "Infermatic", "NextBit", "Mancer 2", "Parasail")
_FREE_HOSTS = ("Chutes", "OpenInference", "ModelRun", "Venice")
HOST_QUANTS = ("fp8", "fp8", "bf16", "bf16", "fp16", "int8", "int4", "fp4")
_OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)

# Fields every author shares unless its profile says otherwise; see authors().
_AUTHOR_DEFAULTS: dict[str, Any] = {
    "first": (),  # the author's own providers, best first
    "serves_open": False,  # whether the author also serves its open-weight models itself
    "hosts": _OPEN_HOSTS,
    "free_hosts": _FREE_HOSTS,
    "style": "oss",
    "tok": "Other",
    "it": None,
    "moderated": False,
    "cache_read": "0.1",  # cached-input price as a share of the prompt price
    "cache_write": None,
    "image_tokens": 0,  # tokens one input image is billed as; 0 when images are not billed apart
    "audio_ratio": None,  # audio-input price as a multiple of the prompt price
    "defaults": None,
    "voices": (),
    "search_tool": None,  # the provider's own web search tool, when it has one
}

STYLES: dict[str, tuple[str, ...]] = {
    "oai": ("max_tokens", "temperature", "top_p", "stop", "frequency_penalty", "presence_penalty", "seed", "logit_bias", "logprobs"),
    "ant": ("max_tokens", "temperature", "top_p", "top_k", "stop"),
    "goo": ("max_tokens", "temperature", "top_p", "stop", "seed", "frequency_penalty", "presence_penalty"),
    "oss": (
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "min_p",
        "seed",
        "logit_bias",
        "logprobs",
    ),
    "min": ("max_tokens", "temperature", "top_p", "stop"),
}
SAMPLING = frozenset(
    ("temperature", "top_p", "top_k", "min_p", "stop", "frequency_penalty", "presence_penalty", "repetition_penalty", "logit_bias", "logprobs")
)
TRAIT_PARAMS = {
    "tools": ("tools", "tool_choice"),
    "json": ("response_format", "structured_outputs"),
    "reason": ("reasoning", "include_reasoning"),
    "search": ("web_search_options",),
}
MODALITIES = {
    "t": "text",
    "i": "image",
    "f": "file",
    "a": "audio",
    "v": "video",
    "e": "embeddings",
    "s": "speech",
    "x": "transcription",
    "r": "rerank",
}
STRENGTHS = {
    "code": "coding",
    "math": "math",
    "reason": "multi-step reasoning",
    "agent": "agentic tool use",
    "multi": "multilingual tasks",
    "long": "long-document analysis",
    "rag": "retrieval-augmented generation",
    "creative": "creative writing",
    "rp": "roleplay",
    "chat": "natural conversation",
    "fast": "low-latency responses",
    "safety": "content safety classification",
}
INPUT_STRENGTHS = {
    "i": "vision (image understanding)",
    "f": "PDF and file inputs",
    "a": "audio understanding",
    "v": "video understanding",
}
CAPABILITIES = {
    "tools": "tool calling",
    "json": "structured outputs",
    "search": "built-in web search",
    "cache": "prompt caching",
}
# Which per-workload performance bucket a model's traffic falls into, by its kind.
WORKLOADS = {
    "embeddings": "embeddings",
    "rerank": "rerank",
    "speech": "tts",
    "transcription": "stt",
    "video": "video_generation",
    "image": "image_generation",
    "text": "text_generation",
}
# Median time-to-first-result in ms (low, spread) for each kind, as real providers report it.
LATENCY_MS = {
    "embeddings": (40, 300),
    "rerank": (60, 400),
    "speech": (150, 500),
    "transcription": (300, 1200),
    "video": (40000, 120000),
    "image": (3000, 12000),
    "text": (180, 1400),
}


@lru_cache(maxsize=1)
def authors() -> dict[str, dict[str, Any]]:
    """Per-author facts: display name, providers, tokenizer and pricing conventions."""
    google_voices = ("Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede")
    profiles: dict[str, dict[str, Any]] = {
        "openai": {
            "display": "OpenAI",
            "first": ("OpenAI", "Azure"),
            "style": "oai",
            "tok": "GPT",
            "moderated": True,
            "image_tokens": 1445,
            "audio_ratio": "16",
            "voices": _OPENAI_VOICES,
            "search_tool": "web_search",
        },
        "anthropic": {
            "display": "Anthropic",
            "first": ("Anthropic", "Amazon Bedrock", "Google"),
            "style": "ant",
            "tok": "Claude",
            "moderated": True,
            "cache_write": "1.25",
            "image_tokens": 1600,
            "search_tool": "web_search_20250305",
        },
        "google": {
            "display": "Google",
            "first": ("Google AI Studio", "Google"),
            "style": "goo",
            "tok": "Gemini",
            "image_tokens": 1290,
            "audio_ratio": "3",
            "free_hosts": ("Google AI Studio", "Chutes"),
            "voices": google_voices,
            "search_tool": "google_search",
        },
        "meta-llama": {"display": "Meta", "tok": "Llama3", "it": "llama3"},
        "mistralai": {"display": "Mistral", "first": ("Mistral",), "serves_open": True, "tok": "Mistral", "it": "mistral"},
        "deepseek": {"display": "DeepSeek", "first": ("DeepSeek",), "serves_open": True, "tok": "DeepSeek", "defaults": {"temperature": 0.6, "top_p": 0.95}},
        "qwen": {
            "display": "Qwen",
            "first": ("Alibaba",),
            "serves_open": True,
            "tok": "Qwen3",
            "it": "qwen3",
            "cache_read": "0.2",
            "defaults": {"temperature": 0.7, "top_p": 0.8, "top_k": 20},
        },
        "x-ai": {"display": "xAI", "first": ("xAI",), "style": "oai", "tok": "Grok", "cache_read": "0.25", "search_tool": "web_search"},
        "cohere": {"display": "Cohere", "first": ("Cohere",), "style": "oai", "tok": "Cohere", "moderated": True},
        "microsoft": {"display": "Microsoft", "it": "phi3"},
        "nvidia": {"display": "NVIDIA", "tok": "Llama3", "it": "nemotron"},
        "amazon": {"display": "Amazon", "first": ("Amazon Bedrock",), "style": "min", "tok": "Nova", "moderated": True, "cache_read": "0.25"},
        "perplexity": {"display": "Perplexity", "first": ("Perplexity",), "style": "min"},
        "nousresearch": {"display": "Nous", "tok": "Llama3", "it": "chatml"},
        "moonshotai": {"display": "MoonshotAI", "first": ("Moonshot AI",), "serves_open": True, "cache_read": "0.25", "defaults": {"temperature": 0.6}},
        "z-ai": {"display": "Z.AI", "first": ("Z.AI",), "serves_open": True, "cache_read": "0.2", "defaults": {"temperature": 0.6}},
        "minimax": {
            "display": "MiniMax",
            "first": ("Minimax",),
            "serves_open": True,
            "defaults": {"temperature": 1.0, "top_p": 0.95},
            "voices": ("Wise_Woman", "Friendly_Person", "Deep_Voice_Man", "Calm_Woman", "Casual_Guy", "Lively_Girl"),
        },
        "ai21": {"display": "AI21", "first": ("AI21",), "style": "min"},
        "inception": {"display": "Inception", "first": ("Inception",), "style": "oai"},
        "liquid": {"display": "LiquidAI", "first": ("Liquid",), "serves_open": True},
        "baidu": {"display": "Baidu", "first": ("Baidu",), "serves_open": True},
        "tencent": {"display": "Tencent", "first": ("Tencent",), "serves_open": True},
        "bytedance-seed": {"display": "ByteDance Seed", "first": ("Seed",)},
        "bytedance": {"display": "ByteDance", "first": ("BytePlus",)},
        "stepfun-ai": {"display": "StepFun", "first": ("StepFun",), "serves_open": True},
        "xiaomi": {"display": "Xiaomi", "first": ("Xiaomi",), "serves_open": True},
        "arcee-ai": {"display": "Arcee AI", "first": ("Arcee AI",), "serves_open": True},
        "inflection": {"display": "Inflection", "first": ("Inflection",), "style": "min"},
        "upstage": {"display": "Upstage", "first": ("Upstage",), "style": "min"},
        "thedrummer": {"display": "TheDrummer", "hosts": _ROLEPLAY_HOSTS},
        "gryphe": {"display": "Gryphe", "hosts": _ROLEPLAY_HOSTS},
        "sao10k": {"display": "Sao10K", "hosts": _ROLEPLAY_HOSTS, "tok": "Llama3", "it": "llama3"},
        "anthracite-org": {"display": "Magnum", "hosts": _ROLEPLAY_HOSTS},
        "mancer": {"display": "Mancer", "first": ("Mancer 2",)},
        "neversleep": {"display": "NeverSleep", "hosts": _ROLEPLAY_HOSTS, "tok": "Llama3", "it": "llama3"},
        "alpindale": {"display": "Alpindale", "hosts": _ROLEPLAY_HOSTS},
        "cognitivecomputations": {"display": "Venice", "free_hosts": ("Venice",)},
        "allenai": {"display": "AllenAI", "it": "chatml"},
        "ibm-granite": {"display": "IBM"},
        "prime-intellect": {"display": "Prime Intellect", "tok": "Qwen3"},
        "openrouter": {"display": "OpenRouter", "first": ("OpenRouter",), "tok": "Router"},
        "switchpoint": {"display": "Switchpoint", "first": ("Switchpoint",), "style": "min"},
        "morph": {"display": "Morph", "first": ("Morph",), "style": "min"},
        "relace": {"display": "Relace", "first": ("Relace",), "style": "min"},
        "deepcogito": {"display": "Deep Cogito", "tok": "DeepSeek"},
        "meituan": {"display": "Meituan"},
        "kwaipilot": {"display": "Kwaipilot", "first": ("StreamLake",), "free_hosts": ("StreamLake",)},
        "tngtech": {"display": "TNG"},
        "alibaba": {"display": "Tongyi", "first": ("Alibaba",), "serves_open": True},
        "nex-agi": {"display": "Nex AGI", "first": ("Nex AGI",)},
        "black-forest-labs": {"display": "Black Forest Labs", "first": ("Black Forest Labs",)},
        "elevenlabs": {"display": "ElevenLabs", "first": ("ElevenLabs",), "voices": ("Rachel", "Adam", "Bella", "Antoni", "Domi", "Elli", "Josh")},
        "hexgrad": {"display": "Hexgrad", "voices": ("af_heart", "af_bella", "af_nicole", "am_adam", "am_michael", "bf_emma", "bm_george")},
        "baai": {"display": "BAAI"},
        "intfloat": {"display": "intfloat"},
        "sentence-transformers": {"display": "Sentence Transformers"},
        "thenlper": {"display": "thenlper"},
        "voyageai": {"display": "Voyage AI", "first": ("VoyageAI by MongoDB",)},
    }
    return {author: {**_AUTHOR_DEFAULTS, **facts} for author, facts in profiles.items()}
