"""Benchmark statistics: per-model summaries of the measured samples (median and p90 with their sample
counts), the ranking under the caller's weights, and the cost-quality Pareto front. Pure functions."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

METRICS = ("speed", "cost", "quality")
DEFAULT_WEIGHTS: dict[str, float] = {"speed": 1.0, "cost": 1.0, "quality": 1.0}


@dataclass(slots=True)
class Sample:
    """One measured call: what the stream showed and what it cost."""

    model: str
    prompt_id: str
    run: int
    ok: bool
    error_code: str | None = None
    error: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal | None = None
    generation_id: str | None = None
    provider: str | None = None
    reply_excerpt: str | None = None
    checks: dict[str, float] = field(default_factory=dict)
    judge_scores: list[float] = field(default_factory=list)

    @property
    def quality(self) -> float | None:
        return sum(self.checks.values()) / len(self.checks) if self.checks else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt_id": self.prompt_id,
            "run": self.run,
            "ok": self.ok,
            "error_code": self.error_code,
            "error": self.error,
            "ttft_ms": _round(self.ttft_ms),
            "latency_ms": _round(self.latency_ms),
            "tokens_per_s": _round(self.tokens_per_s),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": None if self.cost_usd is None else fixed(self.cost_usd),
            "generation_id": self.generation_id,
            "provider": self.provider,
            "checks": self.checks,
            "judge_scores": self.judge_scores,
            "quality": self.quality,
            "reply_excerpt": self.reply_excerpt,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        return cls(
            model=d["model"],
            prompt_id=d["prompt_id"],
            run=int(d["run"]),
            ok=bool(d["ok"]),
            error_code=d.get("error_code"),
            error=d.get("error"),
            ttft_ms=d.get("ttft_ms"),
            latency_ms=d.get("latency_ms"),
            tokens_per_s=d.get("tokens_per_s"),
            prompt_tokens=int(d.get("prompt_tokens") or 0),
            completion_tokens=int(d.get("completion_tokens") or 0),
            cost_usd=None if d.get("cost_usd") is None else Decimal(d["cost_usd"]),
            generation_id=d.get("generation_id"),
            provider=d.get("provider"),
            reply_excerpt=d.get("reply_excerpt"),
            checks=dict(d.get("checks") or {}),
            judge_scores=list(d.get("judge_scores") or []),
        )


def fixed(value: Decimal) -> str:
    """A USD amount as plain digits (never 1.2E-7), exact."""
    return format(value, "f")


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def stat(values: list[float]) -> dict[str, Any]:
    """median, p90 and mean with the number of samples behind them (None when there are none)."""
    if not values:
        return {"median": None, "p90": None, "mean": None, "n": 0}
    return {
        "median": round(percentile(values, 50), 3),
        "p90": round(percentile(values, 90), 3),
        "mean": round(sum(values) / len(values), 3),
        "n": len(values),
    }


def summarize(model: str, samples: list[Sample], *, scored: bool, extra_cost_usd: Decimal = Decimal(0)) -> dict[str, Any]:
    """One model's figures over its measured samples. `scored`: some prompt carries a quality check.
    `extra_cost_usd` is what its unmeasured (warm-up) calls cost: part of what the model cost, not of
    its cost per call."""
    ok = [s for s in samples if s.ok]
    errors = Counter(s.error_code or "UNKNOWN" for s in samples if not s.ok)
    known = [s.cost_usd for s in samples if s.cost_usd is not None]
    ok_costs = [s.cost_usd for s in ok if s.cost_usd is not None]
    per_call = sum(ok_costs, Decimal(0)) / len(ok_costs) if ok_costs else None
    qualities = [q for s in ok if (q := s.quality) is not None]
    return {
        "model": model,
        "calls": len(samples),
        "ok": len(ok),
        "success_rate": round(len(ok) / len(samples), 4) if samples else 0.0,
        "errors": dict(sorted(errors.items())),
        "ttft_ms": stat([s.ttft_ms for s in ok if s.ttft_ms is not None]),
        "latency_ms": stat([s.latency_ms for s in ok if s.latency_ms is not None]),
        "tokens_per_s": stat([s.tokens_per_s for s in ok if s.tokens_per_s is not None]),
        "quality": stat(qualities) if scored else None,
        "prompt_tokens": sum(s.prompt_tokens for s in samples),
        "completion_tokens": sum(s.completion_tokens for s in samples),
        "cost_usd": fixed(sum(known, Decimal(0)) + extra_cost_usd),
        "cost_per_call_usd": None if per_call is None else fixed(per_call.quantize(Decimal("1e-12")).normalize()),
    }


def _lower_is_better(values: dict[str, float | None]) -> dict[str, float]:
    """best / value for each model (1 = the best; a model without a value scores 0)."""
    present = [v for v in values.values() if v is not None]
    if not present:
        return {m: 0.0 for m in values}
    best = min(present)
    out = {}
    for m, v in values.items():
        if v is None:
            out[m] = 0.0
        elif v <= 0:
            out[m] = 1.0
        else:
            out[m] = best / v if best > 0 else 0.0
    return out


def rank(summaries: list[dict[str, Any]], weights: dict[str, float]) -> list[dict[str, Any]]:
    """Score each model 0..1 on speed (best median latency / its own), cost (best cost per call / its
    own) and quality (its mean quality), combine the scores with the weights (a metric no model has is
    left out), scale by the success rate, and sort best first. Adds `scores` and `rank` to each summary."""
    models = [s["model"] for s in summaries]
    by_model = {s["model"]: s for s in summaries}
    speed = _lower_is_better({m: by_model[m]["latency_ms"]["median"] for m in models})
    cost = _lower_is_better({m: None if by_model[m]["cost_per_call_usd"] is None else float(by_model[m]["cost_per_call_usd"]) for m in models})
    quality_known = {m: (by_model[m]["quality"] or {}).get("mean") for m in models}
    parts: dict[str, dict[str, float] | None] = {
        "speed": speed,
        "cost": cost,
        "quality": {m: q or 0.0 for m, q in quality_known.items()} if any(q is not None for q in quality_known.values()) else None,
    }
    used = {k: w for k, w in weights.items() if w > 0 and parts.get(k) is not None}
    total_weight = sum(used.values())
    for m in models:
        scores: dict[str, float | None] = {k: None if p is None else round(p[m], 4) for k, p in parts.items()}
        combined = sum(w * p[m] for k, w in used.items() if (p := parts[k]) is not None) / total_weight if total_weight else 0.0
        scores["overall"] = round(combined * by_model[m]["success_rate"], 4)
        by_model[m]["scores"] = scores
    ordered = sorted(summaries, key=lambda s: (-s["scores"]["overall"], s["model"]))
    for i, s in enumerate(ordered, 1):
        s["rank"] = i
    return ordered


def pareto_front(summaries: list[dict[str, Any]]) -> list[str]:
    """The models no other model beats on both cost per call and mean quality, cheapest first."""
    points = [
        (Decimal(s["cost_per_call_usd"]), float(s["quality"]["mean"]), s["model"])
        for s in summaries
        if s.get("cost_per_call_usd") is not None and s.get("quality") and s["quality"]["mean"] is not None
    ]
    front = [(c, q, m) for c, q, m in points if not any((c2 <= c and q2 >= q) and (c2 < c or q2 > q) for c2, q2, _ in points)]
    return [m for _, _, m in sorted(front)]
