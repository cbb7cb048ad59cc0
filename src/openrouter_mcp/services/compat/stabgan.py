"""stabgan/openrouter-mcp-multimodal's arguments on the tools whose names we share, read onto ours, and
the arguments of its own `generate_video_from_image`. Each `PARAMS` entry declares the arguments of theirs
a tool takes besides ours (the same name with a different value is translated in place)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ...errors import invalid
from ..chat import CACHE_TTL_S
from .call import Call, show

if TYPE_CHECKING:
    from ...app import App

MODALITIES = {"vision": "image", "audio": "audio", "video": "video"}
TTL = re.compile(r"^\s*(\d+)\s*([smh]?)\s*$")
TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}

_CACHE: dict[str, Any] = {
    "cache": Annotated[bool | None, Field(description="stabgan: OpenRouter's response cache, where this tool uses it")],
    "cache_ttl": Annotated[str | None, Field(max_length=20, description="stabgan: the cached reply's lifetime, e.g. 5m, 1h (cache.ttl_s)")],
    "cache_clear": Annotated[bool | None, Field(description="stabgan: replace the cached reply (cache.clear)")],
}
_ANALYZE: dict[str, Any] = {"cache_input": Annotated[bool | None, Field(description="stabgan: only false (no prompt caching of the file)")], **_CACHE}
_VIDEO_WAIT: dict[str, Any] = {
    "max_wait_ms": Annotated[int | None, Field(ge=10_000, le=3_600_000, description="stabgan: wait_seconds x 1000 (then a video_id to resume)")],
    "poll_interval_ms": Annotated[int | None, Field(ge=2_000, le=600_000, description="stabgan: accepted; the server polls at its own interval")],
}

PARAMS: dict[str, dict[str, Any]] = {
    "chat_completion": {
        "include_reasoning": Annotated[bool | None, Field(description="stabgan: true returns the reasoning, false hides it (reasoning.exclude)")],
        "online": Annotated[bool | None, Field(description="stabgan: web_search")],
        "web_max_results": Annotated[int | None, Field(ge=1, le=25, description="stabgan, with online: web_search.max_results")],
        **_CACHE,
    },
    "analyze_image": _ANALYZE,
    "analyze_audio": _ANALYZE,
    "analyze_video": _ANALYZE,
    "get_model_info": {},
    "validate_model": {},
    "search_models": {
        "capabilities": Annotated[
            dict[str, bool] | None,
            Field(
                description="stabgan: {vision, audio, video}: true adds the input modality",
                json_schema_extra={"properties": {k: {"type": "boolean"} for k in MODALITIES}},
            ),
        ],
    },
    "generate_image": {
        "modalities": Annotated[list[str] | None, Field(description="stabgan: must hold image (text is optional)")],
        "max_tokens": Annotated[int | None, Field(description="stabgan: refused (no per-call token cap; use max_cost_usd)")],
    },
    "generate_audio": {},
    "generate_video": {
        **_VIDEO_WAIT,
        "provider": Annotated[dict[str, Any] | None, Field(description="stabgan: refused (no provider options for video)")],
    },
}

# Our arguments that take values of another type from stabgan too: the type added to ours.
WIDER: dict[str, dict[str, Any]] = {"generate_audio": {"format": Literal["pcm16"]}}
# What our arguments also take from stabgan, added to their descriptions.
NOTES = {"generate_image": {"image_size": "stabgan's 0.5K"}, "generate_audio": {"format": "stabgan's pcm16"}}

# stabgan's own generate_video_from_image: `image` is the first frame, the rest are generate_video's
# ({name: annotation} or {name: (annotation, default)}, `...` marking a required one).
VIDEO_FROM_IMAGE: dict[str, Any] = {
    "image": (Annotated[str, Field(min_length=1, description="First frame: path in the input folder, http(s) URL or data: URL")], ...),
    "prompt": (Annotated[str, Field(description="The video to make from it")], ...),
    "model": Annotated[str | None, Field(description="Default: a video model")],
    "resolution": Annotated[str | None, Field(description="e.g. 720p, 1080p")],
    "aspect_ratio": Annotated[str | None, Field(description="e.g. 16:9, 9:16, 1:1")],
    "duration": Annotated[int | None, Field(ge=1, le=60, description="Seconds.")],
    "seed": Annotated[int | None, Field()],
    "save_path": Annotated[str | None, Field(description="Under the output folder")],
    **_VIDEO_WAIT,
}


def _ttl_s(text: str) -> int:
    found = TTL.match(text)
    seconds = int(found[1]) * TTL_UNITS[found[2]] if found else 0
    if not CACHE_TTL_S[0] <= seconds <= CACHE_TTL_S[1]:
        raise invalid("cache_ttl", f"{show(text)} is not a lifetime from 1s to 24h", "Use e.g. 30s, 5m or 1h")
    return seconds


def _cache(call: Call, tool: str) -> None:
    """stabgan's cache trio (cache, cache_ttl, cache_clear) as our `cache`: true | {ttl_s, clear}; refused
    on a tool of ours that does not use OpenRouter's response cache."""
    ttl, clear = call.their("cache_ttl"), call.their("cache_clear")
    if "cache" not in call.takes:
        for name, asked in (("cache", call.their("cache") is True), ("cache_ttl", ttl is not None), ("cache_clear", clear is True)):
            if asked:
                raise invalid(name, f"{tool} does not use OpenRouter's response cache on this server", f"Drop {name}")
        return
    if ttl is None and not clear:
        return  # `cache` is ours too, and passes as it is
    cache = call.args.get("cache")
    if cache is False:
        raise invalid("cache_ttl" if ttl is not None else "cache_clear", "tunes the response cache, but cache is false", "Drop one of them")
    options = dict(cache) if isinstance(cache, dict) else {}
    if ttl is not None:
        seconds = _ttl_s(ttl)
        if options.get("ttl_s") not in (None, seconds):
            raise invalid("cache_ttl", f"is {show(ttl)} but cache.ttl_s is {show(options['ttl_s'])}", "Give one of them")
        options["ttl_s"] = seconds
    if clear:
        options["clear"] = True
    call.args["cache"] = options


