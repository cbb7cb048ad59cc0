"""physics91/openrouter-mcp's arguments on the tools whose names we share, read onto ours. Each `PARAMS`
entry declares the arguments of theirs a tool takes besides ours (the same name with a different meaning
is translated in place), and its translation turns a `Call` into our tool's arguments."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ...errors import invalid
from ..collective.history import accuracy_estimates
from ..media.formats import sniff
from .call import Call, show

if TYPE_CHECKING:
    from ...app import App

SystemPrompt = Annotated[str | None, Field(max_length=50_000, description="physics91: put before the text every model reads")]
NO_TEMPERATURE = Annotated[float | None, Field(description="physics91: refused (this tool takes no temperature)")]

# physics91's strategies on ours: its weighted average picks by weighted confidence, our weighted vote by
# measured accuracy; its confidence threshold is read as in `_confident`.
STRATEGIES = {"weighted_average": "weighted", "confidence_threshold": "majority_vote"}
# task_type -> our answer_type, where the task says how answers compare (the others keep auto-detection).
ANSWER_TYPES = {"math": "number", "creative": "text", "summarization": "text", "translation": "text", "analysis": "text", "code_generation": "text"}
# physics91's task types -> the words that tell adaptive_model_selection's task profile what the task needs.
TASK_WORDS = {
    "reasoning": "Complex reasoning",
    "analysis": "Analyze",
    "creative": "Creative writing",
    "factual": "Factual question",
    "code_generation": "Code generation",
    "summarization": "Summarization",
    "translation": "Translation",
    "math": "Math",
    "classification": "Classification",
}
TaskType = Annotated[str | None, Field(description=f"physics91: {'|'.join(TASK_WORDS)}")]
REQUIREMENT_PRIORITY = {"accuracy": "quality", "quality": "quality", "speed": "speed", "latency": "speed", "cost": "cost", "price": "cost"}

PARAMS: dict[str, dict[str, Any]] = {
    "collective_chat_completion": {
        "min_models": Annotated[int | None, Field(ge=1, le=16, description="physics91: fewest models asked; every one answers (no early stop)")],
        "max_models": Annotated[int | None, Field(ge=1, le=16, description="physics91: most models asked (the first of models)")],
        "confidence_threshold": Annotated[
            float | None, Field(ge=0, le=1, description="physics91, strategy confidence_threshold: models measured below it do not vote")
        ],
        "system_prompt": SystemPrompt,
    },
    "ensemble_reasoning": {
        "task_type": TaskType,
        "system_prompt": SystemPrompt,
        "temperature": NO_TEMPERATURE,
    },
    "adaptive_model_selection": {
        "query": Annotated[str | None, Field(description="physics91: the task")],
        "task_type": TaskType,
        "performance_requirements": Annotated[
            dict[str, Annotated[float, Field(ge=0, le=1)]] | None,
            Field(description="physics91: {accuracy|quality|speed|cost: 0..1}; the highest sets the priority"),
        ],
    },
    "cross_model_validation": {
        "validation_criteria": Annotated[list[str] | None, Field(description="physics91: criteria")],
        "threshold": Annotated[float | None, Field(ge=0, le=1, description="physics91: INVALID when the overall score /10 is below it")],
        "system_prompt": Annotated[str | None, Field(description="physics91: refused here (the judges' instructions are fixed)")],
        "temperature": NO_TEMPERATURE,
    },
    "collaborative_problem_solving": {
        "max_iterations": Annotated[int | None, Field(ge=1, le=6, description="physics91: max_rounds")],
        "requirements": Annotated[dict[str, Any] | None, Field(description="physics91: added to the problem")],
        "constraints": Annotated[dict[str, Any] | None, Field(description="physics91: added to the problem")],
        "system_prompt": SystemPrompt,
        "temperature": NO_TEMPERATURE,
    },
    "benchmark_models": {
        "prompt": Annotated[str | None, Field(min_length=1, description="physics91: one prompt (prompts=[prompt])")],
        "delay_seconds": Annotated[float | None, Field(ge=0, le=60, description="physics91: only 0 (calls are paced by concurrency)")],
        "save_results": Annotated[bool | None, Field(description="physics91: runs are always kept (get_benchmark_history)")],
        "include_prompts_in_logs": Annotated[bool | None, Field(description="physics91: only false (prompts are never logged)")],
    },
    "get_benchmark_history": {
        "days_back": Annotated[int | None, Field(ge=0, le=36_500, description="physics91: since this many days ago")],
        "model_filter": Annotated[str | None, Field(min_length=1, max_length=200, description="physics91: runs with a model id containing this")],
    },
    "export_benchmark_report": {
        "benchmark_file": Annotated[str | None, Field(min_length=1, max_length=200, description="physics91: <benchmark_id>.json")],
        "output_file": Annotated[str | None, Field(description="physics91: save_path")],
    },
    "free_chat": {
        "system_prompt": Annotated[str | None, Field(max_length=50_000, description="physics91: system")],
        "conversation_history": Annotated[list[dict[str, Any]] | None, Field(max_length=200, description="physics91: earlier [{role, content}]")],
        "preferred_models": Annotated[list[str] | None, Field(description="physics91: one free model to try first (model)")],
        "stream": Annotated[bool | None, Field(description="physics91: the reply always comes whole")],
    },
}
# Tools physics91 took as one `request` object holding the arguments.
REQUEST_FORM = (
    "collective_chat_completion",
    "ensemble_reasoning",
    "adaptive_model_selection",
    "cross_model_validation",
    "collaborative_problem_solving",
    "free_chat",
    "get_usage_stats",
)
# Our arguments physics91's stand in for, so the schema no longer requires them.
STAND_INS = {"adaptive_model_selection": ("task",), "export_benchmark_report": ("benchmark_id",)}
# Our arguments that take values of another type from physics91 too: the type added to ours.
WIDER: dict[str, dict[str, Any]] = {
    "free_chat": {"message": list[dict[str, Any]]},
    "collective_chat_completion": {"strategy": Literal["weighted_average", "confidence_threshold"]},
}
# What our arguments also take from physics91, added to their descriptions.
NOTES = {
    "collective_chat_completion": {"strategy": "physics91's weighted_average, confidence_threshold"},
    "adaptive_model_selection": {"constraints": "physics91's max_cost, preferred_provider"},
    "free_chat": {"message": "or physics91's text parts"},
}


def _no_temperature(call: Call, tool: str) -> None:
    call.refuse("temperature", f"{tool} takes no temperature on this server (each model samples at its default)", "Drop temperature")


async def _confident(app: App, models: list[str], threshold: float) -> list[str]:
    """physics91's confidence threshold: only sufficiently confident answers vote. Ours is the accuracy
    measured from past votes and benchmarks: a model measured below the threshold does not vote (one with
    no evidence yet does); if none is left, the best measured one answers alone, as physics91 fell back."""
    estimates = await accuracy_estimates(app, models)
    kept = [m for m in models if estimates[m].sources == ("prior",) or estimates[m].accuracy >= threshold]
    return kept or [max(models, key=lambda m: estimates[m].accuracy)]


async def collective_chat_completion(app: App, call: Call) -> None:
    strategy = call.args.get("strategy")
    if strategy in STRATEGIES:
        call.args["strategy"] = STRATEGIES[strategy]
    if system := call.their("system_prompt"):
        call.amend("prompt", before=system)
    models = list(call.args.get("models") or app.settings.collective.models)
    asked = models[: call.their("max_models", len(models))]
    if strategy == "confidence_threshold":
        asked = await _confident(app, asked, call.their("confidence_threshold", 0.7))
    if (least := call.their("min_models")) is not None:
        if len(asked) < least:
            raise invalid("min_models", f"{least} models must answer but {len(asked)} would be asked", "Name more models, or lower min_models")
        call.put("early_stop", False, alias="min_models")
    if asked != models:
        call.args["models"] = asked


def _task_type(call: Call) -> str | None:
    """physics91's task_type, when given and one of its task types."""
    task_type: str | None = call.their("task_type")
    if task_type is not None and task_type not in TASK_WORDS:
        raise invalid("task_type", f"{task_type!r} is not a task type", f"Use one of {', '.join(TASK_WORDS)}")
    return task_type


