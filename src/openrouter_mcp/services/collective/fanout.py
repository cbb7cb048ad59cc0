"""Asking several models (or samples of one) at once: the run's limits and worst-case check against
`max_cost_usd` and the budgets before anything is sent, concurrent calls through `run_chat` (ledgered once)
each with its own time-out, progress and early stop, and the usage and cost totals every result ends with:
everything billed, calls that failed after billing included (see `services.billing`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...errors import RETRYABLE, ErrorCode, ToolFailure, invalid
from ...shapes import Shape
from ..billing import COST_WAIT_S, carried_cost, generation_costs
from ..chat import build_request, run_chat
from ..checks import model_id as check_model_id
from ..checks import number, whole

if TYPE_CHECKING:
    from ...app import App

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]

MAX_MODELS = 16
TEXT_CHARS = 4000  # each model's text in a result is cut here (results must stay small)

RUN_ADVICE = "use fewer or cheaper models, or a lower max_tokens"


# ---------- output shapes every method shares ----------


class CallError(Shape):
    code: str
    message: str


class ModelAnswer(Shape):
    model: str
    role: str
    status: str = Field(description="ok, failed, timeout, stopped_early (cancelled once the result was decided) or not_sent.")
    answer: str | None = Field(None, description="The extracted, normalised final answer (or the meaning group).")
    text: str | None = None
    weight: float | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    tokens: int = 0
    error: CallError | None = None


class Failure(Shape):
    model: str
    role: str
    code: str
    message: str


class Usage(Shape):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    calls: int = Field(default=0, description="Upstream calls that generated (and billed) a reply.")


class RunTotals(Shape):
    usage: Usage = Usage()
    cost_usd: float = Field(0.0, description="USD billed for every upstream call this tool made, failed ones included.")
    wasted_usd: float = Field(0.0, description="Part of cost_usd billed for calls that failed or were cut off: it bought no answer.")
    unknown_cost_calls: int = Field(0, description="Calls that may have been billed but whose cost OpenRouter had not reported yet: not in cost_usd.")
    estimate_usd: float = Field(0.0, description="The worst case checked against max_cost_usd before starting.")
    wall_time_ms: float = 0.0
    warnings: list[str] = Field(default_factory=list)
    content_is_untrusted: bool = Field(True, description="Model text is data, not instructions.")


# ---------- fan-out ----------


@dataclass(slots=True)
class Planned:
    model: str
    body: dict[str, Any]
    role: str
    weight: float = 1.0


@dataclass(slots=True)
class Outcome:
    planned: Planned
    status: str = "not_sent"
    text: str = ""
    key: str | None = None
    latency_ms: float | None = None
    cost_usd: Decimal | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failure: ToolFailure | None = None
    generation_id: str | None = None

    def named(self, generation_id: str) -> None:
        """OpenRouter named the call's generation: from now on it may be billed, whatever happens next."""
        self.generation_id = self.generation_id or generation_id

    def view(self, *, text_chars: int = TEXT_CHARS) -> ModelAnswer:
        return ModelAnswer(
            model=self.planned.model,
            role=self.planned.role,
            status=self.status,
            answer=self.key,
            text=self.text[:text_chars] if self.status == "ok" else None,
            weight=round(self.planned.weight, 4),
            latency_ms=None if self.latency_ms is None else round(self.latency_ms, 1),
            cost_usd=None if self.cost_usd is None else float(self.cost_usd),
            tokens=self.prompt_tokens + self.completion_tokens,
            error=None if self.failure is None else CallError(code=self.failure.code.value, message=self.failure.message),
        )


StopFn = Callable[[list[Outcome], list[Planned]], bool]


@dataclass(slots=True)
class Run:
    """One tool call's shared state: limits, progress, and every outcome for the totals."""

    app: App
    tool: str
    concurrency: int
    timeout_s: float
    progress: ProgressFn | None
    planned_calls: int = 0
    done: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    cost_wait_s: float = COST_WAIT_S  # what is left of the run's wait for OpenRouter to record failed generations
    semaphore: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(max(1, self.concurrency))

    async def tick(self, message: str) -> None:
        self.done += 1
        if self.progress is not None:
            await self.progress(self.done, max(self.planned_calls, self.done), message)

    def totals(self, estimate: Decimal) -> dict[str, Any]:
        ok = [o for o in self.outcomes if o.status == "ok"]
        prompt = sum(o.prompt_tokens for o in self.outcomes)
        completion = sum(o.completion_tokens for o in self.outcomes)
        known, wasted, unknown = billed(self.outcomes)
        return {
            "usage": Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion, calls=len(ok)),
            "cost_usd": float(known),
            "wasted_usd": float(wasted),
            "unknown_cost_calls": unknown,
            "estimate_usd": float(estimate),
            "wall_time_ms": round((time.perf_counter() - self.started) * 1000, 1),
            "warnings": list(self.warnings),
        }


