"""Model benchmarks: runs prompts x runs x models (after warm-up calls, at most `concurrency` at a time)
through `run_chat`, measures each streamed reply (time to first token, latency, output tokens per
second, exact cost), scores quality, summarises per model, and keeps the result with its full
configuration in storage (kv namespaces `bench` and `bench_samples`). Knows nothing of MCP.

The whole run's worst case is estimated before the first call; a run that could cost more than
`max_cost_usd`, or than what is left of a budget, is refused before anything is spent."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ...core.identity import current_user, owns
from ...errors import ErrorCode, ToolFailure, invalid
from ...upstream.types import cost_from_wire
from ..billing import carried_cost, generation_costs
from ..chat import build_request, run_chat
from ..checks import number, whole
from ..collective import JuryPlan, ValidationResult, check_models, jury_requests, plan_jury, validate
from ..pricing import estimate_chat_usd
from .quality import BenchPrompt, ask_text, criteria_of, parse_jsonl, parse_prompt_list, score_reply
from .stats import DEFAULT_WEIGHTS, METRICS, Sample, fixed, pareto_front, rank, summarize
from .suites import SUITES, suite_text

if TYPE_CHECKING:
    from ...app import App
    from ...upstream import ChatResult
    from ..catalog.entries import ModelInfo

TOOL = "benchmark_models"
NAMESPACE = "bench"
SAMPLES_NAMESPACE = "bench_samples"
DEFAULT_SUITE = "reasoning"
DEFAULT_MAX_COST_USD = 1.0
DEFAULT_MAX_TOKENS = 512
MAX_MEASURED_CALLS = 2_000
MAX_PROMPT_FILE_BYTES = 1_000_000
REPLY_EXCERPT_CHARS = 300
BENCH_ID = re.compile(r"^bench-\d{8}T\d{6}-[0-9a-f]{6}$")

ProgressFn = Callable[[int, int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BenchConfig:
    models: tuple[str, ...]
    prompts: tuple[BenchPrompt, ...]
    source: str
    runs: int = 3
    warmup: int = 1
    concurrency: int = 4
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float | None = None
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    judges: tuple[str, ...] | None = None
    max_cost_usd: float = DEFAULT_MAX_COST_USD

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "source": self.source,
            "prompts": [p.to_dict() for p in self.prompts],
            "runs": self.runs,
            "warmup": self.warmup,
            "concurrency": self.concurrency,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "weights": self.weights,
            "judges": None if self.judges is None else list(self.judges),
            "max_cost_usd": self.max_cost_usd,
        }


# ---------- validation ----------


def _model_list(field_name: str, value: Any, lo: int, hi: int) -> tuple[str, ...]:
    ids = tuple(check_models(field_name, value, minimum=lo, maximum=hi, repeats=False))
    if len(set(ids)) != len(ids):
        dup = next(m for m in ids if ids.count(m) > 1)
        raise invalid(field_name, f"{dup} is listed twice", "List each model once")
    return ids


def check_weights(value: Any) -> dict[str, float]:
    if value is None:
        return dict(DEFAULT_WEIGHTS)
    if not isinstance(value, dict) or not value or set(value) - set(METRICS):
        raise invalid("weights", f"{value!r} is not a set of weights", 'Use e.g. {"speed": 1, "cost": 2, "quality": 3} (speed, cost, quality)')
    out = {key: number(f"weights.{key}", value.get(key, 0), 0, 100) for key in METRICS}
    if not any(out.values()):
        raise invalid("weights", "are all 0", "Give at least one of speed, cost, quality a weight above 0")
    return out


def inside(folder: Path, raw: str, field_name: str) -> Path:
    """`raw` as a path inside `folder` (relative paths are taken from it); UNSAFE_PATH otherwise,
    symlinks included."""
    if not isinstance(raw, str) or not raw.strip() or "\x00" in raw:
        raise invalid(field_name, f"{raw!r} is not a path", "Give a file name, e.g. reports/run.html")
    root = folder.resolve()
    candidate = Path(raw.strip()).expanduser()
    path = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if path == root or not path.is_relative_to(root):
        raise ToolFailure(
            ErrorCode.UNSAFE_PATH,
            f"{field_name}: {raw!r} is outside the folder this server may use ({root}). Give a path inside it, e.g. a bare file name.",
            details={"field": field_name, "folder": str(root)},
        )
    return path


def resolve_prompts(value: Any, settings: Settings, *, sandbox: bool = True) -> tuple[list[BenchPrompt], str]:
    """The prompts a run uses and where they came from: a list, a built-in suite, or a JSONL file (inside
    OPENROUTER_INPUT_DIR unless `sandbox` is off, as for the CLI's own --prompts file)."""
    if value is None:
        value = DEFAULT_SUITE
    if isinstance(value, list):
        return parse_prompt_list(value), "list"
    if not isinstance(value, str) or not value.strip():
        raise invalid("prompts", f"{value!r} is not prompts", f"Give a list of prompts, a suite ({', '.join(SUITES)}) or a JSONL file name")
    name = value.strip()
    if name in SUITES:
        return parse_jsonl(suite_text(name), f"suite {name}"), f"suite:{name}"
    path = inside(settings.input_dir, name, "prompts") if sandbox else Path(name).expanduser().resolve()
    if not path.is_file():
        where = f"in {settings.input_dir}" if sandbox else "there"
        raise invalid(
            "prompts",
            f"{name!r} is neither a suite nor a file {where}",
            f'Use a suite ({", ".join(SUITES)}) or a JSONL file with one {{"prompt": ...}} per line',
        )
    if sandbox:
        from ..media.inputs import open_inside

        opened = open_inside(path, (settings.input_dir.resolve(),), "prompts")
    else:
        opened = path.open("rb")
    with opened as f:
        data = f.read(MAX_PROMPT_FILE_BYTES + 1)  # never more, whatever the file grew to
    if len(data) > MAX_PROMPT_FILE_BYTES:
        raise ToolFailure(
            ErrorCode.TOO_LARGE,
            f"prompts: {name} has more than {MAX_PROMPT_FILE_BYTES} bytes, the most a prompt file may have. Split it.",
            details={"field": "prompts"},
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("prompts", f"{name} is not UTF-8 text", "Save the file as UTF-8 JSONL") from None
    return parse_jsonl(text, path.name), f"file:{path.name}"


def build_config(args: dict[str, Any], settings: Settings, *, sandbox: bool = True) -> BenchConfig:
    """Validate a benchmark's arguments (INVALID_INPUT names the field; UNSAFE_PATH for a prompt file
    outside the input folder)."""
    models = _model_list("models", args.get("models"), 2, 10)
    prompts, source = resolve_prompts(args.get("prompts"), settings, sandbox=sandbox)
    runs = whole("runs", args["runs"], 1, 20) if args.get("runs") is not None else 3
    warmup = whole("warmup", args["warmup"], 0, 5) if args.get("warmup") is not None else 1
    concurrency = whole("concurrency", args["concurrency"], 1, 16) if args.get("concurrency") is not None else 4
    max_tokens = whole("max_tokens", args["max_tokens"], 16, 32_768) if args.get("max_tokens") is not None else DEFAULT_MAX_TOKENS
    measured = len(models) * len(prompts) * runs
    if measured > MAX_MEASURED_CALLS:
        raise invalid("runs", f"models x prompts x runs is {measured} calls", f"Keep it at most {MAX_MEASURED_CALLS}: fewer runs, prompts or models")
    temperature = number("temperature", args["temperature"], 0, 2) if args.get("temperature") is not None else None
    judges = _model_list("judges", args["judges"], 1, 5) if args.get("judges") is not None else None
    cap = args.get("max_cost_usd")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float) or cap <= 0):
        raise invalid("max_cost_usd", f"{cap!r} is not an amount", "Use a number of USD above 0, e.g. 0.5")
    return BenchConfig(
        models=models,
        prompts=tuple(prompts),
        source=source,
        runs=runs,
        warmup=warmup,
        concurrency=concurrency,
        max_tokens=max_tokens,
        temperature=temperature,
        weights=check_weights(args.get("weights")),
        judges=judges,
        max_cost_usd=DEFAULT_MAX_COST_USD if cap is None else float(cap),
    )


