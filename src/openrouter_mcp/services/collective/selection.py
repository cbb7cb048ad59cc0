"""Adaptive model selection: rank the catalog's models for a task from real data. Capabilities and prices
come from the catalog; latency and success rate from the ledger (this server's own calls, last 30 days);
quality from collective-vote history and stored benchmarks. Every score is explained, and the confidence
grows with the evidence behind it. Makes no paid call. Knows nothing of MCP."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...errors import invalid
from ...shapes import Shape
from ..checks import flag, names, number, whole
from ..tokens import estimate_text_tokens
from .history import bench_evidence, combine, load_history

if TYPE_CHECKING:
    from ...app import App
    from ..catalog.entries import ModelInfo

EVIDENCE_DAYS = 30
PRIORITIES: dict[str, dict[str, float]] = {
    "balanced": {"quality": 0.45, "reliability": 0.2, "cost": 0.2, "speed": 0.15},
    "quality": {"quality": 0.7, "reliability": 0.15, "cost": 0.1, "speed": 0.05},
    "cost": {"quality": 0.25, "reliability": 0.15, "cost": 0.5, "speed": 0.1},
    "speed": {"quality": 0.25, "reliability": 0.15, "cost": 0.1, "speed": 0.5},
}
REQUIREMENTS = ("tools", "json", "reasoning", "web_search", "vision", "audio", "files")
CONSTRAINT_KEYS = (
    "priority", "count", "candidates", "exclude", "only", "require", "input_modalities", "min_context",
    "max_price_per_mtok", "max_cost_per_call_usd", "max_latency_ms", "expected_output_tokens", "free_only",
)  # fmt: skip

# What a task asks for, recognised from its words: (pattern, what the model's description should mention).
_TASK_SKILLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "code": (
        r"\b(code|coding|program|function|bug|debug|refactor|python|javascript|typescript|rust|golang|sql|regex|compile)\w*",
        ("coding", "code", "software"),
    ),
    "math": (r"\b(math|equation|calculat|proof|prove|integral|algebra|arithmetic|statistic|probabilit)\w*|\d\s*[-+*/^×]\s*\d", ("math",)),
    "reasoning": (r"\b(reason|logic|puzzle|plan|step by step|analy[sz]e|complex|difficult)\w*", ("reasoning", "complex")),
    "creative": (r"\b(story|poem|creative|fiction|novel|slogan|marketing)\w*", ("creative", "writing")),
    "multilingual": (r"\b(translat|multilingual|french|german|spanish|chinese|japanese|korean|arabic)\w*", ("multilingual", "languages")),
    "agent": (r"\b(agent|agentic|tool use|multi-step)\w*", ("agent",)),
    "long": (r"\b(long document|book|entire codebase|whole repository|long context|hundreds of pages)\b", ("long",)),
    "fast": (r"\b(real[- ]time|low[- ]latency|fast|quick|chatbot|autocomplete)\b", ("low-latency", "fast")),
}
_TASK_NEEDS: dict[str, str] = {
    "vision": r"\b(image|photo|picture|screenshot|diagram|chart|ocr)s?\b",
    "audio": r"\b(audio|speech|transcri\w*|podcast|voice recording)\b",
    "files": r"\b(pdfs?|scanned|documents? files?)\b",
    "json": r"\b(json|structured output|schema)\b",
    "tools": r"\b(tool call\w*|function call\w*)\b",
}


class Evidence(Shape):
    calls: int = Field(description="This server's calls to the model in the last 30 days (ledger) plus benchmark calls.")
    success_rate: float | None
    latency_p50_ms: float | None
    latency_samples: int
    quality: float = Field(description="Estimated quality 0..1 (catalog prior updated by measured answers).")
    quality_samples: float
    quality_sources: list[str]
    prompt_usd_per_mtok: float | None
    completion_usd_per_mtok: float | None
    est_cost_per_call_usd: float | None
    context_length: int | None


class Recommendation(Shape):
    model: str
    name: str
    score: float
    confidence: float
    components: dict[str, float]
    reasons: list[str]
    evidence: Evidence


class TaskProfile(Shape):
    skills: list[str]
    needs: list[str]
    priority: str
    est_prompt_tokens: int
    expected_output_tokens: int


class SelectionResult(Shape):
    task_profile: TaskProfile
    recommendations: list[Recommendation]
    confidence: float = Field(description="Confidence in the top pick: grows with its measured evidence and its lead over the next model.")
    explanation: str
    considered: int
    excluded: dict[str, int]
    evidence_window_days: int = EVIDENCE_DAYS
    cost_usd: float = Field(default=0.0, description="This tool makes no paid call.")


@dataclass(slots=True)
class Constraints:
    priority: str = "balanced"
    count: int = 3
    candidates: list[str] | None = None
    exclude: list[str] | None = None
    only: list[str] | None = None
    require: list[str] | None = None
    input_modalities: list[str] | None = None
    min_context: int | None = None
    max_price_per_mtok: float | None = None
    max_cost_per_call_usd: float | None = None
    max_latency_ms: float | None = None
    expected_output_tokens: int = 500
    free_only: bool = False


def check_constraints(value: Any) -> Constraints:
    if value is None:
        return Constraints()
    if not isinstance(value, dict):
        raise invalid("constraints", f"{value!r} is not an object", 'Use e.g. {"priority": "cost", "require": ["json"], "max_latency_ms": 2000}')
    out = Constraints()
    for key, v in value.items():
        field_name = f"constraints.{key}"
        if key not in CONSTRAINT_KEYS:
            raise invalid(field_name, "is not a constraint", f"Use {', '.join(CONSTRAINT_KEYS)}")
        if v is None:
            continue
        if key == "priority":
            if v not in PRIORITIES:
                raise invalid(field_name, f"{v!r} is not a priority", f"Use one of {', '.join(PRIORITIES)}")
            out.priority = v
        elif key == "count":
            out.count = whole(field_name, v, 1, 10)
        elif key in ("candidates", "exclude", "only", "input_modalities"):
            setattr(out, key, names(field_name, v, allow_empty=False))
        elif key == "require":
            items = names(field_name, v, allow_empty=False)
            if bad := [x for x in items if x not in REQUIREMENTS]:
                raise invalid(field_name, f"{bad[0]!r} is not a requirement", f"Use any of {', '.join(REQUIREMENTS)}")
            out.require = items
        elif key == "min_context":
            out.min_context = int(number(field_name, v, 1, 100_000_000))
        elif key == "expected_output_tokens":
            out.expected_output_tokens = int(number(field_name, v, 1, 2_000_000))
        elif key == "free_only":
            out.free_only = flag(field_name, v)
        else:
            setattr(out, key, number(field_name, v, 0, 1e9))
    return out


def profile_task(task: str, constraints: Constraints) -> TaskProfile:
    skills = [name for name, (pattern, _) in _TASK_SKILLS.items() if re.search(pattern, task, re.I)]
    needs = [name for name, pattern in _TASK_NEEDS.items() if re.search(pattern, task, re.I)]
    for need in constraints.require or []:
        if need not in needs:
            needs.append(need)
    return TaskProfile(
        skills=skills,
        needs=needs,
        priority=constraints.priority,
        est_prompt_tokens=estimate_text_tokens(task) + 8,
        expected_output_tokens=constraints.expected_output_tokens,
    )


def _meets(info: ModelInfo, need: str) -> bool:
    params = info.supported_parameters
    return {
        "tools": "tools" in params,
        "json": bool({"response_format", "structured_outputs"} & params),
        "reasoning": "reasoning" in params,
        "web_search": "web_search_options" in params or info.web_search_price is not None,
        "vision": "image" in info.input_modalities,
        "audio": "audio" in info.input_modalities,
        "files": "file" in info.input_modalities,
    }[need]


def _matches(model_id: str, names: list[str]) -> bool:
    return any(model_id == n or model_id.split("/", 1)[0] == n.rstrip("/") for n in names)


@dataclass(slots=True)
class _Measured:
    calls: int = 0
    ok: int = 0
    latencies: list[float] = field(default_factory=list)


async def _ledger_stats(app: App) -> dict[str, _Measured]:
    await app.ledger.flush()
    storage = await app.storage()
    end = datetime.now(UTC)
    rows = await storage.ledger(start=end - timedelta(days=EVIDENCE_DAYS), end=end + timedelta(seconds=1))
    out: dict[str, _Measured] = {}
    for row in rows:
        if row.status not in ("ok", "error"):
            continue  # cancelled or never sent: says nothing about the model
        m = out.setdefault(row.model_requested, _Measured())
        m.calls += 1
        if row.status == "ok":
            m.ok += 1
            if row.latency_ms is not None:
                m.latencies.append(row.latency_ms)
    return out


def _log_scores(values: dict[str, float], *, lower_is_better: bool = True) -> dict[str, float]:
    """0..1 on a log scale between the best and the worst value (1 = best)."""
    if not values:
        return {}
    logs = {k: math.log(max(v, 1e-12)) for k, v in values.items()}
    lo, hi = min(logs.values()), max(logs.values())
    if hi - lo < 1e-9:
        return {k: 1.0 for k in values}
    return {k: ((hi - v) if lower_is_better else (v - lo)) / (hi - lo) for k, v in logs.items()}


async def select_models(app: App, task: str, constraints: Constraints) -> SelectionResult:
    if not isinstance(task, str) or not task.strip():
        raise invalid("task", "is empty", "Describe the task the model is for, e.g. 'extract invoice fields from PDFs as JSON'")
    profile = profile_task(task, constraints)
    catalog = await app.catalog.models()
    if constraints.candidates:
        for model_id in constraints.candidates:
            await app.catalog.require(model_id)
        wanted = set(constraints.candidates)
        catalog = tuple(m for m in catalog if m.id in wanted)
    excluded: dict[str, int] = {}

    def drop(reason: str) -> None:
        excluded[reason] = excluded.get(reason, 0) + 1

    ledger = await _ledger_stats(app)
    bench = await bench_evidence(app)
    history = await load_history(app)
    expected = profile.expected_output_tokens
    viable: list[tuple[ModelInfo, Decimal, float | None]] = []  # with the median latency
    for info in catalog:
        if "text" not in info.output_modalities:
            drop("does not write text")
        elif info.is_router:
            drop("router with no fixed price")
        elif info.id.endswith(":free") != constraints.free_only and not (constraints.candidates and info.id in constraints.candidates):
            drop("free variant" if not constraints.free_only else "not free")
        elif constraints.exclude and _matches(info.id, constraints.exclude):
            drop("excluded")
        elif constraints.only and not _matches(info.id, constraints.only):
            drop("not in only")
        elif missing := [n for n in profile.needs if not _meets(info, n)]:
            drop(f"lacks {missing[0]}")
        elif constraints.input_modalities and not set(constraints.input_modalities) <= set(info.input_modalities):
            drop("lacks an input modality")
        elif constraints.min_context and (info.context_length or 0) < constraints.min_context:
            drop("context too short")
        elif constraints.max_price_per_mtok is not None and max(info.prompt_price or 0, info.completion_price or 0) * 1_000_000 > Decimal(
            repr(constraints.max_price_per_mtok)
        ):
            drop("over max_price_per_mtok")
        else:
            cost = profile.est_prompt_tokens * (info.prompt_price or 0) + expected * (info.completion_price or 0) + (info.request_price or 0)
            if constraints.max_cost_per_call_usd is not None and cost > Decimal(repr(constraints.max_cost_per_call_usd)):
                drop("over max_cost_per_call_usd")
                continue
            p50 = _p50(ledger.get(info.id), bench.get(info.id) or {})
            if constraints.max_latency_ms is not None and p50 is not None and p50 > constraints.max_latency_ms:
                drop("measured latency over max_latency_ms")
                continue
            viable.append((info, Decimal(cost), p50))
    if not viable:
        why = ", ".join(f"{k}: {v}" for k, v in sorted(excluded.items(), key=lambda kv: -kv[1]))
        raise invalid("constraints", f"no model meets them (excluded: {why})", "Loosen the constraints or name candidates")

    cost_scores = _log_scores({i.id: float(c) or 1e-9 for i, c, _ in viable})
    speed_scores = _log_scores({i.id: p for i, _, p in viable if p is not None})
    weights = PRIORITIES[constraints.priority]
    newest = max(i.created for i, _, _ in viable)
    rows: list[tuple[float, ModelInfo, Decimal, dict[str, float], Evidence, list[str]]] = []
    for info, cost, p50 in viable:
        prior, prior_reasons = _prior_quality(info, profile, newest)
        b = bench.get(info.id) or {}
        measured_quality = history.accuracy(info.id)
        votes = measured_quality[1] if measured_quality else 0.0
        quality, q_n, sources = combine(prior, measured_quality, b)
        measured = ledger.get(info.id) or _Measured()
        calls = measured.calls + int(b.get("calls", 0))
        ok = measured.ok + int(b.get("ok", 0))
        reliability = (ok + 0.95 * 10) / (calls + 10)
        components = {
            "quality": round(quality, 4),
            "reliability": round(reliability, 4),
            "cost": round(cost_scores[info.id], 4),
            "speed": round(speed_scores.get(info.id, 0.5), 4),
        }
        score = sum(weights[k] * v for k, v in components.items())
        evidence = Evidence(
            calls=calls,
            success_rate=round(ok / calls, 4) if calls else None,
            latency_p50_ms=None if p50 is None else round(p50, 1),
            latency_samples=len(measured.latencies) + int(b.get("latency_n", 0)),
            quality=round(quality, 4),
            quality_samples=q_n,
            quality_sources=list(sources) or ["catalog prior"],
            prompt_usd_per_mtok=None if info.prompt_price is None else float(info.prompt_price * 1_000_000),
            completion_usd_per_mtok=None if info.completion_price is None else float(info.completion_price * 1_000_000),
            est_cost_per_call_usd=float(cost),
            context_length=info.context_length,
        )
        reasons = [*prior_reasons, *_evidence_reasons(evidence, votes, b)]
        rows.append((score, info, cost, components, evidence, reasons))
    rows.sort(key=lambda r: (-r[0], float(r[2]), r[1].id))
    picks: list[Recommendation] = []
    for rank, (score, info, _cost, components, evidence, reasons) in enumerate(rows[: constraints.count]):
        # Separation from the nearer neighbour in the ranking (a lone model is fully separated).
        gaps = [abs(score - rows[i][0]) for i in (rank - 1, rank + 1) if 0 <= i < len(rows)]
        lead = min(gaps) if gaps else 0.1
        picks.append(
            Recommendation(
                model=info.id,
                name=info.name,
                score=round(score, 4),
                confidence=_confidence(evidence, lead),
                components=components,
                reasons=reasons,
                evidence=evidence,
            )
        )
    top = picks[0]
    explanation = (
        f"Ranked {len(viable)} models for a {'/'.join(profile.skills) or 'general'} task"
        + (f" needing {', '.join(profile.needs)}" if profile.needs else "")
        + f" by {constraints.priority} weights ({', '.join(f'{k} {v:g}' for k, v in weights.items())}). "
        + f"{top.model} leads with {top.score:.3f}"
        + (f", {top.score - picks[1].score:.3f} ahead of {picks[1].model}" if len(picks) > 1 else "")
        + f"; its quality rests on {top.evidence.quality_samples:g} measured answers and its reliability on {top.evidence.calls} calls."
    )
    return SelectionResult(
        task_profile=profile,
        recommendations=picks,
        confidence=top.confidence,
        explanation=explanation,
        considered=len(viable),
        excluded=dict(sorted(excluded.items(), key=lambda kv: -kv[1])),
    )


def _p50(measured: _Measured | None, bench: dict[str, float]) -> float | None:
    """Median latency: the ledger's own calls, else the benchmarks' median."""
    if measured is not None and measured.latencies:
        return float(statistics.median(measured.latencies))
    if bench.get("latency_n"):
        return bench["latency_sum"] / bench["latency_n"]
    return None


def _prior_quality(info: ModelInfo, profile: TaskProfile, newest: int) -> tuple[float, list[str]]:
    """What the catalog says before any measurement: the skills its description claims for this task,
    reasoning support for hard tasks, and how recent it is."""
    description = info.description.lower()
    prior = 0.5
    reasons: list[str] = []
    matched = [skill for skill in profile.skills if any(word in description for word in _TASK_SKILLS[skill][1])]
    if matched:
        prior += 0.08 * len(matched)
        reasons.append(f"catalog lists strengths in {', '.join(matched)}")
    if {"math", "reasoning", "code"} & set(profile.skills) and "reasoning" in info.supported_parameters:
        prior += 0.05
        reasons.append("supports reasoning")
    age_days = (newest - info.created) / 86400
    if age_days < 365:
        prior += 0.05 * (1 - age_days / 365)
    return min(prior, 0.9), reasons


def _evidence_reasons(e: Evidence, votes: float, bench: dict[str, float]) -> list[str]:
    out = []
    if e.quality_samples:
        parts = []
        if votes:
            parts.append(f"{votes:g} collective votes (agreement-based)")
        if bench.get("quality_n"):
            parts.append(f"{bench['quality_n']:g} graded benchmark answers")
        out.append(f"measured quality {e.quality:.2f} from {' and '.join(parts)}")
    else:
        out.append("no measured quality yet: quality is the catalog prior")
    if e.calls:
        out.append(f"success {e.success_rate:.0%} over {e.calls} calls")
    if e.latency_p50_ms is not None:
        out.append(f"median latency {e.latency_p50_ms:.0f} ms over {e.latency_samples} calls")
    if e.est_cost_per_call_usd is not None:
        out.append(f"about ${e.est_cost_per_call_usd:.6f} per call at catalog prices")
    return out


def _confidence(e: Evidence, lead: float) -> float:
    """0.15 with no evidence and no lead, rising with measured samples (quality answers count fully, calls
    a tenth each) and with the score lead over the next model."""
    samples = e.quality_samples + min(e.calls, 500) / 10
    evidence = samples / (samples + 10)
    margin = max(0.0, min(1.0, lead / 0.1))
    return round(0.15 + 0.55 * evidence + 0.3 * margin, 3)
