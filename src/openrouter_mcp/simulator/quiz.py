"""Simulator models with known behaviour, for proving that collective methods beat a single model.

- `QUESTIONS`: a deterministic quiz (arithmetic and multiple choice), each with its answer and a few
  plausible wrong answers. A question's prompt carries its id (`Question Q0042: ...`), which is how the
  simulated models recognise it; benchmarks and tests import the set from here.
- Quiz models (`quiz/acc-70-a`, `quiz/acc-90`, `quiz/acc-70-1s-a`, ...) answer a quiz question correctly
  with the probability in their id (70 %), drawn independently per model, question and `seed` from a
  stable hash, in varied wording; a wrong answer is one of the question's plausible wrong answers. When
  the prompt also shows other answers to the question (aggregation, debate), the model still solves it
  with its own probability, and otherwise adopts one of the answers shown.
- Judge models (`judge/rel-80-a`, ...) asked for a verdict (a `response_format` schema with a `verdict`
  property) judge content about a quiz question: the content is wrong when it states one of the
  question's known wrong answers. The verdict follows that truth with the probability in the id.

A `-1s` / `-250ms` part in an id fixes the model's time to first token (for fan-out timing tests).
Everything is a pure function of the request, so every machine sees the same answers.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .replies import json_reply, message_text, reply_text, stable_int, value_for_schema

QUESTION_COUNT = 600
LETTERS = ("A", "B", "C", "D")

_ID = re.compile(r"\A(quiz|judge)/(acc|rel)-(\d{1,3})(?:-(\d{1,5})(ms|s))?(?:-([a-z]))?\Z")
_TAG = re.compile(r"\bQuestion (Q\d{4})\b")
_LETTER = re.compile(r"\(([A-D])\)")


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: str  # "number" or "choice"
    text: str
    answer: str  # digits, or a letter A-D
    wrong: tuple[str, ...]  # plausible wrong answers, in the same form as `answer`

    @property
    def prompt(self) -> str:
        return f"Question {self.id}: {self.text}"

    def answer_space(self) -> tuple[str, ...]:
        return (self.answer, *self.wrong)


def _number_question(qid: str, rng: random.Random) -> tuple[str, int, list[int], tuple[int, ...]]:
    form = rng.randrange(4)
    if form == 0:
        a, b = rng.randint(120, 999), rng.randint(120, 999)
        text, answer, slips = f"What is {a} + {b}?", a + b, [a + b + 10, a + b - 10, a + b + 100]
        operands: tuple[int, ...] = (a, b)
    elif form == 1:
        a, b = rng.randint(13, 99), rng.randint(3, 29)
        text, answer, slips = f"What is {a} × {b}?", a * b, [a * (b - 1), a * (b + 1), (a + 1) * b]
        operands = (a, b)
    elif form == 2:
        a, b, c = rng.randint(13, 99), rng.randint(3, 19), rng.randint(11, 99)
        text, answer, slips = f"What is {a} × {b} + {c}?", a * b + c, [a * b, a * (b + c), a * b - c]
        operands = (a, b, c)
    else:
        a = rng.randint(500, 999)
        b = rng.randint(100, a - 100)
        text, answer, slips = f"What is {a} − {b}?", a - b, [a - b + 10, a - b - 10, a + b]
        operands = (a, b)
    return text, answer, [*slips, answer + 1, answer - 1, int(str(answer)[::-1])], operands


def _wrong_numbers(answer: int, slips: list[int], operands: tuple[int, ...], rng: random.Random) -> tuple[str, ...]:
    out: list[str] = []
    for value in slips:
        if value >= 20 and value != answer and value not in operands and str(value) not in out:
            out.append(str(value))
    rng.shuffle(out)
    return tuple(out[:4])


def _composite(rng: random.Random) -> int:
    primes = (7, 11, 13, 17, 19, 23, 29, 31)
    return rng.choice(primes) * rng.choice(primes)


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def _choice_question(rng: random.Random) -> tuple[str, list[str], int]:
    if rng.randrange(2) == 0:
        text, answer, slips, operands = _number_question("", rng)
        options = [str(answer), *_wrong_numbers(answer, slips, operands, rng)[:3]]
        while len(options) < 4:
            options.append(str(answer + 7 * len(options)))
    else:
        prime = rng.choice([p for p in range(101, 400) if _is_prime(p)])
        options = [str(prime)]
        while len(options) < 4:
            c = _composite(rng)
            if str(c) not in options:
                options.append(str(c))
        text = "Which of these numbers is prime?"
    correct = options[0]
    rng.shuffle(options)
    listed = " ".join(f"({letter}) {value}" for letter, value in zip(LETTERS, options, strict=True))
    return f"{text} {listed}", options, options.index(correct)


@lru_cache(maxsize=1)
def _questions() -> tuple[Question, ...]:
    out = []
    for i in range(QUESTION_COUNT):
        qid = f"Q{i + 1:04d}"
        rng = random.Random(stable_int("quiz-question", qid))
        if i % 2 == 0:
            text, answer, slips, operands = _number_question(qid, rng)
            out.append(Question(qid, "number", text, str(answer), _wrong_numbers(answer, slips, operands, rng)))
        else:
            text, _, correct = _choice_question(rng)
            letter = LETTERS[correct]
            out.append(Question(qid, "choice", text, letter, tuple(x for x in LETTERS if x != letter)))
    return tuple(out)


QUESTIONS: tuple[Question, ...] = _questions()
BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}


# ---------- the models ----------


@dataclass(frozen=True, slots=True)
class Spec:
    kind: str  # "quiz" or "judge"
    p: float  # accuracy (quiz) or reliability (judge), 0..1
    ttft_ms: int | None  # fixed time to first token, if the id sets one


def spec_for(model_id: str) -> Spec | None:
    m = _ID.match(model_id.split(":", 1)[0])
    if m is None or (m.group(1) == "quiz") != (m.group(2) == "acc"):
        return None
    ttft = None
    if m.group(4):
        ttft = int(m.group(4)) * (1000 if m.group(5) == "s" else 1)
    return Spec(m.group(1), min(100, int(m.group(3))) / 100, ttft)


def handles(model_id: str) -> bool:
    return spec_for(model_id) is not None


# Listed in the simulator's /models: accuracy tiers, five independent models per tier, and slow variants.
_QUIZ_TIERS = (50, 60, 70, 80, 90)
_JUDGE_TIERS = (60, 70, 80, 90)
_SUFFIXES = ("a", "b", "c", "d", "e")
# USD per million tokens (prompt, completion): better models cost more.
_PRICES = {50: ("0.03", "0.06"), 60: ("0.05", "0.1"), 70: ("0.08", "0.2"), 80: ("0.15", "0.5"), 90: ("0.4", "1.6")}


def model_ids() -> list[str]:
    ids = [f"quiz/acc-{tier}-{s}" for tier in _QUIZ_TIERS for s in _SUFFIXES]
    ids += [f"quiz/acc-70-1s-{s}" for s in _SUFFIXES] + ["quiz/acc-90-1s"]
    ids += [f"judge/rel-{tier}-{s}" for tier in _JUDGE_TIERS for s in _SUFFIXES]
    return ids


def _per_token(per_million: str) -> str:
    from decimal import Decimal

    return format(Decimal(per_million) / 1_000_000, "f")


def catalog_items(base: dict[str, Any]) -> list[dict[str, Any]]:
    """`/models` items for every listed quiz and judge model, shaped like `base` (an ordinary model)."""
    out = []
    for model_id in model_ids():
        spec = spec_for(model_id)
        assert spec is not None
        tier = round(spec.p * 100)
        prompt, completion = _PRICES.get(tier, _PRICES[80])
        what = "answers the simulator's quiz correctly" if spec.kind == "quiz" else "gives verdicts that follow the truth"
        latency = f" Waits {spec.ttft_ms} ms before its first token." if spec.ttft_ms else ""
        item = json.loads(json.dumps(base))
        item.update(
            id=model_id,
            canonical_slug=model_id,
            name=f"Simulator: {model_id}",
            description=f"Simulator {spec.kind} model that {what} {tier} % of the time, independently of other models.{latency}",
            context_length=32768,
            pricing={"prompt": _per_token(prompt), "completion": _per_token(completion)},
            top_provider={"context_length": 32768, "max_completion_tokens": 4096, "is_moderated": False},
            supported_parameters=["max_tokens", "response_format", "seed", "stop", "structured_outputs", "temperature", "top_p"],
            links={"details": f"/api/v1/models/{model_id}/endpoints"},
            expiration_date=None,
        )
        item["architecture"] = {**item["architecture"], "input_modalities": ["text"], "modality": "text->text"}
        out.append(item)
    return out


def endpoints_for(item: dict[str, Any], base_endpoint: dict[str, Any]) -> dict[str, Any]:
    """The `/endpoints` listing of a quiz or judge model: one provider, the model's own price."""
    endpoint = {
        **base_endpoint,
        "name": f"Quiz Lab | {item['id']}",
        "model_id": item["id"],
        "model_name": item["name"],
        "provider_name": "Quiz Lab",
        "tag": "quiz-lab",
        "context_length": item["context_length"],
        "pricing": item["pricing"],
        "quantization": "unknown",
        "max_completion_tokens": item["top_provider"]["max_completion_tokens"],
        "supported_parameters": item["supported_parameters"],
        "native_tools": {},
    }
    keys = ("id", "name", "created", "description", "architecture")
    return {**{k: item[k] for k in keys}, "endpoints": [endpoint]}