async def chat_completion(app: App, call: Call) -> None:
    _cache(call, "chat_completion")
    if (include := call.their("include_reasoning")) is not None:
        reasoning = dict(call.args.get("reasoning") or {})
        if reasoning.get("exclude") not in (None, not include):
            raise invalid("include_reasoning", f"is {show(include)} but reasoning.exclude is {show(reasoning['exclude'])}", "Give one of them")
        call.args["reasoning"] = {**reasoning, "exclude": not include}
    online, results = call.their("online"), call.their("web_max_results")
    if results is not None and online is not True:
        raise invalid("web_max_results", "applies to a web search, and online is not true", "Set online: true, or drop web_max_results")
    if online is True:
        call.put("web_search", True if results is None else {"max_results": results}, alias="online")
    elif online is False and call.args.get("web_search") not in (None, False):
        raise invalid("online", f"is false but web_search is {show(call.args['web_search'])}", "Give one of them")


async def analyze(app: App, call: Call) -> None:
    _cache(call, "analyze_*")
    if call.their("cache_input") is True:
        raise invalid("cache_input", "this server does not mark the file for prompt caching", "Drop cache_input")


analyze_image = analyze_audio = analyze_video = analyze


async def search_models(app: App, call: Call) -> None:
    # stabgan's result: {results, offset, limit, total, has_more, next_offset}; ours has the rest.
    page = {"offset": call.args.get("offset", 0), "limit": call.args.get("limit", 20)}
    call.after = lambda data, text: ({**data, "results": data["models"], **page}, text)
    capabilities = call.their("capabilities", {})
    if unknown := sorted(set(capabilities) - set(MODALITIES)):
        raise invalid(f"capabilities.{unknown[0]}", "is not a capability", f"Use {', '.join(MODALITIES)}")
    wanted = [MODALITIES[k] for k, on in capabilities.items() if on]
    if wanted:
        call.args["input_modalities"] = list(dict.fromkeys([*(call.args.get("input_modalities") or []), *wanted]))


async def get_model_info(app: App, call: Call) -> None:
    # stabgan returned OpenRouter's /models record, whose modalities sit under `architecture`.
    call.after = lambda data, text: (
        {**data, "architecture": {"input_modalities": data["input_modalities"], "output_modalities": data["output_modalities"]}},
        text,
    )


async def validate_model(app: App, call: Call) -> None:
    # stabgan's {valid, model}: valid is our usable.
    call.after = lambda data, text: ({**data, "valid": data["usable"]}, text)


async def generate_image(app: App, call: Call) -> None:
    if call.args.get("image_size") == "0.5K":
        call.args["image_size"] = "512"
    modalities = call.their("modalities")
    if modalities is not None and ("image" not in modalities or not set(modalities) <= {"image", "text"}):
        raise invalid(
            "modalities",
            f"{show(modalities)}: generate_image always asks for an image (and text where the model writes it)",
            "Drop modalities; for text only, use chat_completion",
        )
    call.refuse("max_tokens", "generate_image sends no per-call token cap on this server", "Drop max_tokens; max_cost_usd caps what the call may cost")


async def generate_audio(app: App, call: Call) -> None:
    if call.args.get("format") == "pcm16":
        call.args["format"] = "pcm"  # OpenRouter's raw 16-bit PCM, as stabgan named it


def wait_from_ms(call: Call) -> None:
    """stabgan's max_wait_ms as our wait_seconds; its polling cadence changes nothing in the result."""
    if (ms := call.their("max_wait_ms")) is not None:
        call.put("wait_seconds", ms / 1000, alias="max_wait_ms")


async def generate_video(app: App, call: Call) -> None:
    wait_from_ms(call)
    if call.their("provider"):
        raise invalid("provider", "generate_video sends no provider options on this server", "Drop provider")


def video_from_image(args: dict[str, Any]) -> Call:
    """generate_video_from_image's arguments as generate_video's."""
    ours = {k: v for k, v in args.items() if k not in _VIDEO_WAIT and k != "image" and v is not None}
    call = Call({**ours, "first_frame_image": args["image"]}, {k: args.get(k) for k in _VIDEO_WAIT}, {}, frozenset())
    wait_from_ms(call)
    return call