async def ensemble_reasoning(app: App, call: Call) -> None:
    _no_temperature(call, "ensemble_reasoning")
    if system := call.their("system_prompt"):
        call.amend("problem", before=system)
    if (task_type := _task_type(call)) in ANSWER_TYPES:
        call.put("answer_type", ANSWER_TYPES[task_type], alias="task_type")


def _priority(requirements: dict[str, float]) -> str:
    """The priority physics91's performance requirements ask for most; balanced when they ask for several alike."""
    scores: dict[str, float] = {}
    for key, value in requirements.items():
        if key not in REQUIREMENT_PRIORITY:
            raise invalid(f"performance_requirements.{key}", "is not a requirement", f"Use {', '.join(REQUIREMENT_PRIORITY)}")
        priority = REQUIREMENT_PRIORITY[key]
        scores[priority] = max(value, scores.get(priority, 0.0))
    top = max(scores.values(), default=0.0)
    leaders = [p for p, v in scores.items() if v == top]
    return leaders[0] if len(leaders) == 1 and top > 0 else "balanced"


async def adaptive_model_selection(app: App, call: Call) -> None:
    if (query := call.their("query")) is not None:
        call.put("task", query, alias="query")
    if (task_type := _task_type(call)) is not None:
        call.amend("task", before=f"{TASK_WORDS[task_type]}:")
    constraints = dict(call.args.get("constraints") or {})
    # physics91's constraint keys, as its documentation named them.
    for theirs, ours, value in (
        ("max_cost", "max_cost_per_call_usd", constraints.get("max_cost")),
        ("preferred_provider", "only", [constraints["preferred_provider"]] if "preferred_provider" in constraints else None),
        ("performance_requirements", "priority", _priority(call.their("performance_requirements")) if call.their("performance_requirements") else None),
    ):
        constraints.pop(theirs, None)
        if value is None:
            continue
        if constraints.get(ours) not in (None, value):
            raise invalid(
                theirs,
                f"says constraints.{ours}={show(value)}, but constraints.{ours}={show(constraints[ours])} is also given",
                f"Give {theirs} or constraints.{ours}, not both",
            )
        constraints[ours] = value
    if constraints:
        call.args["constraints"] = constraints


