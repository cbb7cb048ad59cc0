"""The `compat` toolset, on only when named (`OPENROUTER_MCP_TOOLSETS=all,compat`; never part of `all`):
the tool calls of physics91/openrouter-mcp and stabgan/openrouter-mcp-multimodal work unchanged, each
translated onto one of our tools (the translations are in `services.compat`).

- Their own tools are always registered: physics91's `chat_with_model`, `list_available_models`,
  `chat_with_vision`, `list_vision_models`, `compare_model_categories`, `compare_model_performance` and
  stabgan's `health_check`, `generate_video_from_image`. They answer in the shapes the seeds documented,
  plus our `cost_usd`. Each runs our tool (chat_completion, benchmark_models, generate_video) on a private
  engine, which registers that tool's toolset itself when it is not enabled: `OPENROUTER_MCP_TOOLSETS=compat`
  alone is a server with just the seeds' own tools (a saved video's resource link and get_video_status then
  need the media toolset enabled too).
- Each tool whose name we share with a seed and whose toolset is enabled (config registers compat last) is
  replaced by a wrapper taking our arguments and theirs (physics91's single `request` object too): the
  signature is read from our registered tool at start-up, so arguments other toolsets add are kept. Their
  arguments are translated, our tool runs on the engine with the result. A shared tool whose toolset is off
  stays absent: compat adds the seeds' names for arguments, not other toolsets' tools.
- A value of theirs we cannot honour, or one that contradicts an argument of ours given with it, is refused
  with INVALID_INPUT; unknown arguments are refused as on every tool. `rerank_documents` already takes
  stabgan's arguments (the `retrieval` toolset)."""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import LATEST_PROTOCOL_VERSION, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo

from .. import __version__
from ..core.results import ok
from ..errors import ToolFailure, invalid
from ..server import OpenRouterMCP, declared_output, number_guard, request_context_of, validation_failure
from ..services.collective.selection import check_constraints, select_models
from ..services.compat import physics91, shapes, stabgan
from ..services.compat.call import Call, Translate
from ._common import PAID_CALL, READ_ONLY_REMOTE
from .media import VideoOutput
from .models import ModelDetails, ModelRow, SearchOutput, Validation

if TYPE_CHECKING:
    from mcp.server.mcpserver.tools.base import Tool

    from ..app import App

Run = Callable[[dict[str, Any], set[str], Context | None], Awaitable[CallToolResult]]
KW = inspect.Parameter.KEYWORD_ONLY
EMPTY = inspect.Parameter.empty
REQUEST = Annotated[dict[str, Any] | None, Field(description="physics91's form: the arguments inside one object")]
WRAPPED = " Also takes physics91's and stabgan's argument names."

# Our tools the seeds' own tools run, and the toolset module that registers each.
OWNER = {"chat_completion": "chat", "benchmark_models": "bench", "generate_video": "media"}


@dataclass(frozen=True, slots=True)
class Spec:
    """A shared tool in compat: the seed arguments it takes besides ours and their translation."""

    params: dict[str, Any]
    translate: Translate | None
    request_form: bool = False
    stand_ins: tuple[str, ...] = ()  # our required arguments one of theirs may stand in for
    wider: dict[str, Any] = field(default_factory=dict)  # our arguments that take values of this type too
    notes: dict[str, str] = field(default_factory=dict)  # what our arguments also take, for their descriptions
    output: Any = None  # our output model with the seed's result fields added, when the translation adds them


class StabganSearch(SearchOutput):
    results: list[ModelRow] = Field(description="stabgan's name for models.")
    offset: int
    limit: int


class StabganModel(ModelDetails):
    architecture: dict[str, list[str]] = Field(description="stabgan's input_modalities and output_modalities.")


class StabganValidation(Validation):
    valid: bool = Field(description="stabgan's name for usable.")


# Our tools whose answers compat extends with stabgan's result fields.
OUTPUTS = {"search_models": StabganSearch, "get_model_info": StabganModel, "validate_model": StabganValidation}