def behaviour(model_id: str) -> dict[str, Any]:
    spec = spec_for(model_id)
    ttft = spec.ttft_ms if spec and spec.ttft_ms is not None else 15 + stable_int("quiz-ttft", model_id) % 30
    return {"ttft_ms": ttft, "tokens_per_s": 4000.0, "provider": "Quiz Lab"}


# ---------- replies ----------


def _unit(*parts: str) -> float:
    return stable_int(*parts) / 2**64


def _all_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(message_text(m.get("content")) for m in messages if isinstance(m, dict))


def find_question(text: str) -> Question | None:
    m = _TAG.search(text)
    return BY_ID.get(m.group(1)) if m else None


def stated_answers(question: Question, text: str) -> list[str]:
    """The answers to `question` that `text` states, one entry per mention, the question itself left out."""
    context = text.replace(question.text, " ")
    if question.kind == "choice":
        return _LETTER.findall(context)
    found = []
    for value in question.answer_space():
        found += [value] * len(re.findall(rf"(?<![\d.,]){re.escape(value)}(?![\d]|[.,]\d)", context))
    return found


_NUMBER_WORDING = (
    "The answer is {a}.",
    "I believe it's {a}.",
    "After working it out: {a}",
    "Let me compute this step by step. The result is {a}.",
    "**{a}**",
    "Final answer: {a}",
    "It comes to {a}, if I have done the arithmetic right.",
)
_CHOICE_WORDING = (
    "The answer is ({a}).",
    "I believe it's ({a})",
    "After working it out: ({a}) {v}",
    "A quick check of each option points to ({a}).",
    "Option ({a}) is correct.",
    "Final answer: ({a})",
)
_REVISED = ("Having compared the answers, ", "After weighing the responses, ", "On reflection, ", "")


