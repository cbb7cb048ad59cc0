"""What a benchmark asks and how it scores an answer: benchmark prompts (from a list, a built-in suite or
a JSONL file) and the quality checks a prompt can carry: exact or numeric match against `expected`,
JSON-schema validity (plus the expected field values), and the grade a jury (the collective toolset's
`cross_model_validation` jury) gives against `judge_criteria`. Every check scores 0..1; a prompt with
several checks scores their mean."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from ...errors import invalid

MAX_PROMPTS = 200
MAX_PROMPT_CHARS = 20_000
PROMPT_KEYS = ("id", "prompt", "expected", "schema", "judge_criteria")
MAX_CRITERIA = 10
MAX_CRITERION_CHARS = 200


@dataclass(frozen=True, slots=True)
class BenchPrompt:
    id: str
    prompt: str
    expected: Any = None
    schema: dict[str, Any] | None = None
    judge_criteria: str | None = None

    @property
    def checks(self) -> list[str]:
        """The checks this prompt asks for, in the order they are reported."""
        out = []
        if self.schema is not None:
            out.append("schema")
            if self.expected is not None:
                out.append("fields")
        elif self.expected is not None:
            out.append("numeric" if _number(self.expected) is not None else "exact")
        if self.judge_criteria:
            out.append("judge")
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "prompt": self.prompt}
        if self.expected is not None:
            out["expected"] = self.expected
        if self.schema is not None:
            out["schema"] = self.schema
        if self.judge_criteria:
            out["judge_criteria"] = self.judge_criteria
        return out


def parse_prompt(item: Any, index: int, where: str) -> BenchPrompt:
    """One prompt from a string or an object {prompt, expected?, schema?, judge_criteria?, id?}."""
    if isinstance(item, str):
        item = {"prompt": item}
    if not isinstance(item, dict):
        raise invalid(where, f"{str(item)[:60]!r} is not a prompt", 'Use a string or {"prompt": "...", "expected": ...}')
    unknown = sorted(set(item) - set(PROMPT_KEYS))
    if unknown:
        raise invalid(f"{where}.{unknown[0]}", "is not a prompt field", f"Use {', '.join(PROMPT_KEYS)}")
    text = item.get("prompt")
    if not isinstance(text, str) or not text.strip():
        raise invalid(f"{where}.prompt", "is missing or empty", "Write the prompt text")
    if len(text) > MAX_PROMPT_CHARS:
        raise invalid(f"{where}.prompt", f"has {len(text)} characters", f"Keep a prompt under {MAX_PROMPT_CHARS} characters")
    schema = item.get("schema")
    if schema is not None:
        if not isinstance(schema, dict):
            raise invalid(f"{where}.schema", "is not an object", 'Give a JSON schema, e.g. {"type": "object", "properties": {...}}')
        from jsonschema import exceptions, validators

        try:
            validators.validator_for(schema).check_schema(schema)
        except exceptions.SchemaError as exc:
            raise invalid(f"{where}.schema", f"is not a valid JSON schema ({exc.message})", "Fix the schema") from None
    expected = item.get("expected")
    if expected is not None and schema is None and not isinstance(expected, str | int | float):
        raise invalid(f"{where}.expected", f"{expected!r} is not a text or a number", "Use the answer as a string or a number (an object only with a schema)")
    criteria = item.get("judge_criteria")
    if criteria is not None:
        parts = criteria_of(criteria) if isinstance(criteria, str) else []
        if not parts or len(parts) > MAX_CRITERIA or any(len(c) > MAX_CRITERION_CHARS for c in parts):
            raise invalid(
                f"{where}.judge_criteria",
                f"{str(criteria)[:60]!r} is not 1 to {MAX_CRITERIA} criteria of at most {MAX_CRITERION_CHARS} characters",
                "Separate criteria with ';', e.g. 'correct; cites the law; under 100 words'",
            )
    prompt_id = item.get("id")
    if prompt_id is not None and (not isinstance(prompt_id, str) or not prompt_id.strip()):
        raise invalid(f"{where}.id", f"{prompt_id!r} is not a name", "Use a short string")
    return BenchPrompt(
        id=(prompt_id or f"p{index + 1}").strip(),
        prompt=text,
        expected=expected,
        schema=schema,
        judge_criteria=criteria.strip() if criteria else None,
    )


def criteria_of(text: str) -> list[str]:
    """The criteria in a `judge_criteria` text: the parts between semicolons."""
    return [c.strip() for c in text.split(";") if c.strip()]


def parse_prompt_list(items: Any, field: str = "prompts") -> list[BenchPrompt]:
    if not isinstance(items, list) or not items:
        raise invalid(field, "is empty", 'Give prompts, e.g. ["What is 2+2?"], a suite name, or a JSONL file')
    if len(items) > MAX_PROMPTS:
        raise invalid(field, f"has {len(items)} prompts", f"Use at most {MAX_PROMPTS}")
    prompts = [parse_prompt(item, i, f"{field}[{i}]") for i, item in enumerate(items)]
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise invalid(field, f"the id {dup!r} is used twice", "Give each prompt its own id")
    return prompts


def parse_jsonl(text: str, source: str) -> list[BenchPrompt]:
    """Prompts from JSONL text, one object per line (blank lines and lines starting with # are skipped)."""
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise invalid(f"{source} line {number}", f"is not JSON ({exc.msg})", 'Write one object per line, e.g. {"prompt": "2+2?", "expected": 4}') from None
    return parse_prompt_list(items, source)


# ---------- checks ----------

_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?|[-+]?\.\d+")
_ANSWER = re.compile(r"answer\W{0,3}(?:is\W{0,3})?(.+)", re.IGNORECASE)
_FENCE = re.compile(r"^```[a-zA-Z0-9]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*", value):
        return float(value)
    return None


def _normal(text: str) -> str:
    text = re.sub(r"[*_`]", "", text).strip().lower()
    text = text.strip(" \t\n\"'“”‘’()[]")
    return re.sub(r"\s+", " ", text).rstrip(".!;:").strip()


def _final_answer(reply: str) -> str:
    """The part of a reply that states its answer: after the last 'answer:' if any, else the last line."""
    matches = list(_ANSWER.finditer(reply))
    if matches:
        return matches[-1].group(1)
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _numbers(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in _NUMBER.findall(text)]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def numeric_match(reply: str, expected: Any) -> float:
    """1 when the final number of the answer equals `expected` (to 6 significant digits), else 0."""
    target = _number(expected)
    assert target is not None
    numbers = _numbers(_final_answer(reply)) or _numbers(reply)
    return 1.0 if numbers and _close(numbers[-1], target) else 0.0


def exact_match(reply: str, expected: str) -> float:
    """1 when the whole reply, or its stated answer, equals `expected` ignoring case, spacing, markdown
    emphasis, quotes and end punctuation; else 0."""
    want = _normal(expected)
    return 1.0 if want in (_normal(reply), _normal(_final_answer(reply))) else 0.0


def parse_json_reply(reply: str) -> Any:
    """The JSON value in a reply: the whole text, a fenced block, or the outermost {...}; raises ValueError."""
    text = reply.strip()
    if m := _FENCE.match(text):
        text = m.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                pass
    raise ValueError("the reply is not JSON")


def schema_valid(value: Any, schema: dict[str, Any]) -> float:
    from jsonschema import validators

    validator = validators.validator_for(schema)(schema)
    return 0.0 if any(True for _ in validator.iter_errors(value)) else 1.0


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(got, dict) and all(_same(got.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, bool) or want is None:
        return got is want
    if (w := _number(want)) is not None and not isinstance(want, str):
        g = _number(got)
        return g is not None and _close(g, w)
    return isinstance(got, str) and _normal(got) == _normal(str(want))


def field_accuracy(value: Any, expected: Any) -> float:
    """The share of expected top-level fields the reply got right (the whole value when not an object)."""
    if isinstance(expected, dict):
        if not expected:
            return 1.0
        got = value if isinstance(value, dict) else {}
        return sum(1 for k, v in expected.items() if _same(got.get(k), v)) / len(expected)
    return 1.0 if _same(value, expected) else 0.0


def score_reply(prompt: BenchPrompt, reply: str) -> dict[str, float]:
    """The automatic checks (everything but the jury) for one reply, each 0..1."""
    out: dict[str, float] = {}
    if prompt.schema is not None:
        try:
            value = parse_json_reply(reply)
        except ValueError:
            out["schema"] = 0.0
            if prompt.expected is not None:
                out["fields"] = 0.0
            return out
        out["schema"] = schema_valid(value, prompt.schema)
        if prompt.expected is not None:
            out["fields"] = field_accuracy(value, prompt.expected)
    elif prompt.expected is not None:
        if _number(prompt.expected) is not None:
            out["numeric"] = numeric_match(reply, prompt.expected)
        else:
            out["exact"] = exact_match(reply, str(prompt.expected))
    return out


def ask_text(prompt: BenchPrompt) -> str:
    """The message a benchmarked model gets: the prompt, plus the schema when a JSON answer is scored."""
    if prompt.schema is None:
        return prompt.prompt
    return f"{prompt.prompt}\n\nReply with JSON only, matching this JSON schema:\n{json.dumps(prompt.schema)}"