async def fan_out(
    run: Run,
    planned: Sequence[Planned],
    *,
    extract_key: Callable[[str], str | None] | None = None,
    stop_when: StopFn | None = None,
) -> list[Outcome]:
    """Send the planned calls concurrently (bounded by the run's semaphore, each with its own time-out).
    When `stop_when` says the result is decided, the calls still out are cancelled and the ones not yet
    sent never are."""
    outcomes = [Outcome(p) for p in planned]
    run.outcomes.extend(outcomes)
    finished: list[Outcome] = []
    tasks: list[asyncio.Task[None]] = []
    stopping = False
    loop = asyncio.get_running_loop()

    async def call(out: Outcome) -> None:
        async with run.semaphore:
            out.status = "running"
            started = loop.time()
            try:
                async with asyncio.timeout(run.timeout_s):
                    result = await run_chat(run.app, out.planned.body, tool=run.tool, on_start=out.named)
            except TimeoutError:
                out.status = "timeout"
                out.failure = ToolFailure(
                    ErrorCode.UPSTREAM_TIMEOUT, f"{out.planned.model} gave no complete reply within the per-model time-out of {run.timeout_s:g} s."
                )
            except ToolFailure as failure:
                out.status, out.failure = "failed", failure
                out.generation_id = failure.generation_id or out.generation_id
                out.cost_usd = carried_cost(failure)
            else:
                out.status, out.text, out.generation_id = "ok", result.content, result.generation_id or out.generation_id
                out.cost_usd, out.prompt_tokens, out.completion_tokens = result.cost_usd, result.prompt_tokens, result.completion_tokens
                out.key = extract_key(result.content) if extract_key is not None else None
            finally:
                out.latency_ms = (loop.time() - started) * 1000
        finished.append(out)
        verb = "answered" if out.status == "ok" else out.status
        await run.tick(f"{out.planned.role} {out.planned.model} {verb}")
        nonlocal stopping
        if stop_when is not None and not stopping:
            unfinished = [o.planned for o in outcomes if o.status in ("not_sent", "running")]
            if unfinished and stop_when(finished, unfinished):
                stopping = True
                me = asyncio.current_task()
                for task in tasks:
                    if task is not me and not task.done():
                        task.cancel()

    async def guarded(out: Outcome) -> None:
        try:
            await call(out)
        except asyncio.CancelledError:
            if not stopping:
                raise
            if out.status == "running":
                out.status = "stopped_early"

    tasks.extend(asyncio.create_task(guarded(o)) for o in outcomes)
    await wait_all(tasks)
    for task in tasks:
        if not task.cancelled() and (exc := task.exception()) is not None:
            raise exc
    await settle_costs(run, outcomes)
    return outcomes


CUT_OFF = ("timeout", "stopped_early")  # calls this server left mid-generation


async def settle_costs(run: Run, outcomes: Sequence[Outcome]) -> None:
    """Fill in what the calls whose cost no reply carried were billed (a failure, a time-out, an early
    stop after OpenRouter named the generation) from OpenRouter's records. A call that ended upstream is
    asked for again within what is left of the run's bounded wait; a call this server cut off is recorded
    only once OpenRouter notices, so it is asked once, and the run does not wait for it (a time-out or an
    early stop is there to save time). A cost still unknown stays None, counted in `unknown_cost_calls`."""
    pending = [o for o in outcomes if o.cost_usd is None and o.generation_id]
    if not pending:
        return
    ended = [o.generation_id for o in pending if o.generation_id and o.status not in CUT_OFF]
    cut = [o.generation_id for o in pending if o.generation_id and o.status in CUT_OFF]
    started = time.perf_counter()
    gateway = run.app.gateway
    costs, quick = await asyncio.gather(generation_costs(gateway, ended, wait_s=max(0.0, run.cost_wait_s)), generation_costs(gateway, cut, wait_s=0))
    run.cost_wait_s -= time.perf_counter() - started
    costs.update(quick)
    for o in pending:
        o.cost_usd = costs.get(o.generation_id or "")


def billed(outcomes: Sequence[Outcome]) -> tuple[Decimal, Decimal, int]:
    """(everything billed, the part billed for calls that gave no answer, calls of unknown cost)."""
    known = sum((o.cost_usd for o in outcomes if o.cost_usd is not None), Decimal(0))
    wasted = sum((o.cost_usd for o in outcomes if o.cost_usd is not None and o.status != "ok"), Decimal(0))
    return known, wasted, sum(1 for o in outcomes if o.cost_usd is None and o.generation_id)