async def cross_model_validation(app: App, call: Call) -> None:
    _no_temperature(call, "cross_model_validation")
    call.refuse("system_prompt", "cross_model_validation gives its judges fixed instructions", "Say what the content answers in context, or drop system_prompt")
    if (criteria := call.their("validation_criteria")) is not None:
        call.put("criteria", criteria, alias="validation_criteria")
    threshold = call.their("threshold")
    if threshold is None:
        return
    if call.args.get("wait_seconds") is not None:
        raise invalid(
            "threshold", "is applied to the result this call returns, and with wait_seconds the result may come from get_job", "Drop wait_seconds or threshold"
        )

    def at_threshold(data: dict[str, Any], text: str) -> tuple[dict[str, Any], str]:
        score = data.get("overall_score")
        if data.get("verdict") != "VALID" or score is None or score / 10 >= threshold:
            return data, text
        note = f"INVALID: the overall score {score:g}/10 is below threshold {threshold:g}."
        return {**data, "verdict": "INVALID", "warnings": [*data.get("warnings", []), note]}, f"{text}\n{note}"

    call.after = at_threshold


async def collaborative_problem_solving(app: App, call: Call) -> None:
    _no_temperature(call, "collaborative_problem_solving")
    if (rounds := call.their("max_iterations")) is not None:
        # physics91's first iteration is the first answer, as our first round is the proposals.
        call.put("max_rounds", rounds, alias="max_iterations")
    given = {name: call.their(name) for name in ("requirements", "constraints") if call.their(name)}
    call.amend("problem", before=call.their("system_prompt"), after="\n".join(f"{k.title()}: {json.dumps(v, default=str)}" for k, v in given.items()))


