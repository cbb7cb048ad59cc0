"""Chat completions: validates a request field by field, builds OpenRouter's request body (provider
defaults merged in), and turns the gathered stream into the tool's result. Knows nothing of MCP."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from ..config import PROVIDER_SORTS, QUANTIZATIONS, Settings
from ..errors import ErrorCode, ToolFailure, invalid
from ..upstream import ChatResult, ProgressFn, StartFn
from .checks import flag, names, number, whole
from .checks import model_id as check_model_id
from .pricing import estimate_chat_usd

if TYPE_CHECKING:
    from ..app import App
    from ..upstream.upload import StreamedBody

ROLES = ("system", "developer", "user", "assistant", "tool")
PART_TYPES = ("text", "image_url", "input_audio", "file", "video_url")
EFFORTS = ("xhigh", "high", "medium", "low", "minimal", "none")
TOOL_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
PROVIDER_KEYS = (
    "order", "only", "ignore", "allow_fallbacks", "require_parameters", "data_collection", "zdr", "quantizations",
    "sort", "max_price", "preferred_min_throughput", "preferred_max_latency", "enforce_distillable_text",
)  # fmt: skip
# The values OpenRouter documents for the newer request parameters: api_reference/parameters.mdx (verbosity,
# top_logprobs 0-20, logit_bias -100..100, top_a 0-1), openapi.yaml's ChatRequest (modalities, session_id
# up to 256 characters, prediction), guides/overview/multimodal/audio.mdx (audio output formats) and
# guides/features/response-caching.mdx (cache TTL 1-86400 s), all in the OpenRouterTeam/docs repository.
Verbosity = Literal["low", "medium", "high", "xhigh", "max"]  # the tool's schema states these too (tools/chat.py)
Modality = Literal["text", "image", "audio"]
VERBOSITY: tuple[str, ...] = get_args(Verbosity)
MODALITIES: tuple[str, ...] = get_args(Modality)
AUDIO_FORMATS = ("wav", "mp3", "flac", "opus", "pcm16")
TRANSFORMS = ("middle-out",)
CACHE_TTL_S = (1, 86_400)
MAX_SESSION_ID = 256
MAX_COMPLETION = 2_000_000


def check_messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise invalid("messages", "is empty", 'Send at least one message, e.g. [{"role": "user", "content": "Hello"}]')
    out = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise invalid(where, "is not an object", 'Use {"role": "user", "content": "..."}')
        role = m.get("role")
        if role not in ROLES:
            raise invalid(f"{where}.role", f"{role!r} is not a role", f"Use one of {', '.join(ROLES)}")
        content = m.get("content")
        if role == "assistant" and content is None and m.get("tool_calls"):
            pass
        elif isinstance(content, str):
            if not content.strip() and role in ("user", "system"):
                raise invalid(f"{where}.content", "is empty", "Write the message text")
        elif isinstance(content, list) and content:
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind not in PART_TYPES:
                    raise invalid(f"{where}.content[{j}].type", f"{kind!r} is not a content part type", f"Use one of {', '.join(PART_TYPES)}")
                if kind not in part or (kind == "text" and not isinstance(part.get("text"), str)):
                    raise invalid(f"{where}.content[{j}]", f"a {kind} part needs its {kind!r} field", f'E.g. {{"type": "{kind}", "{kind}": ...}}')
        else:
            raise invalid(f"{where}.content", "is missing", "Use a string, or a non-empty list of parts (text, image_url, input_audio, file)")
        if role == "tool" and not isinstance(m.get("tool_call_id"), str):
            raise invalid(f"{where}.tool_call_id", "is missing", "A tool message answers a tool call: give the id of that call")
        # An earlier reply's reasoning_details go back exactly as they came: a reasoning model checks them.
        details = m.get("reasoning_details")
        if details is not None and not (isinstance(details, list) and all(isinstance(d, dict) and isinstance(d.get("type"), str) for d in details)):
            raise invalid(f"{where}.reasoning_details", "is not a list of reasoning blocks", "Pass back the reasoning_details of the earlier reply unchanged")
        allowed = {"role", "content", "name", "tool_calls", "tool_call_id", "reasoning", "reasoning_details", "cache_control"}
        out.append({k: v for k, v in m.items() if k in allowed})
    return out


def check_response_format(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise invalid(
            "response_format",
            f"{value!r} is not a response format",
            'Use {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name": "...", "schema": {...}}}',
        )
    if value["type"] == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise invalid(
                "response_format.json_schema.schema", "is missing or not an object", 'Give a JSON schema object, e.g. {"type": "object", "properties": {...}}'
            )
        if not isinstance(spec.get("name"), str) or not re.match(r"^[A-Za-z0-9_\-]{1,64}$", spec["name"]):
            raise invalid("response_format.json_schema.name", f"{spec.get('name')!r} is not a valid name", "Use 1-64 letters, digits, _ or -")
        from jsonschema import exceptions, validators

        try:
            validators.validator_for(spec["schema"]).check_schema(spec["schema"])
        except exceptions.SchemaError as exc:
            raise invalid("response_format.json_schema.schema", f"is not a valid JSON schema ({exc.message})", "Fix the schema") from None
    return value


def check_tools(tools: Any, tool_choice: Any) -> tuple[list[dict[str, Any]], Any]:
    if not isinstance(tools, list):
        raise invalid("tools", "is not a list", 'Use [{"type": "function", "function": {"name": "...", "parameters": {...}}}]')
    names = []
    for i, t in enumerate(tools):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(fn, dict):
            raise invalid(f"tools[{i}]", "is not a function tool", 'Use {"type": "function", "function": {"name": "...", "parameters": {...}}}')
        if not isinstance(fn.get("name"), str) or not TOOL_NAME.match(fn["name"]):
            raise invalid(f"tools[{i}].function.name", f"{fn.get('name')!r} is not a valid name", "Use 1-64 letters, digits, _ or -")
        if "parameters" in fn and not isinstance(fn["parameters"], dict):
            raise invalid(f"tools[{i}].function.parameters", "is not an object", "Give a JSON schema object")
        names.append(fn["name"])
    if tool_choice is None or tool_choice in ("auto", "none", "required"):
        return tools, tool_choice
    wanted = (tool_choice.get("function") or {}).get("name") if isinstance(tool_choice, dict) else None
    if wanted not in names:
        raise invalid(
            "tool_choice",
            f"{tool_choice!r} does not name one of the tools",
            f'Use "auto", "none", "required" or {{"type": "function", "function": {{"name": one of {names}}}}}',
        )
    return tools, tool_choice


def check_reasoning(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("reasoning", f"{value!r} is not an object", 'Use {"effort": "high"} or {"max_tokens": 2000}')
    unknown = set(value) - {"effort", "max_tokens", "exclude", "enabled"}
    if unknown:
        raise invalid(f"reasoning.{sorted(unknown)[0]}", "is not a reasoning option", "Use effort, max_tokens, exclude or enabled")
    if "effort" in value and value["effort"] not in EFFORTS:
        raise invalid("reasoning.effort", f"{value['effort']!r} is not an effort", f"Use one of {', '.join(EFFORTS)}")
    if "effort" in value and "max_tokens" in value:
        raise invalid("reasoning", "sets both effort and max_tokens", "Give one of them")
    if "max_tokens" in value:
        whole("reasoning.max_tokens", value["max_tokens"], 1)
    for key in ("exclude", "enabled"):
        if key in value:
            flag(f"reasoning.{key}", value[key])
    return value


def check_provider(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("provider", f"{value!r} is not an object", 'Use e.g. {"sort": "price", "ignore": ["azure"]}')
    for key, v in value.items():
        field = f"provider.{key}"
        if key not in PROVIDER_KEYS:
            raise invalid(field, "is not a provider routing option", f"Use {', '.join(PROVIDER_KEYS)}")
        if key in ("order", "only", "ignore"):
            names(field, v)
        elif key in ("allow_fallbacks", "require_parameters", "zdr", "enforce_distillable_text"):
            flag(field, v)
        elif key == "data_collection" and v not in ("allow", "deny"):
            raise invalid(field, f"{v!r} is not allowed", "Use allow or deny")
        elif key == "quantizations":
            bad = [q for q in names(field, v) if q not in QUANTIZATIONS]
            if bad:
                raise invalid(field, f"{', '.join(bad)} not known", f"Use any of {', '.join(QUANTIZATIONS)}")
        elif key == "sort":
            by = v.get("by") if isinstance(v, dict) else v
            if by not in PROVIDER_SORTS:
                raise invalid(field, f"{v!r} is not a sort", f"Use one of {', '.join(PROVIDER_SORTS)}")
        elif key == "max_price":
            if not isinstance(v, dict) or not v:
                raise invalid(field, f"{v!r} is not an object", 'Use USD per million tokens, e.g. {"prompt": 1, "completion": 2}')
            for k, price in v.items():
                number(f"{field}.{k}", price, 0, 1e6)
    return value


def check_logit_bias(value: Any) -> dict[str, float]:
    # The keys are token ids of the model's tokenizer, which only the provider can check.
    if not isinstance(value, dict) or not value:
        raise invalid("logit_bias", f"{value!r} is not a map of token ids to biases", 'Use e.g. {"50256": -100}')
    for token, bias in value.items():
        number(f"logit_bias.{token}", bias, -100, 100)
    return value


def check_prediction(value: Any) -> dict[str, Any]:
    content = value.get("content") if isinstance(value, dict) else None
    parts = isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content)
    if not isinstance(value, dict) or value.get("type") != "content" or not (isinstance(content, str) or parts) or set(value) - {"type", "content"}:
        raise invalid("prediction", f"{value!r} is not a predicted output", 'Use {"type": "content", "content": "the text you expect"}')
    return value


def check_audio(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"voice", "format"} or not isinstance(value.get("voice", ""), str):
        raise invalid("audio", f"{value!r} is not an audio output option", 'Use {"voice": "alloy", "format": "pcm16"}')
    if value.get("format", "pcm16") not in AUDIO_FORMATS:
        raise invalid("audio.format", f"{value['format']!r} is not an audio format", f"Use one of {', '.join(AUDIO_FORMATS)}")
    return value


def check_image_config(value: Any) -> dict[str, Any]:
    # Provider-specific keys (aspect_ratio, image_size ...), each a string, a number or a list (openapi.yaml ImageConfig).
    if not isinstance(value, dict) or not all(isinstance(v, str | int | float | list) and not isinstance(v, bool) for v in value.values()):
        raise invalid("image_config", f"{value!r} is not an image configuration", 'Use e.g. {"aspect_ratio": "16:9", "image_size": "2K"}')
    return value


def cache_headers(value: Any) -> dict[str, str]:
    """OpenRouter's response cache is asked for with headers, not in the body (guides/features/response-caching.mdx):
    X-OpenRouter-Cache true/false, X-OpenRouter-Cache-TTL in seconds, X-OpenRouter-Cache-Clear to refresh."""
    if isinstance(value, bool):
        return {"X-OpenRouter-Cache": str(value).lower()}
    if not isinstance(value, dict) or set(value) - {"ttl_s", "clear"}:
        raise invalid("cache", f"{value!r} is not a cache option", 'Use true, false, or {"ttl_s": 600, "clear": true}')
    headers = {"X-OpenRouter-Cache": "true"}
    if "ttl_s" in value:
        headers["X-OpenRouter-Cache-TTL"] = str(whole("cache.ttl_s", value["ttl_s"], *CACHE_TTL_S))
    if "clear" in value and flag("cache.clear", value["clear"]):
        headers["X-OpenRouter-Cache-Clear"] = "true"
    return headers


@dataclass(slots=True)
class ChatRequest:
    body: dict[str, Any]
    schema: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def max_tokens(self) -> int | None:
        """The completion cap the request carries, under either of its names."""
        cap = self.body.get("max_completion_tokens", self.body.get("max_tokens"))
        return cap if isinstance(cap, int) else None


def base_body(model: str | None, settings: Settings) -> dict[str, Any]:
    """A request body with what every request takes from the settings: the OPENROUTER_PROVIDER_* routing
    and OPENROUTER_MAX_TOKENS. A call's own values go over these. Without a model, the body's `models`
    list (set by the caller) says which model answers."""
    body: dict[str, Any] = {} if model is None else {"model": model}
    if settings.provider_defaults:
        body["provider"] = dict(settings.provider_defaults)
    if settings.max_tokens is not None:
        body["max_tokens"] = settings.max_tokens
    return body


def build_request(args: dict[str, Any], settings: Settings) -> ChatRequest:
    """Validate the tool's arguments and build the OpenRouter request body. Raises INVALID_INPUT naming the field."""
    messages = check_messages(args.get("messages"))
    # `models` alone is the whole fallback list, tried in order: no default model goes in front of it.
    if args.get("model") is not None:
        model: str | None = check_model_id("model", args["model"])
    else:
        model = settings.default_model if args.get("models") is None else None
    body = base_body(model, settings)
    body["messages"] = messages
    if (models := args.get("models")) is not None:
        if not isinstance(models, list) or not models:
            raise invalid("models", "is not a non-empty list", 'Use fallback model ids, e.g. ["anthropic/claude-sonnet-4.5", "openai/gpt-4o"]')
        body["models"] = [check_model_id(f"models[{i}]", m) for i, m in enumerate(models)]
    if (v := args.get("temperature")) is not None:
        body["temperature"] = number("temperature", v, 0, 2)
    if (v := args.get("top_p")) is not None:
        body["top_p"] = number("top_p", v, 0, 1, lo_open=True)
    if (v := args.get("top_k")) is not None:
        body["top_k"] = whole("top_k", v, 0)
    for key in ("frequency_penalty", "presence_penalty"):
        if (v := args.get(key)) is not None:
            body[key] = number(key, v, -2, 2)
    if (v := args.get("repetition_penalty")) is not None:
        body["repetition_penalty"] = number("repetition_penalty", v, 0, 2, lo_open=True)
    if (v := args.get("min_p")) is not None:
        body["min_p"] = number("min_p", v, 0, 1)
    if (v := args.get("seed")) is not None:
        body["seed"] = whole("seed", v, -(2**63))
    if (v := args.get("stop")) is not None:
        stops = [v] if isinstance(v, str) else v
        if not isinstance(stops, list) or not 1 <= len(stops) <= 4 or not all(isinstance(s, str) and s for s in stops):
            raise invalid("stop", f"{v!r} is not a stop sequence", "Use a string or a list of up to 4 strings")
        body["stop"] = stops
    if (v := args.get("max_tokens")) is not None:
        body["max_tokens"] = whole("max_tokens", v, 1, 2_000_000)
    schema = None
    if (v := args.get("response_format")) is not None:
        body["response_format"] = check_response_format(v)
        if v["type"] == "json_schema":
            schema = v["json_schema"]["schema"]
    tools: list[dict[str, Any]] = []
    if (v := args.get("tools")) is not None:
        tools, choice = check_tools(v, args.get("tool_choice"))
        if choice is not None:
            body["tool_choice"] = choice
    elif args.get("tool_choice") is not None:
        raise invalid("tool_choice", "is set without tools", "Pass the tools too, or drop tool_choice")
    web = args.get("web_search")
    if web is not None and web is not False:
        if web is True:
            tools = [*tools, {"type": "openrouter:web_search"}]
        elif isinstance(web, dict) and set(web) <= {"max_results", "engine", "search_context_size"}:
            if "max_results" in web:
                whole("web_search.max_results", web["max_results"], 1, 25)
            tools = [*tools, {"type": "openrouter:web_search", "parameters": web}]
        else:
            raise invalid("web_search", f"{web!r} is not a web search option", 'Use true, or {"max_results": 5}')
    if tools:
        body["tools"] = tools
    if (v := args.get("reasoning")) is not None:
        body["reasoning"] = check_reasoning(v)
    if (v := args.get("provider")) is not None and (given := check_provider(v)):
        body["provider"] = {**body.get("provider", {}), **given}
    if (v := args.get("plugins")) is not None:
        if not isinstance(v, list) or not all(isinstance(p, dict) and isinstance(p.get("id"), str) for p in v):
            raise invalid("plugins", f"{v!r} is not a list of plugins", 'Use e.g. [{"id": "file-parser", "pdf": {"engine": "cloudflare-ai"}}]')
        body["plugins"] = v
    add_more_parameters(body, args, has_tools=bool(body.get("tools")))
    return ChatRequest(body=body, schema=schema, headers=cache_headers(args["cache"]) if args.get("cache") is not None else {})