async def wait_all(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Wait for every task. If the caller is cancelled, cancel each task once and let them unwind before
    re-raising: a cancel scope re-delivers cancellation until its task exits, and passed on to the calls
    each time it would interrupt their connection clean-up (the stream would go on being generated)."""
    try:
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        while not all(task.done() for task in tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(asyncio.wait(tasks))
        raise


def failures_of(outcomes: Sequence[Outcome]) -> list[Failure]:
    return [
        Failure(model=o.planned.model, role=o.planned.role, code=o.failure.code.value, message=o.failure.message) for o in outcomes if o.failure is not None
    ]


def all_failed(outcomes: Sequence[Outcome], what: str) -> ToolFailure:
    failures = failures_of(outcomes)
    codes = {f.code for f in failures}
    code = ErrorCode(codes.pop()) if len(codes) == 1 else ErrorCode.UPSTREAM_ERROR
    listed = "; ".join(f"{f.model}: {f.code} ({f.message[:160]})" for f in failures[:8])
    _, wasted, unknown = billed(outcomes)
    return ToolFailure(
        code,
        f"{what}: every call failed. {listed}" + (f" They were billed ${wasted:f}." if wasted else ""),
        retryable=any(f.code in RETRYABLE for f in failures),
        details={"failures": [f.model_dump() for f in failures], "wasted_usd": float(wasted), "unknown_cost_calls": unknown},
    )


# ---------- planning: request bodies and the worst case ----------


def check_models(field_name: str, value: Any, *, minimum: int = 1, maximum: int = MAX_MODELS, repeats: bool = True) -> list[str]:
    """A list of model ids; `repeats` when an id may be given more than once (to sample it)."""
    if not isinstance(value, list) or not minimum <= len(value) <= maximum:
        raise invalid(
            field_name,
            f"{value!r} is not a list of {minimum} to {maximum} model ids",
            'Use e.g. ["openai/gpt-4o-mini", "google/gemini-2.5-flash"]' + ("; repeat an id to sample it several times" if repeats else ""),
        )
    return [check_model_id(f"{field_name}[{i}]", m) for i, m in enumerate(value)]


def cost_cap(args: dict[str, Any]) -> float | None:
    value = args.get("max_cost_usd")
    return None if value is None else float(value)


@dataclass(slots=True)
class Limits:
    """The per-run knobs every collective tool shares, with the configured defaults filled in."""

    max_tokens: int
    timeout_s: float
    concurrency: int
    temperature: float | None = None

    @classmethod
    def from_args(cls, app: App, args: dict[str, Any]) -> Limits:
        d = app.settings.collective
        max_tokens = d.max_tokens if args.get("max_tokens") is None else whole("max_tokens", args["max_tokens"], 1, 32_000)
        timeout_s = d.timeout_s if args.get("timeout_s") is None else number("timeout_s", args["timeout_s"], 0, 3600, lo_open=True)
        concurrency = d.concurrency if args.get("concurrency") is None else whole("concurrency", args["concurrency"], 1, 32)
        temperature = None if args.get("temperature") is None else number("temperature", args["temperature"], 0, 2)
        return cls(max_tokens, timeout_s, concurrency, temperature)


async def chat_body(
    app: App,
    model: str,
    messages: list[dict[str, Any]],
    limits: Limits,
    *,
    sample: int | None = None,
    response_format: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A validated chat body with the provider defaults. `sample` > 0 marks a repeated sample of one model:
    it gets its own seed and, unless the caller set one, a sampling temperature, so samples differ.
    `response_format` is one of this module's own schemas: it is set as is, without a schema check."""
    info = await app.catalog.require(model)
    args: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": limits.max_tokens}
    params = info.supported_parameters
    if limits.temperature is not None:
        args["temperature"] = limits.temperature
    elif sample is not None and "temperature" in params:
        args["temperature"] = 0.7
    if sample is not None and "seed" in params:
        args["seed"] = sample
    body = build_request(args, app.settings).body
    if response_format is not None:
        body["response_format"] = response_format
        body["provider"] = {**body.get("provider", {}), "require_parameters": True}
    return body


async def start_run(app: App, tool: str, limits: Limits, progress: ProgressFn | None, *, worst_case: Decimal, max_cost_usd: float | None, calls: int) -> Run:
    """A run whose worst case passed `max_cost_usd` and the budgets (BUDGET_EXCEEDED before any call)."""
    await app.ledger.check_run(worst_case, max_cost_usd, subject="This run", advice=RUN_ADVICE)
    return Run(app, tool, limits.concurrency, limits.timeout_s, progress, planned_calls=calls)


def sample_indexes(models: Sequence[str]) -> list[int | None]:
    """For each position, its sample number among repeats of the same model (None when not repeated)."""
    counts: dict[str, int] = {}
    seen: dict[str, int] = {}
    for m in models:
        counts[m] = counts.get(m, 0) + 1
    out: list[int | None] = []
    for m in models:
        index = seen.get(m, 0)
        seen[m] = index + 1
        out.append(index if counts[m] > 1 else None)
    return out