async def benchmark_models(app: App, call: Call) -> None:
    if (prompt := call.their("prompt")) is not None:
        call.put("prompts", [prompt], alias="prompt")
    if call.their("delay_seconds", 0) > 0:
        raise invalid("delay_seconds", "this server does not wait between benchmark calls", "Drop delay_seconds; set concurrency=1 to send one call at a time")
    if call.their("save_results") is False:
        raise invalid("save_results", "this server keeps every benchmark run (get_benchmark_history lists them)", "Drop save_results")
    if call.their("include_prompts_in_logs") is True:
        raise invalid("include_prompts_in_logs", "this server never logs prompts", "Drop include_prompts_in_logs")


async def get_benchmark_history(app: App, call: Call) -> None:
    if (days := call.their("days_back")) is not None:
        call.put("since", (datetime.now(UTC).date() - timedelta(days=days)).isoformat(), alias="days_back")
    if (part := call.their("model_filter")) is None:
        return
    # Ours filters on one exact model id; physics91 matched a part of any model's id. The newest 100 runs
    # are read and filtered here.
    limit = call.args.get("limit", call.defaults["limit"])
    call.args["limit"] = 100

    def matching(data: dict[str, Any], text: str) -> tuple[dict[str, Any], str]:
        runs = [r for r in data["runs"] if any(part.lower() in m.lower() for m in r["models"])]
        kept = {r["benchmark_id"] for r in runs[:limit]}
        # The tool's text has a line per run, starting with its id.
        lines = [line for line in text.splitlines() if line.split("  ", 1)[0] in kept]
        return {**data, "runs": runs[:limit], "total": len(runs)}, "\n".join(lines) or "No stored benchmark runs match."

    call.after = matching


async def export_benchmark_report(app: App, call: Call) -> None:
    if (name := call.their("benchmark_file")) is not None:
        call.put("benchmark_id", name.strip().removesuffix(".json"), alias="benchmark_file")
    if (path := call.their("output_file")) is not None:
        call.put("save_path", path, alias="output_file")