def add_more_parameters(body: dict[str, Any], args: dict[str, Any], *, has_tools: bool) -> None:
    """The rest of OpenRouter's chat parameters (api_reference/parameters.mdx, api_reference/overview.mdx),
    checked and copied into the body as given."""
    if (v := args.get("max_completion_tokens")) is not None:
        if args.get("max_tokens") is not None:
            raise invalid("max_completion_tokens", "is set with max_tokens", "Give one of them: they are the same cap")
        body.pop("max_tokens", None)  # OPENROUTER_MAX_TOKENS gives way to the call's own cap
        body["max_completion_tokens"] = whole("max_completion_tokens", v, 1, MAX_COMPLETION)
    if (v := args.get("logprobs")) is not None:
        body["logprobs"] = flag("logprobs", v)
    if (v := args.get("top_logprobs")) is not None:
        # "logprobs must be set to true if this parameter is used" (api_reference/parameters.mdx): asking
        # for the alternatives asks for the log probabilities.
        if body.get("logprobs") is False:
            raise invalid("top_logprobs", "is set with logprobs false", "Set logprobs to true, or drop top_logprobs")
        body["logprobs"] = True
        body["top_logprobs"] = whole("top_logprobs", v, 0, 20)
    if (v := args.get("logit_bias")) is not None:
        body["logit_bias"] = check_logit_bias(v)
    if (v := args.get("top_a")) is not None:
        body["top_a"] = number("top_a", v, 0, 1)
    if (v := args.get("user")) is not None:
        if not isinstance(v, str) or not v.strip():
            raise invalid("user", f"{v!r} is not an end-user id", "Use a stable id, hash or pseudonym of your end user")
        body["user"] = v
    if (v := args.get("session_id")) is not None:
        if not isinstance(v, str) or not 1 <= len(v) <= MAX_SESSION_ID:
            raise invalid("session_id", f"{v!r} is not a session id", f"Use 1 to {MAX_SESSION_ID} characters")
        body["session_id"] = v
    if (v := args.get("transforms")) is not None:
        if not isinstance(v, list) or not all(t in TRANSFORMS for t in v):
            raise invalid("transforms", f"{v!r} is not a list of transforms", 'Use ["middle-out"], or [] to turn it off')
        body["transforms"] = v
        # The same switch in the shape OpenRouter documents today (guides/features/message-transforms.mdx):
        # the context-compression plugin; the seed overview's `transforms` goes too, as given.
        if not any(p.get("id") == "context-compression" for p in body.get("plugins") or ()):
            body["plugins"] = [*body.get("plugins", ()), {"id": "context-compression"} if v else {"id": "context-compression", "enabled": False}]
    if (v := args.get("parallel_tool_calls")) is not None:
        if not has_tools:
            raise invalid("parallel_tool_calls", "is set without tools", "Pass the tools too, or drop parallel_tool_calls")
        body["parallel_tool_calls"] = flag("parallel_tool_calls", v)
    if (v := args.get("verbosity")) is not None:
        if v not in VERBOSITY:
            raise invalid("verbosity", f"{v!r} is not a verbosity", f"Use one of {', '.join(VERBOSITY)}")
        body["verbosity"] = v
    if (v := args.get("prediction")) is not None:
        body["prediction"] = check_prediction(v)
    if (v := args.get("modalities")) is not None:
        if not isinstance(v, list) or not v or not all(m in MODALITIES for m in v):
            raise invalid("modalities", f"{v!r} is not a list of output modalities", 'Use some of text, image, audio, e.g. ["text", "audio"]')
        body["modalities"] = v
    if (v := args.get("audio")) is not None:
        if "audio" not in body.get("modalities", ()):
            raise invalid("audio", "is set without audio output", 'Add "audio" to modalities, or drop audio')
        body["audio"] = check_audio(v)
    elif "audio" in body.get("modalities", ()):
        # Spoken output needs a voice and a format; streamed audio comes as 16-bit PCM (saved as WAV).
        body["audio"] = {"voice": "alloy", "format": "pcm16"}
    if (v := args.get("image_config")) is not None:
        body["image_config"] = check_image_config(v)