# ---------- the plan ----------


@dataclass(slots=True)
class Plan:
    cfg: BenchConfig
    warmups: list[tuple[str, BenchPrompt, dict[str, Any]]]
    measured: list[tuple[str, BenchPrompt, int, dict[str, Any]]]
    judge_calls: int
    estimate_usd: Decimal


def jury_plan(app: App, cfg: BenchConfig, candidate: str, prompt: BenchPrompt, answer: str) -> JuryPlan:
    """The collective jury that grades one answer against the prompt's criteria: the named judges (never
    the candidate itself when anyone else can), or the configured jury outside the candidate's family."""
    args: dict[str, Any] = {"content": answer, "criteria": criteria_of(prompt.judge_criteria or ""), "context": prompt.prompt, "author_model": candidate}
    if cfg.judges is not None:
        args["models"] = [j for j in cfg.judges if j != candidate] or list(cfg.judges)
    return plan_jury(app, args)


def strict_ready(schema: Any) -> bool:
    """Whether providers accept the schema in strict mode: every object lists all its properties as
    required and allows no others (strict with any other schema is refused upstream)."""
    if isinstance(schema, list):
        return all(strict_ready(x) for x in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False or set(schema.get("required") or []) != set(props):
            return False
    nested = [*(schema.get("properties") or {}).values(), *(schema.get("$defs") or {}).values(), schema.get("items"), schema.get("anyOf")]
    return all(strict_ready(v) for v in nested if v is not None)


def ask_body(settings: Settings, info: ModelInfo, prompt: BenchPrompt, cfg: BenchConfig) -> dict[str, Any]:
    """The request for one benchmark prompt: the model's supported parameters only, JSON output when the
    prompt has a schema."""
    args: dict[str, Any] = {"model": info.id, "messages": [{"role": "user", "content": ask_text(prompt)}], "max_tokens": cfg.max_tokens}
    params = info.supported_parameters
    if cfg.temperature is not None and "temperature" in params:
        args["temperature"] = cfg.temperature
    if (schema := prompt.schema) is not None:
        if "structured_outputs" in params:
            args["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "strict": strict_ready(schema), "schema": schema}}
        elif "response_format" in params:
            args["response_format"] = {"type": "json_object"}
    return build_request(args, settings).body


async def make_plan(app: App, cfg: BenchConfig) -> Plan:
    """Every call the run may make and its worst-case cost; unknown model ids fail here, before any spend."""
    infos: dict[str, ModelInfo] = {}
    for model_id in cfg.models:
        infos[model_id] = await app.catalog.require(model_id)
    for model_id in cfg.judges or ():
        await app.catalog.require(model_id)
    settings = app.settings
    bodies = {(m, p.id): ask_body(settings, infos[m], p, cfg) for m in cfg.models for p in cfg.prompts}
    warm_prompts = [cfg.prompts[i % len(cfg.prompts)] for i in range(cfg.warmup)]
    warmups = [(m, p, bodies[(m, p.id)]) for m in cfg.models for p in warm_prompts]
    # Interleaved (run, prompt, model) so every model meets the same upstream conditions over the run.
    measured = [(m, p, run, bodies[(m, p.id)]) for run in range(1, cfg.runs + 1) for p in cfg.prompts for m in cfg.models]
    estimate = Decimal(0)
    per_body = {key: await estimate_chat_usd(app, body) for key, body in bodies.items()}
    for m, p in [(m, p) for m, p, _ in warmups] + [(m, p) for m, p, _, _ in measured]:
        estimate += per_body[(m, p.id)]
    # A juror reads the task and an answer as long as max_tokens allows (about 3 characters a token).
    placeholder = "x" * (3 * cfg.max_tokens)
    judge_calls = 0
    # A jury's worst case depends only on its judges and the prompt (the candidate only picks the judges).
    jury_cost: dict[tuple[tuple[str, ...], str], Decimal] = {}
    for m in cfg.models:
        for p in cfg.prompts:
            if p.judge_criteria:
                jury = jury_plan(app, cfg, m, p, placeholder)
                judge_calls += cfg.runs * len(jury.judges)
                key = (tuple(jury.judges), p.id)
                if key not in jury_cost:
                    jury_cost[key] = (await jury_requests(app, jury))[1]
                estimate += cfg.runs * jury_cost[key]
    return Plan(cfg=cfg, warmups=warmups, measured=measured, judge_calls=judge_calls, estimate_usd=estimate)


async def check_budgets(app: App, plan: Plan) -> None:
    """BUDGET_EXCEEDED before any call when the worst case passes the run's cap or what is left of the
    daily or monthly budget."""
    calls = len(plan.warmups) + len(plan.measured) + plan.judge_calls
    await app.ledger.check_run(
        plan.estimate_usd, plan.cfg.max_cost_usd, subject=f"This benchmark's {calls} calls", advice="use fewer runs, prompts or models, or a lower max_tokens"
    )


# ---------- the run ----------


def sample_from(model: str, prompt: BenchPrompt, run: int, outcome: ChatResult | ToolFailure) -> Sample:
    if isinstance(outcome, ToolFailure):
        return Sample(
            model=model,
            prompt_id=prompt.id,
            run=run,
            ok=False,
            error_code=outcome.code.value,
            error=outcome.message[:300],
            cost_usd=carried_cost(outcome),
            generation_id=outcome.generation_id,
        )
    r = outcome
    tokens_per_s = None
    if r.ttft_ms is not None and r.completion_tokens and r.latency_ms - r.ttft_ms >= 1.0:
        tokens_per_s = r.completion_tokens / ((r.latency_ms - r.ttft_ms) / 1000)
    return Sample(
        model=model,
        prompt_id=prompt.id,
        run=run,
        ok=True,
        ttft_ms=r.ttft_ms,
        latency_ms=r.latency_ms,
        tokens_per_s=tokens_per_s,
        prompt_tokens=r.prompt_tokens,
        completion_tokens=r.completion_tokens,
        cost_usd=r.cost_usd,
        generation_id=r.generation_id,
        provider=r.provider,
        reply_excerpt=r.content[:REPLY_EXCERPT_CHARS],
        checks=score_reply(prompt, r.content),
    )


def _grade(score: float) -> float:
    """A jury score (1 to 10) as 0..1."""
    return (min(10.0, max(1.0, score)) - 1) / 9


def new_id() -> str:
    return f"bench-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


async def prepare(app: App, cfg: BenchConfig) -> Plan:
    """The run's plan, once its models are known and its worst case fits the caps (else it raises, and
    nothing was spent)."""
    plan = await make_plan(app, cfg)
    await check_budgets(app, plan)
    return plan


async def run_benchmark(app: App, plan: Plan, *, on_progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run a prepared plan: warm up, measure, let the jury grade, summarise and store; returns the record."""
    cfg = plan.cfg
    started = time.monotonic()
    created_at = datetime.now(UTC)
    gate = asyncio.Semaphore(cfg.concurrency)
    total = len(plan.warmups) + len(plan.measured) + plan.judge_calls
    done = 0
    judge_cost = judge_wasted = Decimal(0)
    judge_unknown = 0
    warmup_cost: dict[str, Decimal] = dict.fromkeys(cfg.models, Decimal(0))
    replies: dict[tuple[str, str, int], str] = {}

    async def call(body: dict[str, Any], label: str) -> ChatResult | ToolFailure:
        nonlocal done
        async with gate:
            named: list[str] = []
            try:
                outcome: ChatResult | ToolFailure = await run_chat(app, body, tool=TOOL, on_start=named.append)
            except ToolFailure as failure:
                # Failed after OpenRouter named the generation: it may be billed (looked up below).
                failure.generation_id = failure.generation_id or next(iter(named), None)
                outcome = failure
        done += 1
        if on_progress is not None:
            await on_progress(done, total, label)
        return outcome

    warm = await asyncio.gather(*(call(body, f"warm-up {m}") for m, _, body in plan.warmups))

    async def measure(m: str, p: BenchPrompt, run: int, body: dict[str, Any]) -> Sample:
        outcome = await call(body, f"{m} · {p.id} · run {run}")
        if not isinstance(outcome, ToolFailure):
            replies[(m, p.id, run)] = outcome.content
        return sample_from(m, p, run, outcome)

    samples = list(await asyncio.gather(*(measure(*item) for item in plan.measured)))
    by_prompt = {p.id: p for p in cfg.prompts}
    # (model, answered, generation, cost) of each warm-up call: a failed one may have been billed too.
    warm_bills = [
        (m, False, o.generation_id, carried_cost(o)) if isinstance(o, ToolFailure) else (m, True, o.generation_id, o.cost_usd)
        for (m, _, _), o in zip(plan.warmups, warm, strict=True)
    ]
    # The costs no reply carried, from OpenRouter's records (a bounded wait), while the jury sits.
    unpriced = [g for _, _, g, c in warm_bills if c is None and g] + [s.generation_id for s in samples if s.cost_usd is None and s.generation_id]
    lookup = asyncio.ensure_future(generation_costs(app.gateway, unpriced))

    judge_errors = 0
    juries = [
        (s, jury_plan(app, cfg, s.model, by_prompt[s.prompt_id], replies[(s.model, s.prompt_id, s.run)]))
        for s in samples
        if s.ok and by_prompt[s.prompt_id].judge_criteria
    ]
    # Juries that will not sit (their candidate failed) come off the progress total.
    total -= plan.judge_calls - sum(len(jury.judges) for _, jury in juries)

    async def grade(s: Sample, jury: JuryPlan) -> None:
        nonlocal done, judge_errors, judge_cost, judge_wasted, judge_unknown
        async with gate:
            try:
                verdict: ValidationResult | None = await validate(app, jury, tool=TOOL)
            except ToolFailure as failure:
                verdict = None
                spent = failure.details or {}  # every judge failed: what they were billed bought nothing
                lost = cost_from_wire(spent.get("wasted_usd")) or Decimal(0)
                judge_cost, judge_wasted = judge_cost + lost, judge_wasted + lost
                judge_unknown += int(spent.get("unknown_cost_calls") or 0)
        done += len(jury.judges)
        if on_progress is not None:
            await on_progress(done, total, f"jury on {s.model} · {s.prompt_id} · run {s.run}")
        if verdict is None:
            judge_errors += len(jury.judges)
            return
        # The float carries the exact sum: a few cents at 9 decimal places are well within its 15 digits.
        judge_cost += cost_from_wire(verdict.cost_usd) or Decimal(0)
        judge_wasted += cost_from_wire(verdict.wasted_usd) or Decimal(0)
        judge_unknown += verdict.unknown_cost_calls
        judge_errors += len(verdict.failures)
        by_judge: dict[str, list[float]] = {}
        for criterion in verdict.scores:
            for judge, score in criterion.by_judge.items():
                by_judge.setdefault(judge, []).append(score)
        s.judge_scores = [round(_grade(sum(v) / len(v)), 4) for v in by_judge.values()]
        if verdict.overall_score is not None:
            s.checks["judge"] = _grade(verdict.overall_score)

    try:
        await asyncio.gather(*(grade(s, jury) for s, jury in juries))
        costs = await lookup
    finally:
        lookup.cancel()
    wasted, unknown = judge_wasted, judge_unknown
    for m, answered, gen, cost in warm_bills:
        cost = cost if cost is not None else costs.get(gen or "")
        unknown += cost is None and gen is not None
        warmup_cost[m] += cost or Decimal(0)
        wasted += Decimal(0) if answered else cost or Decimal(0)
    for s in samples:
        if s.cost_usd is None and s.generation_id:
            s.cost_usd = costs.get(s.generation_id)
            unknown += s.cost_usd is None
        wasted += Decimal(0) if s.ok else s.cost_usd or Decimal(0)

    scored = any(p.checks for p in cfg.prompts)
    summaries = [summarize(m, [s for s in samples if s.model == m], scored=scored, extra_cost_usd=warmup_cost[m]) for m in cfg.models]
    ranked = rank(summaries, cfg.weights)
    models_cost = sum((Decimal(s["cost_usd"]) for s in ranked), Decimal(0))
    record: dict[str, Any] = {
        "id": new_id(),
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "duration_s": round(time.monotonic() - started, 3),
        "config": cfg.to_dict(),
        "estimate_usd": fixed(plan.estimate_usd),
        "cost_usd": fixed(models_cost + judge_cost),
        "wasted_usd": fixed(wasted),
        "unknown_cost_calls": unknown,
        "judge_cost_usd": fixed(judge_cost),
        "judge_errors": judge_errors,
        "calls": done,
        "usage": {
            "prompt_tokens": sum(s["prompt_tokens"] for s in ranked),
            "completion_tokens": sum(s["completion_tokens"] for s in ranked),
        },
        "models": ranked,
        "ranking": [s["model"] for s in ranked],
        "pareto_front": pareto_front(ranked),
    }
    record["user"] = current_user().name  # the run is its maker's: nobody else lists, reads or exports it
    storage = await app.storage()
    await storage.kv_put(SAMPLES_NAMESPACE, record["id"], {"samples": [s.to_dict() for s in samples]})
    await storage.kv_put(NAMESPACE, record["id"], record)
    return record


# ---------- history ----------


async def load(app: App, benchmark_id: Any) -> tuple[dict[str, Any], list[Sample]]:
    """A stored benchmark and its samples; INVALID_INPUT for an id that names none."""
    if not isinstance(benchmark_id, str) or not BENCH_ID.match(benchmark_id.strip()):
        raise invalid(
            "benchmark_id",
            f"{benchmark_id!r} is not a benchmark id",
            "Use an id from benchmark_models or get_benchmark_history, e.g. bench-20250101T120000-1a2b3c",
        )
    storage = await app.storage()
    record = await storage.kv_get(NAMESPACE, benchmark_id.strip())
    if record is not None and not owns(record):
        record = None  # another user's run answers exactly as one that does not exist
    if record is None:
        raise invalid("benchmark_id", f"no benchmark {benchmark_id!r} is stored", "List the stored runs with get_benchmark_history")
    stored = await storage.kv_get(SAMPLES_NAMESPACE, benchmark_id.strip()) or {}
    return record, [Sample.from_dict(d) for d in stored.get("samples") or []]


def _day(field_name: str, value: Any) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise invalid(field_name, f"{value!r} is not a date", "Use YYYY-MM-DD, e.g. 2025-01-31") from None


async def history(
    app: App, *, model: str | None = None, suite: str | None = None, since: str | None = None, limit: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """Stored runs, newest first, filtered by a model they included, their prompt source (a suite name,
    `list`, or a file name) and their start date; returns (page, number that matched)."""
    start = _day("since", since) if since is not None else None
    storage = await app.storage()
    matched = []
    for _, record in reversed(await storage.kv_list(NAMESPACE)):
        if not owns(record):
            continue
        cfg = record.get("config") or {}
        if model is not None and model not in cfg.get("models", []):
            continue
        if suite is not None and suite not in (cfg.get("source"), cfg.get("source", "").split(":", 1)[-1]):
            continue
        if start is not None and date.fromisoformat(record["created_at"][:10]) < start:
            continue
        matched.append(record)
    return matched[:limit], len(matched)