def _seed(body: dict[str, Any]) -> str:
    seed = body.get("seed")
    return str(seed) if isinstance(seed, int) and not isinstance(seed, bool) else ""


def _choice_value(question: Question, letter: str) -> str:
    m = re.search(rf"\({letter}\) (\S+)", question.text)
    return m.group(1) if m else ""


def quiz_answer(model_id: str, question: Question, p: float, seed: str, context: str) -> str:
    """The answer this model gives: its own (right with probability p), or, when it fails and other
    answers are shown, one of those (picked in proportion to how often each is shown)."""
    if _unit(model_id, question.id, seed, "solve") < p:
        return question.answer
    shown = stated_answers(question, context)
    if shown:
        return shown[stable_int(model_id, question.id, seed, "adopt", context) % len(shown)]
    return question.wrong[stable_int(model_id, question.id, seed, "wrong") % len(question.wrong)]


def _quiz_reply(model_id: str, spec: Spec, body: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    text = _all_text(messages)
    question = find_question(text)
    if question is None:
        return reply_text(model_id, messages)
    seed = _seed(body)
    context = text.replace(question.prompt, " ")
    answer = quiz_answer(model_id, question, spec.p, seed, context)
    pick = stable_int(model_id, question.id, seed, "wording")
    if question.kind == "choice":
        wording = _CHOICE_WORDING[pick % len(_CHOICE_WORDING)].format(a=answer, v=_choice_value(question, answer))
    else:
        wording = _NUMBER_WORDING[pick % len(_NUMBER_WORDING)].format(a=answer)
    if stated_answers(question, context):
        wording = _REVISED[pick % len(_REVISED)] + (wording[0].lower() + wording[1:] if wording[0] not in "*(" else wording)
    return wording


def _truth(text: str) -> tuple[Question | None, str | None, bool]:
    """What the content to judge is about, the answer it states, and whether that is right."""
    question = find_question(text)
    if question is None:
        return None, None, True
    stated = stated_answers(question, text.replace(question.prompt, " "))
    wrong = [s for s in stated if s != question.answer]
    if wrong:
        return question, wrong[-1], False
    return question, (stated[-1] if stated else None), True


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _criteria(schema: dict[str, Any]) -> list[str]:
    scores = (schema.get("properties") or {}).get("scores") or {}
    if scores.get("type") == "array":
        enum = (((scores.get("items") or {}).get("properties") or {}).get("criterion") or {}).get("enum")
        return [str(c) for c in enum or []]
    return [str(k) for k in (scores.get("properties") or {})]


def _judge_reply(model_id: str, spec: Spec, body: dict[str, Any], messages: list[dict[str, Any]], schema: dict[str, Any]) -> str:
    text = _all_text(messages)
    question, stated, right = _truth(text)
    about = question.id if question else str(stable_int("content", text))
    follows = _unit(model_id, "judge", about, _seed(body)) < spec.p
    says_valid = right if follows else not right
    criteria = _criteria(schema) or ["correctness"]
    main = next((c for c in criteria if re.search(r"correct|accura|fact|valid|true", c, re.I)), criteria[0])
    h = stable_int(model_id, "scores", about)
    scores = {c: (7 + (h >> i) % 3 if says_valid else 2 + (h >> i) % 3) if c == main else 6 + (h >> i) % 4 for i, c in enumerate(criteria)}
    issues: list[dict[str, Any]] = []
    if not says_valid:
        if question is not None and not right:
            description = f"{question.id}: the stated answer {stated} is wrong; the correct answer is {question.answer}."
        elif question is not None:
            description = f"{question.id}: the result {stated} does not look right to me."
        else:
            description = "The argument skips a step, so the conclusion does not follow."
        issues.append({"criterion": main, "severity": "critical", "description": description, "quote": stated or ""})
    value = value_for_schema(schema)
    if not isinstance(value, dict):
        return json.dumps(value)
    props = schema.get("properties") or {}
    enum = [str(v) for v in (props.get("verdict") or {}).get("enum") or ["VALID", "INVALID"]]
    invalid = next((v for v in enum if v.upper().startswith("IN")), "INVALID")
    valid = next((v for v in enum if v.upper() == "VALID"), "VALID")
    value["verdict"] = valid if says_valid else invalid
    if "scores" in props:
        if (props["scores"] or {}).get("type") == "array":
            value["scores"] = [{"criterion": c, "score": s} for c, s in scores.items()]
        else:
            value["scores"] = scores
    if "issues" in props:
        value["issues"] = issues
    if "summary" in props:
        value["summary"] = "The content holds up." if says_valid else issues[0]["description"]
    if "confidence" in props:
        value["confidence"] = round(0.6 + (h % 35) / 100, 2)
    return json.dumps(value)


def reply(model_id: str, body: dict[str, Any]) -> str:
    """The content of a quiz or judge model's reply to this chat request."""
    spec = spec_for(model_id)
    assert spec is not None
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    schema = _schema(body)
    if schema is not None and "verdict" in (schema.get("properties") or {}):
        return _judge_reply(model_id, spec, body, messages, schema)
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object"):
        return json_reply(fmt, violate=False)
    return _quiz_reply(model_id, spec, body, messages)