def usage_of(result: ChatResult) -> dict[str, int]:
    """A reply's token counts, as chat_completion's `usage` names them."""
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "reasoning_tokens": result.reasoning_tokens,
        "cached_tokens": result.cached_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def check_reply(request: ChatRequest, result: ChatResult) -> Any:
    """Raise when a paid reply is unusable; return the parsed JSON for a json_schema request."""
    if result.finish_reason == "length" and not result.content.strip() and not result.tool_calls and result.reasoning_tokens:
        raise ToolFailure(
            ErrorCode.INVALID_INPUT,
            f"max_tokens: the model spent all {request.max_tokens or 'its'} tokens on reasoning and wrote no answer. "
            "Raise max_tokens, or lower reasoning.effort / set reasoning.max_tokens.",
            details={"field": "max_tokens", "reasoning_tokens": result.reasoning_tokens},
            generation_id=result.generation_id,
        )
    if request.schema is None:
        return None
    try:
        parsed = json.loads(result.content)
    except json.JSONDecodeError:
        raise _schema_failure(result, ["the reply is not JSON"]) from None
    from jsonschema import validators

    validator = validators.validator_for(request.schema)(request.schema)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(parsed)][:5]
    if problems:
        raise _schema_failure(result, problems)
    return parsed


def _schema_failure(result: ChatResult, problems: list[str]) -> ToolFailure:
    return ToolFailure(
        ErrorCode.UPSTREAM_ERROR,
        f"The reply of {result.model} does not match response_format's schema: {'; '.join(problems)}. "
        "Pick a model that supports structured_outputs, or set provider.require_parameters=true.",
        retryable=True,
        details={"schema_errors": problems, "text": result.content[:4000]},
        generation_id=result.generation_id,
    )


