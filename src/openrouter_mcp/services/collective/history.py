"""Evidence about models kept in storage: how often pairs of models agreed in past votes (kv namespace
`collective`) and stored benchmark results, turned into accuracy estimates for weighted votes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...core.identity import owns

if TYPE_CHECKING:
    from ...app import App

HISTORY_NAMESPACE = "collective"

# Prior for a model's accuracy before any evidence: Beta with this mean and strength (pseudo-answers).
PRIOR_ACCURACY = 0.6
PRIOR_STRENGTH = 4.0
PAIR_MIN = 5  # joint answers a pair of models needs before its agreement rate counts
CHANCE_OPTIONS = 4  # answers a mistake is assumed to spread over (plus the right one), as in vote weights


@dataclass(frozen=True, slots=True)
class Estimate:
    accuracy: float
    samples: float
    sources: tuple[str, ...]


async def bench_evidence(app: App) -> dict[str, dict[str, float]]:
    """Per model, from stored benchmark runs (kv namespace `bench`): quality mean and samples, calls,
    successes, and median latency (weighted by samples)."""
    storage = await app.storage()
    out: dict[str, dict[str, float]] = {}
    for _, record in await storage.kv_list("bench"):
        if not owns(record):  # the evidence of the caller's own runs only
            continue
        for summary in record.get("models") or []:
            if not isinstance(summary, dict) or not isinstance(summary.get("model"), str):
                continue
            row = out.setdefault(summary["model"], {"quality_sum": 0.0, "quality_n": 0.0, "calls": 0.0, "ok": 0.0, "latency_sum": 0.0, "latency_n": 0.0})
            quality = summary.get("quality") or {}
            if isinstance(quality, dict) and isinstance(quality.get("mean"), int | float) and quality.get("n"):
                row["quality_sum"] += float(quality["mean"]) * float(quality["n"])
                row["quality_n"] += float(quality["n"])
            row["calls"] += float(summary.get("calls") or 0)
            row["ok"] += float(summary.get("ok") or 0)
            latency = summary.get("latency_ms") or {}
            if isinstance(latency, dict) and isinstance(latency.get("median"), int | float) and latency.get("n"):
                row["latency_sum"] += float(latency["median"]) * float(latency["n"])
                row["latency_n"] += float(latency["n"])
    return out


@dataclass(frozen=True, slots=True)
class AgreementHistory:
    """How often each pair of models gave the same final answer in past votes: (joint answers, agreements).

    For independent models, P(i and j agree) = p_i p_j + (1 - p_i)(1 - p_j) / (K - 1) when mistakes spread
    over K - 1 wrong answers. Without the second term, three models' pairwise rates give each one's
    accuracy with no answer key: p_i^2 = A_ij A_ik / A_jk (agreement-based accuracy estimation, as in
    Platanios et al. 2014). A few fixed-point rounds then take out the chance agreement on the same
    wrong answer, with K = 4 as in the vote weights."""

    pairs: dict[tuple[str, str], tuple[float, float]]
    # Each model's estimate, worked out once per history: a ranking asks for many models.
    _solved: dict[str, tuple[float, float] | None] = field(default_factory=dict, compare=False, repr=False)

    def rate(self, a: str, b: str) -> tuple[float, float] | None:
        return self.pairs.get((a, b) if a < b else (b, a))

    def partners(self, model: str) -> list[str]:
        return sorted({b if a == model else a for a, b in self.pairs if model in (a, b)})

    def _agreement(self, a: str, b: str, guess: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
        """(n, agreement rate beyond chance) of a pair with enough joint answers."""
        found = self.rate(a, b)
        if found is None or found[0] < PAIR_MIN:
            return None
        n, agreed = found
        rate = (agreed + 0.5) / (n + 1)
        if a in guess and b in guess:
            rate -= (1 - guess[a][0]) * (1 - guess[b][0]) / (CHANCE_OPTIONS - 1)
        return n, max(rate, 0.01)

    def _triples(self, model: str, guess: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
        partners = self.partners(model)
        total = weight = samples = 0.0
        for x, j in enumerate(partners):
            if (ij := self._agreement(model, j, guess)) is None:
                continue
            for k in partners[x + 1 :]:
                ik, jk = self._agreement(model, k, guess), self._agreement(j, k, guess)
                if ik is None or jk is None:
                    continue
                estimate = min(0.99, max(0.02, math.sqrt(ij[1] * ik[1] / jk[1])))
                w = min(ij[0], ik[0], jk[0])
                total += estimate * w
                weight += w
                samples = max(samples, min(ij[0], ik[0]))
        return (total / weight, samples) if weight else None

    def accuracy(self, model: str) -> tuple[float, float] | None:
        """(estimated accuracy, joint answers behind it), or None without three models' overlapping history."""
        if model in self._solved:
            return self._solved[model]
        group = [model, *self.partners(model)]
        guess: dict[str, tuple[float, float]] = {}
        for _ in range(4):
            guess = {m: found for m in group if (found := self._triples(m, guess)) is not None}
        self._solved[model] = guess.get(model)
        return self._solved[model]