def _specs() -> dict[str, Spec]:
    out = {
        name: Spec(
            params,
            getattr(physics91, name),
            name in physics91.REQUEST_FORM,
            physics91.STAND_INS.get(name, ()),
            physics91.WIDER.get(name, {}),
            physics91.NOTES.get(name, {}),
        )
        for name, params in physics91.PARAMS.items()
    }
    out["get_usage_stats"] = Spec({}, None, request_form=True)
    for name, params in stabgan.PARAMS.items():
        out[name] = Spec(params, getattr(stabgan, name), wider=stabgan.WIDER.get(name, {}), notes=stabgan.NOTES.get(name, {}), output=OUTPUTS.get(name))
    return out


def _noted(annotation: Any, note: str) -> Any:
    """`annotation` with `note` added to its description."""
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        for i, info in enumerate(meta):
            if isinstance(info, FieldInfo):
                meta[i] = FieldInfo.merge_field_infos(info, description=f"{info.description}; {note}" if info.description else note)
                return Annotated[(base, *meta)]
        return Annotated[(base, *meta, Field(description=note))]
    return Annotated[annotation, Field(description=note)]


def _text(result: CallToolResult) -> str:
    return next((c.text for c in result.content if isinstance(c, TextContent)), "")


def _protocol_version(ctx: Context | None) -> str:
    """The protocol version this session negotiated."""
    version = getattr(getattr(request_context_of(ctx), "session", None), "protocol_version", None)
    return version if isinstance(version, str) else LATEST_PROTOCOL_VERSION