async def run_chat(
    app: App,
    body: dict[str, Any],
    *,
    tool: str,
    max_cost_usd: float | None = None,
    on_progress: ProgressFn | None = None,
    upload: StreamedBody | None = None,
    retry_rate_limited: bool = True,
    extra_prompt_tokens: int = 0,
    on_start: StartFn | None = None,
    headers: dict[str, str] | None = None,
    stream: bool | None = None,
) -> ChatResult:
    """One paid chat completion, the way every tool makes one: the model ids are checked against the
    catalog (a typo costs nothing and gets suggestions), the worst case is checked against the per-call
    cap and the budgets, and the call lands in the ledger exactly once. With `upload` (a large file
    streamed from disk), `body` is the same request with the file left out, for the checks;
    `extra_prompt_tokens` is what a long media part adds to the estimate over the usual allowance;
    `on_start` hears the generation id too, once OpenRouter names it (from then on the call may bill);
    `headers` go with the request (ChatRequest.headers). The request is streamed only where something reads
    the stream (`stream=None` decides): progress, a streamed upload, a caller that must learn the generation
    id before the answer (to settle a call stopped early), or spoken output; else it is one plain request,
    which costs less (decision 13). `stream=True` asks for it anyway (time to first token is measured)."""
    candidates = [m for m in [body.get("model"), *(body.get("models") or [])] if m is not None]
    for model_id in candidates:
        await app.catalog.require(model_id)
    estimate = await estimate_chat_usd(app, body, extra_prompt_tokens=extra_prompt_tokens)
    # The call's row is written by the request itself, after its headers and before its body (paid_call).
    async with app.ledger.paid_call(tool=tool, model=candidates[0], estimate_usd=estimate, max_cost_usd=max_cost_usd, ahead_of_body=True) as call:

        def started(generation_id: str) -> None:
            call.started(generation_id)
            if on_start is not None:
                on_start(generation_id)

        if stream is None:
            stream = on_progress is not None or upload is not None or on_start is not None or "audio" in (body.get("modalities") or ())
        result = await app.gateway.chat(
            upload or body,
            on_progress=on_progress,
            on_start=started,
            retry_rate_limited=retry_rate_limited,
            headers=headers,
            stream=stream,
            before_body=call.ready,
            on_sent=call.body_sent,
        )
        call.succeeded(
            model_used=result.model,
            provider=result.provider,
            generation_id=result.generation_id,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            reasoning_tokens=result.reasoning_tokens,
            cached_tokens=result.cached_tokens,
            cost_usd=result.cost_usd,
            latency_ms=result.latency_ms,
        )
    return result