def _text_of(content: Any, field: str) -> str:
    """A message's text: a string, or physics91's content parts when they are all text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise invalid(
                    f"{field}[{i}]", f"{show(part)} is not a text part; free_chat takes text", "Send text, or use chat_with_vision / chat_completion for images"
                )
            texts.append(part["text"])
        return "\n".join(texts)
    raise invalid(field, f"{show(content)} is not text", "Send a string")


async def free_chat(app: App, call: Call) -> None:
    if (system := call.their("system_prompt")) is not None:
        call.put("system", system, alias="system_prompt")
    if "message" in call.args:
        call.args["message"] = _text_of(call.args["message"], "message")
    if history := call.their("conversation_history"):
        # Our free_chat sends one user message: the earlier turns go before it as a transcript.
        lines = []
        for i, turn in enumerate(history):
            role = turn.get("role")
            if role not in ("system", "user", "assistant"):
                raise invalid(f"conversation_history[{i}].role", f"{show(role)} is not a role", "Use system, user or assistant")
            lines.append(f"{role}: {_text_of(turn.get('content'), f'conversation_history[{i}].content')}")
        call.amend("message", before="The conversation so far:\n" + "\n".join(lines) + "\n\nThe new message:")
    if preferred := call.their("preferred_models"):
        if len(preferred) > 1:
            raise invalid("preferred_models", f"names {len(preferred)} models; free_chat tries one named model first, then its own choice", "Name one model")
        call.put("model", preferred[0], alias="preferred_models")


# ---------- physics91's own tools ----------

# compare_model_categories: physics91's categories that chat prompts can benchmark, each as a task for
# adaptive_model_selection (what it needs from a model) and the prompt suite its models are benchmarked on.
CATEGORIES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "chat": ("General chat assistant answering everyday questions", (), "reasoning"),
    "code": ("Code generation: write, fix and debug code", (), "coding"),
    "reasoning": ("Complex reasoning and logic puzzles, step by step", ("reasoning",), "reasoning"),
    "multimodal": ("Answer questions about images", ("vision",), "reasoning"),
}
METRICS = {"overall": "balanced", "speed": "speed", "cost": "cost", "quality": "quality"}
CATEGORY_RUNS = 2  # physics91's runs per model in a category comparison
# compare_model_performance's weights as physics91 defaulted them; ours score no throughput (speed is latency).
PERFORMANCE_WEIGHTS = {"speed": 0.2, "cost": 0.3, "quality": 0.4, "throughput": 0.1}


def categories(names: list[str] | None) -> list[str]:
    if names is None:
        return list(CATEGORIES)
    for i, name in enumerate(names):
        if name not in CATEGORIES:
            raise invalid(f"categories[{i}]", f"{show(name)} is not a category whose models chat prompts can benchmark", f"Use {', '.join(CATEGORIES)}")
    return list(dict.fromkeys(names))


def metric_priority(metric: str) -> str:
    if metric not in METRICS:
        raise invalid("metric", f"{show(metric)} is not a metric", f"Use one of {', '.join(METRICS)}")
    return METRICS[metric]


def bench_weights(weights: dict[str, float] | None) -> dict[str, float]:
    """physics91's weights as benchmark_models' (speed, cost, quality), summing to 1 as it normalised them."""
    given = PERFORMANCE_WEIGHTS if weights is None else weights
    for key in given:
        if key not in PERFORMANCE_WEIGHTS:
            raise invalid(f"weights.{key}", "is not a metric", f"Use {', '.join(PERFORMANCE_WEIGHTS)}")
    if weights is not None and weights.get("throughput"):
        raise invalid(
            "weights.throughput", "this server's ranking has no throughput score (its speed is latency)", "Set throughput to 0, or add its weight to speed"
        )
    ours = {k: float(given.get(k, 0.0)) for k in ("speed", "cost", "quality")}
    total = sum(ours.values())
    if total <= 0:
        raise invalid("weights", "are all 0", "Give speed, cost or quality a weight above 0")
    return {k: round(v / total, 6) for k, v in ours.items()}


def model_records(models: Any, filter_by: str | None, *, vision: bool = False) -> list[dict[str, Any]]:
    """OpenRouter's /models records whose id or name holds `filter_by` (any case), as physics91 listed them;
    with `vision`, only the models that take images."""
    needle = (filter_by or "").lower()
    return [m.raw for m in models if (not needle or needle in m.id.lower() or needle in m.name.lower()) and (not vision or "image" in m.input_modalities)]


def _image_url(image: Any, field: str) -> str:
    data = image.get("data") if isinstance(image, dict) else None
    kind = image.get("type") if isinstance(image, dict) else None
    if not isinstance(data, str) or not data.strip():
        raise invalid(f"{field}.data", "is missing", "Give the image as base64 text or a URL")
    data = data.strip()
    if kind == "url":
        if not data.startswith(("http://", "https://", "data:image/")):
            raise invalid(f"{field}.data", f"{show(data)} is not an http(s) or data: URL", "Give a URL, or type base64 with the image's base64 text")
        return data
    if kind != "base64":
        raise invalid(f"{field}.type", f"{show(kind)} is not an image type", "Use base64 or url")
    if data.startswith("data:image/"):
        return data
    try:
        head = base64.b64decode(data[:32], validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{field}.data", "is not base64", "Give the image's bytes as base64 text, or type url with a URL") from None
    # physics91 called every image JPEG; the bytes say what it is (JPEG when they do not).
    fmt = sniff(head)
    return f"data:{fmt.mime if fmt is not None and fmt.medium == 'image' else 'image/jpeg'};base64,{data}"


def vision_messages(messages: list[dict[str, Any]] | None, images: list[Any] | None) -> list[dict[str, Any]]:
    """physics91's chat_with_vision: the images go after the text of the last message, as image parts."""
    if not messages:
        raise invalid("messages", "is empty", 'Send the conversation, e.g. [{"role": "user", "content": "What is in this picture?"}]')
    if not images:
        raise invalid("images", "is empty", 'Give at least one image, e.g. [{"data": "https://...", "type": "url"}]')
    parts = [{"type": "image_url", "image_url": {"url": _image_url(image, f"images[{i}]")}} for i, image in enumerate(images)]
    last = messages[-1]
    content = last.get("content") if isinstance(last, dict) else None
    if isinstance(content, str):
        text = [{"type": "text", "text": content}]
    elif isinstance(content, list):
        text = list(content)
    else:
        raise invalid(f"messages[{len(messages) - 1}].content", "is missing", "Write the question about the images")
    return [*messages[:-1], {**last, "content": [*text, *parts]}]