class Compat:
    """The compat tools' shared parts: the server they are registered on and the engine that runs ours."""

    def __init__(self, server: MCPServer[Any], app: App) -> None:
        self.server = server
        self.app = app
        # Never served: holds our tools as they were registered, for the compat tools to run.
        self.engine = OpenRouterMCP(name="openrouter-mcp-compat-engine")

    async def run(self, name: str, args: dict[str, Any], ctx: Context | None) -> CallToolResult:
        """Our tool `name`, run as a call of its own would be (argument checks and error results included)."""
        if self.engine._tool_manager.get_tool(name) is None:
            importlib.import_module(f".{OWNER[name]}", __package__).register(self.engine, self.app)
        result = await self.engine.call_tool(name, args, ctx)
        assert isinstance(result, CallToolResult)
        return result

    def add(
        self, name: str, params: list[inspect.Parameter], output: Any, run: Run, *, description: str, annotations: ToolAnnotations, request_form: bool = False
    ) -> None:
        """Register a tool whose signature is `params` (plus physics91's `request` when it had that form):
        the SDK's schema and the server's refusal of unknown arguments see every one of them."""
        params = [*params, *([inspect.Parameter("request", KW, default=None, annotation=REQUEST)] if request_form else [])]
        defaults = {p.name: p.default for p in params}
        registered: list[Tool] = []

        async def tool(**kwargs: Any) -> CallToolResult:
            ctx = kwargs.pop("ctx", None)
            request = kwargs.pop("request", None)
            given = {k for k, v in kwargs.items() if defaults[k] is EMPTY or v != defaults[k]}
            if request is not None:
                kwargs, given = _unwrap(registered[0], kwargs, given, request)
            return await run(kwargs, given, ctx)

        every = [*params, inspect.Parameter("ctx", KW, default=None, annotation=Context | None)]
        returns = Annotated[CallToolResult, output]
        tool.__name__ = tool.__qualname__ = name
        tool.__signature__ = inspect.Signature(every, return_annotation=returns)  # type: ignore[attr-defined]
        tool.__annotations__ = {p.name: p.annotation for p in every} | {"return": returns}
        self.server.tool(name=name, description=description, annotations=annotations)(tool)
        registered.append(self.server._tool_manager.get_tool(name))  # type: ignore[arg-type]

    def wrap(self, tool: Tool, spec: Spec) -> None:
        """Put a wrapper taking our arguments and the seeds' in place of our registered `tool`, which moves
        to the engine."""
        self.engine.tool(name=tool.name, title=tool.title, description=tool.description, annotations=tool.annotations)(tool.fn)
        self.server.remove_tool(tool.name)
        ours = [p for p in inspect.signature(tool.fn, eval_str=True).parameters.values() if p.name != tool.context_kwarg]
        defaults = {p.name: p.default for p in ours if p.default is not EMPTY}
        optional = set(spec.stand_ins) | ({p.name for p in ours} if spec.request_form else set())
        params = []
        for p in ours:
            annotation = p.annotation | spec.wider[p.name] if p.name in spec.wider else p.annotation
            if p.name in spec.notes:
                annotation = _noted(annotation, spec.notes[p.name])
            params.append(inspect.Parameter(p.name, KW, default=None if p.default is EMPTY and p.name in optional else p.default, annotation=annotation))
        names = frozenset(p.name for p in ours)
        # A seed argument our tool has come to take itself (chat_completion's `cache`, say) is ours.
        theirs = {name: annotation for name, annotation in spec.params.items() if name not in names}
        params += [inspect.Parameter(name, KW, default=None, annotation=annotation) for name, annotation in theirs.items()]

        async def run(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
            call = Call({k: args[k] for k in given if k in names}, {k: args[k] for k in given if k in theirs}, defaults, names)
            if spec.translate is not None:
                await spec.translate(self.app, call)
            result = await self.run(tool.name, call.args, ctx)
            if call.after is not None and not result.is_error and result.structured_content is not None:
                data, text = call.after(result.structured_content, _text(result))
                result = result.model_copy(update={"structured_content": data, "content": [TextContent(type="text", text=text), *result.content[1:]]})
            return result

        annotations = tool.annotations or ToolAnnotations()
        self.add(
            tool.name,
            params,
            spec.output or declared_output(tool.fn),
            run,
            description=tool.description + WRAPPED,
            annotations=annotations,
            request_form=spec.request_form,
        )


def _unwrap(tool: Tool, kwargs: dict[str, Any], given: set[str], request: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """physics91's `request` object: its members join the arguments given beside it and are checked as they are."""
    if "request" in request:
        raise invalid("request.request", "is a request inside the request", "Put the arguments in one request object")
    if (failure := number_guard(tool).check(request)) is not None:
        raise failure
    for key, value in request.items():
        if key in given and kwargs[key] != value:
            raise invalid(f"request.{key}", f"differs from the {key} given beside request", f"Give {key} once")
    try:
        validated = tool.fn_metadata.validate_arguments({**{k: kwargs[k] for k in given}, **request})
    except ValidationError as exc:
        raise validation_failure(exc) from None
    validated.pop("request", None)
    return validated, given | set(request)


def _params(spec: dict[str, Any]) -> list[inspect.Parameter]:
    """Parameters from `{name: annotation}` (default None) or `{name: (annotation, default)}` (`...`: required)."""
    out = []
    for name, value in spec.items():
        annotation, default = value if isinstance(value, tuple) else (value, None)
        out.append(inspect.Parameter(name, KW, default=EMPTY if default is ... else default, annotation=annotation))
    return out


def register(server: MCPServer[Any], app: App) -> None:
    compat = Compat(server, app)
    for name, spec in _specs().items():
        if (tool := server._tool_manager.get_tool(name)) is not None:
            compat.wrap(tool, spec)
    _register_physics91(compat)
    _register_stabgan(compat)


# ---------- physics91's own tools ----------

Messages = Annotated[list[dict[str, Any]] | None, Field(description="[{role, content}]")]
CHAT: dict[str, Any] = {
    "model": Annotated[str | None, Field(max_length=200, description="e.g. openai/gpt-4o (default: the server's)")],
    "messages": Messages,
    "temperature": (Annotated[float, Field(ge=0, le=2)], 0.7),
    "max_tokens": Annotated[int | None, Field(ge=1, le=2_000_000)],
    "stream": (Annotated[bool, Field(description="Also return the reply as chat.completion.chunk objects (result)")], False),
}
FILTER: dict[str, Any] = {"filter_by": Annotated[str | None, Field(max_length=200, description="Part of the id or name, any case")]}


def _model_lines(records: list[dict[str, Any]], what: str) -> str:
    lines = [f"{len(records)} {what}:"] + [f"- {r['id']}: {r.get('name', '')}, {(r.get('context_length') or 0) // 1000}K ctx" for r in records[:200]]
    if len(records) > 200:
        lines.append(f"... and {len(records) - 200} more (all in the structured result).")
    return "\n".join(lines)


def _register_physics91(compat: Compat) -> None:
    app = compat.app

    async def chat(args: dict[str, Any], messages: Any, ctx: Context | None) -> CallToolResult:
        body = {
            k: v
            for k, v in {"model": args["model"], "messages": messages, "temperature": args["temperature"], "max_tokens": args["max_tokens"]}.items()
            if v is not None
        }
        result = await compat.run("chat_completion", body, ctx)
        if result.is_error or result.structured_content is None:
            return result
        created = int(time.time())
        data = shapes.completion(result.structured_content, created)
        if args["stream"]:
            data["result"] = shapes.chunks(result.structured_content, created)
        return ok(data, _text(result))

    async def chat_with_model(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        return await chat(args, args["messages"], ctx)

    async def chat_with_vision(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        return await chat(args, physics91.vision_messages(args["messages"], args["images"]), ctx)

    async def listing(args: dict[str, Any], vision: bool) -> CallToolResult:
        snap = await app.catalog.snapshot()
        records = physics91.model_records(snap.models, args["filter_by"], vision=vision)
        return ok({"result": records}, _model_lines(records, "vision models" if vision else "models"))

    async def list_available_models(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        return await listing(args, vision=False)

    async def list_vision_models(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        return await listing(args, vision=True)

    async def compare_model_performance(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        weights = physics91.bench_weights(args["weights"])
        result = await compat.run("benchmark_models", {"models": args["models"], "weights": weights}, ctx)
        if result.is_error or result.structured_content is None:
            return result
        data = shapes.performance(result.structured_content, args["models"], weights, args["include_cost_analysis"])
        return ok(data, _text(result))

    async def compare_model_categories(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        names = physics91.categories(args["categories"])
        priority = physics91.metric_priority(args["metric"])
        info: dict[str, Any] = {}
        results: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        failed: CallToolResult | None = None
        for name in names:
            task, needs, suite = physics91.CATEGORIES[name]
            try:
                picked = await select_models(
                    app, task, check_constraints({"priority": priority, "count": args["top_n"], **({"require": list(needs)} if needs else {})})
                )
            except ToolFailure as failure:
                skipped[name] = failure.message
                continue
            models = [r.model for r in picked.recommendations]
            info[name] = {"considered": picked.considered, "selected_models": models}
            if len(models) < 2:
                skipped[name] = f"only {len(models)} model fits; a benchmark compares two or more"
                continue
            result = await compat.run("benchmark_models", {"models": models, "prompts": suite, "runs": physics91.CATEGORY_RUNS}, ctx)
            if result.is_error or result.structured_content is None:
                failed = failed or result
                skipped[name] = _text(result)
                continue
            results[name] = result.structured_content
        if not results and failed is not None:
            return failed
        cost = sum(r["cost_usd"] for r in results.values())
        lines = [f"{name}: {', '.join(r['ranking'])} (best first; {r['benchmark_id']})" for name, r in results.items()]
        lines += [f"{name}: skipped ({why})" for name, why in skipped.items()]
        data = {
            "config": {"categories": names, "top_n": args["top_n"], "metric": args["metric"]},
            "category_info": info,
            "results": results,
            "skipped": skipped,
            "cost_usd": cost,
        }
        return ok(data, "\n".join([*lines, f"— ${cost:.6f}"]))

    images = Annotated[list[dict[str, Any]] | None, Field(description="[{data, type: base64|url}], after the last message's text")]
    compat.add(
        "chat_with_model",
        _params(CHAT),
        shapes.Completion,
        chat_with_model,
        description="physics91's chat: an OpenAI chat.completion from any model, with cost_usd.",
        annotations=PAID_CALL,
        request_form=True,
    )
    compat.add(
        "chat_with_vision",
        _params({**CHAT, "images": images}),
        shapes.Completion,
        chat_with_vision,
        description="physics91's vision chat: images after the last message; a chat.completion with cost_usd.",
        annotations=PAID_CALL,
        request_form=True,
    )
    compat.add(
        "list_available_models",
        _params(FILTER),
        shapes.ModelList,
        list_available_models,
        description="physics91's model list: OpenRouter's /models records, by a part of the id or name.",
        annotations=READ_ONLY_REMOTE,
        request_form=True,
    )
    compat.add(
        "list_vision_models",
        _params(FILTER),
        shapes.ModelList,
        list_vision_models,
        description="physics91's vision model list: the /models records of models that take images.",
        annotations=READ_ONLY_REMOTE,
        request_form=True,
    )
    weights = Annotated[dict[str, Annotated[float, Field(ge=0, le=100)]] | None, Field(description="{speed, cost, quality}; throughput 0. Default .2/.3/.4")]
    compat.add(
        "compare_model_performance",
        _params({"models": (Annotated[list[str], Field(description="2-10 model ids")], ...), "weights": weights, "include_cost_analysis": (bool, True)}),
        shapes.Performance,
        compare_model_performance,
        description="physics91's weighted comparison: benchmarks the models and ranks them by your weights, with cost_usd.",
        annotations=PAID_CALL,
    )
    compat.add(
        "compare_model_categories",
        _params(
            {
                "categories": Annotated[list[str] | None, Field(description=f"Of {', '.join(physics91.CATEGORIES)} (default all)")],
                "top_n": (Annotated[int, Field(ge=2, le=10, description="Models per category")], 3),
                "metric": (Annotated[str, Field(description=f"{'|'.join(physics91.METRICS)}: how the models are picked")], "overall"),
            }
        ),
        shapes.CategoryComparison,
        compare_model_categories,
        description="physics91's category comparison: picks each category's top models and benchmarks them, with cost_usd.",
        annotations=PAID_CALL,
    )


# ---------- stabgan's own tools ----------


def _register_stabgan(compat: Compat) -> None:
    from ..upstream import account

    app = compat.app

    async def health_check(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        error = None
        try:
            await account.key_info(app.gateway)
            key_valid = True
        except ToolFailure as failure:
            key_valid, error = False, failure.message
        try:
            cached = len((await app.catalog.snapshot()).models)
        except ToolFailure as failure:
            cached, error = 0, error or failure.message
        data = {
            "ok": key_valid and cached > 0,
            "server_version": __version__,
            "protocol_version": _protocol_version(ctx),
            "api_key_valid": key_valid,
            "models_cached": cached,
            "error": error,
        }
        return ok(
            data, f"{'ok' if data['ok'] else 'not ok'}: key {'valid' if key_valid else 'not valid'}, {cached} models cached" + (f" ({error})" if error else "")
        )

    async def generate_video_from_image(args: dict[str, Any], given: set[str], ctx: Context | None) -> CallToolResult:
        return await compat.run("generate_video", stabgan.video_from_image(args).args, ctx)

    compat.add(
        "health_check",
        [],
        shapes.Health,
        health_check,
        description="stabgan's health check: is the key valid, how many models are cached, the server and protocol versions.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True),
    )
    compat.add(
        "generate_video_from_image",
        _params(stabgan.VIDEO_FROM_IMAGE),
        VideoOutput,
        generate_video_from_image,
        description="stabgan's image-to-video: generate_video with image as the first frame.",
        annotations=PAID_CALL,
    )