async def load_history(app: App) -> AgreementHistory:
    storage = await app.storage()
    pairs: dict[tuple[str, str], tuple[float, float]] = {}
    for key, value in await storage.kv_list(HISTORY_NAMESPACE):
        if key.startswith("pair:") and "|" in key:
            a, b = key[5:].split("|", 1)
            pairs[(a, b)] = (float(value.get("n") or 0), float(value.get("agreed") or 0))
    return AgreementHistory(pairs)


def combine(prior: float, measured: tuple[float, float] | None, bench: dict[str, float]) -> tuple[float, float, tuple[str, ...]]:
    """A model's quality as a Beta posterior: the prior (weight PRIOR_STRENGTH), the agreement-based
    estimate (weight: its joint answers) and graded benchmark answers. Returns (mean, samples, sources)."""
    est, n = measured if measured is not None else (0.0, 0.0)
    bench_n, bench_hits = bench.get("quality_n", 0.0), bench.get("quality_sum", 0.0)
    mean = (prior * PRIOR_STRENGTH + est * n + bench_hits) / (PRIOR_STRENGTH + n + bench_n)
    sources = tuple(label for label, count in (("collective votes", n), ("benchmarks", bench_n)) if count)
    return mean, n + bench_n, sources


async def accuracy_estimates(app: App, models: Sequence[str]) -> dict[str, Estimate]:
    """Each model's estimated accuracy from past collective votes and stored benchmarks (prior when none)."""
    history = await load_history(app)
    bench = await bench_evidence(app)
    out: dict[str, Estimate] = {}
    for model in dict.fromkeys(models):
        mean, samples, sources = combine(PRIOR_ACCURACY, history.accuracy(model), bench.get(model) or {})
        out[model] = Estimate(mean, samples, sources or ("prior",))
    return out


async def record_agreement(app: App, answers: Sequence[tuple[str, str]]) -> None:
    """After a vote on an exact-answer task, count for each pair of different models whether they agreed."""
    import itertools

    pairs: dict[tuple[str, str], list[float]] = {}
    for (a, ka), (b, kb) in itertools.combinations(answers, 2):
        if a == b:
            continue  # samples of one model are not independent voters
        row = pairs.setdefault((a, b) if a < b else (b, a), [0.0, 0.0])
        row[0] += 1
        row[1] += 1.0 if ka == kb else 0.0
    if not pairs:
        return
    storage = await app.storage()
    # One transaction for the whole vote, read-modify-write: concurrent votes, in this process or another
    # replica, lose no count.
    await storage.kv_update_many(HISTORY_NAMESPACE, {f"pair:{a}|{b}": _add_votes(n, agreed) for (a, b), (n, agreed) in pairs.items()})


def _add_votes(n: float, agreed: float) -> Callable[[dict[str, Any] | None], dict[str, Any]]:
    def update(record: dict[str, Any] | None) -> dict[str, Any]:
        record = record or {}
        return {"n": float(record.get("n") or 0) + n, "agreed": float(record.get("agreed") or 0) + agreed}

    return update
