"""Deterministic reply material for the simulator: text, reasoning, JSON that fits a schema, tool-call
arguments and citations, all derived from a stable hash of the request so the same request gets the
same answer on every machine."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from typing import Any

# The simulator's replies are plain sentences: an opening that fits the kind of prompt (a greeting, a why,
# how or what question, a yes/no question, or a request), then, unless the prompt is a greeting or asks
# for one sentence, a few sentences of general advice; all picked by the prompt's hash, so one prompt
# always gets the same reply.
_OPENINGS: dict[str, tuple[str, ...]] = {
    "why": (
        "The main reason is that it lets you balance cost, speed and reliability.",
        "Put simply, it pays off when a single option would fall short.",
        "Mostly because it keeps you in control when conditions change.",
    ),
    "how": (
        "Start with the simplest approach that could work, then measure it.",
        "Take it one step at a time and check the result after each step.",
        "Begin with a small example, get it working, and then build on it.",
    ),
    "what": (
        "In short, it is a way to get the job done with fewer surprises.",
        "Put simply, it is the piece that ties the other parts together.",
        "The short version is that it depends on how you plan to use it.",
    ),
    "yes-no": (
        "Usually yes, as long as the trade-offs suit your case.",
        "It can, but the answer depends on your constraints.",
        "Often it does, though not in every situation.",
    ),
    "greeting": (
        "Hello! What would you like to know?",
        "Hi there. How can I help?",
        "Hello. Ask me anything, and I will keep it brief.",
    ),
    "request": (
        "Here is a short answer.",
        "Sure, here is a brief take.",
        "Here is a concise version.",
    ),
}
_FOLLOW_UPS = (
    "Each option trades something away, so pick the one whose cost you can live with.",
    "A small test with real inputs will tell you more than any general rule.",
    "Write down what a good result looks like before you compare options.",
    "If the first attempt falls short, change one thing at a time.",
    "Keep the setup easy to undo, so that trying an alternative stays cheap.",
    "A clear goal and a way to check it matter more than the details.",
    "Ask again with more context if you want a more specific answer.",
    "In practice, the plain solution is usually the one that lasts.",
)
_AFTER_TOOL = (
    "That settles the question.",
    "Based on that, the answer is straightforward.",
    "That is the information you asked for.",
)
# Ways to think a prompt through, one picked per prompt, repeated for as many words as the effort asks.
_REASONING = (
    (
        "First, restate what the question asks.",
        "Next, list what is already known.",
        "Then weigh the possible answers against each other.",
        "Check the best one against the question again.",
        "Finally, put the answer in plain words.",
    ),
    (
        "The question has a few parts, so take them one at a time.",
        "Start with the part that the others depend on.",
        "Settle it, then move on to the next part.",
        "Look for anything that contradicts an earlier step.",
        "Once every part holds, join them into one answer.",
    ),
)
_QUESTION_WORDS = {"why": "why", "how": "how", "what": "what", "which": "what", "who": "what", "where": "what", "when": "what"}
_GREETINGS = {"hi", "hello", "hey"}
_YES_NO = {"is", "are", "can", "could", "should", "would", "will", "do", "does", "did", "was", "were", "has", "have"}


def stable_int(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def message_text(content: Any) -> str:
    """The text of a message's content, whether a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return " ".join(t for t in texts if isinstance(t, str))
    return ""


def media_parts(messages: list[dict[str, Any]]) -> list[str]:
    """The kinds of non-text parts in the request, in order (image_url, input_audio, file, video_url)."""
    kinds: list[str] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            kinds.extend(p["type"] for p in content if isinstance(p, dict) and p.get("type") not in (None, "text"))
    return kinds


def _kind(prompt: str) -> str:
    """The kind of prompt, from its last clause's first word: "In one sentence: why ..." is a why question."""
    words = prompt.rsplit(":", 1)[-1].lower().split() or [""]
    first = words[0].strip("\"'“‘(!,.")
    if first in _GREETINGS:
        return "greeting"
    if first in _QUESTION_WORDS:
        return _QUESTION_WORDS[first]
    return "yes-no" if first in _YES_NO and prompt.rstrip().endswith("?") else "request"


def _pick(options: tuple[str, ...], seed: int, count: int) -> list[str]:
    """`count` different options, chosen by the seed."""
    pool = list(options)
    out = []
    for i in range(count):
        out.append(pool.pop((seed >> (8 * i)) % len(pool)))
    return out


def reply_text(model: str, messages: list[dict[str, Any]]) -> str:
    last_user = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    tool_results = [message_text(m.get("content")) for m in messages if m.get("role") == "tool"]
    seed = stable_int(model, last_user, *tool_results)
    words = last_user.split()
    quoted = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    media = media_parts(messages)
    lead = f"Simulated reply from {model}"
    if media:
        lead += f" (seen: {', '.join(media)})"
    if tool_results:
        return f"{lead}. Using the tool result {tool_results[-1][:80]!r}: {_pick(_AFTER_TOOL, seed, 1)[0]}"
    kind = _kind(last_user)
    opening = _pick(_OPENINGS[kind], seed, 1)
    brief = kind == "greeting" or "one sentence" in last_user.lower()
    follow_ups = [] if brief else _pick(_FOLLOW_UPS, seed >> 8, 1 + (seed >> 40) % 3)
    return f"{lead} to “{quoted}”: {' '.join(opening + follow_ups)}"


def reasoning_text(model: str, messages: list[dict[str, Any]], words: int) -> str:
    """Exactly `words` words of reasoning: the simulator counts each word as a reasoning token."""
    last_user = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    steps = _REASONING[stable_int("reasoning", model, last_user) % len(_REASONING)]
    out = ["Let", "me", "think", "step", "by", "step."]
    for step in itertools.cycle(steps):
        if len(out) >= words:
            break
        out.extend(step.split(" "))
    return " ".join(out[:words])


def reasoning_signature(text: str) -> str:
    """The signature a reasoning block carries, as a provider signs its thinking: the simulator refuses a
    block sent back with any other (a reasoning model rejects an altered one)."""
    return "sim-sig-" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


_ALTERNATIVES = (" the", " a", " it", " this", " that", " and", " of", " to", " in", " is", ",", ".", " so", " but", " we", " you", " for", " on", " as", " at")


def token_logprobs(model: str, text: str, top: int) -> list[dict[str, Any]]:
    """OpenRouter's `logprobs.content` entries for `text`, one token per word (with the space after it, so the
    tokens join back into the text): the chosen token's log probability and, most likely first, `top`
    alternatives (the chosen one among them, as OpenAI's lists are)."""
    out = []
    for token in re.findall(r"\s*\S+\s*", text):
        seed = stable_int("logprob", model, token)
        logprob = -round((seed % 1500) / 1000, 4)
        others = _pick(tuple(t for t in _ALTERNATIVES if t != token), seed, max(0, top - 1))
        top_list = [(token, logprob)] + [(t, round(logprob - 0.75 * (k + 1), 4)) for k, t in enumerate(others)]
        entry: dict[str, Any] = {"token": token, "logprob": logprob, "bytes": list(token.encode())}
        entry["top_logprobs"] = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top_list[:top]]
        out.append(entry)
    return out


def value_for_schema(schema: Any, name: str = "value", depth: int = 0) -> Any:
    """A small JSON value that satisfies common JSON-schema keywords (type, properties, required, enum,
    items, minimum/maximum, const, anyOf)."""
    if not isinstance(schema, dict) or depth > 6:
        return name
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return value_for_schema(schema[key][0], name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        return {k: value_for_schema(v, k, depth + 1) for k, v in props.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [value_for_schema(schema.get("items", {}), name, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1) if schema.get("minimum", 1) > 0 else 1)
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return f"example {name}"


def json_reply(response_format: dict[str, Any], *, violate: bool) -> str:
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        value = value_for_schema(schema)
        if violate and isinstance(value, dict):
            # Drop every required field: the reply parses as JSON but does not match the schema.
            value = {k: v for k, v in value.items() if k not in set(schema.get("required") or [])}
            value["unexpected"] = True
        return json.dumps(value)
    return json.dumps({"answer": "simulated", "ok": True})


def tool_arguments(tool: dict[str, Any]) -> str:
    params = (tool.get("function") or {}).get("parameters") or {"type": "object", "properties": {}}
    return json.dumps(value_for_schema(params))


def citations(query: str, text: str, count: int = 3) -> list[dict[str, Any]]:
    seed = stable_int("web", query)
    out = []
    for i in range(count):
        marker = f"[{i + 1}]"
        start = text.find(marker)
        out.append(
            {
                "type": "url_citation",
                "url_citation": {
                    "url": f"https://example.com/articles/{(seed >> (i * 8)) % 997}",
                    "title": f"Simulated source {i + 1} on {' '.join(query.split()[:4]) or 'the topic'}",
                    "content": f"An excerpt from simulated source {i + 1}.",
                    "start_index": max(start, 0),
                    "end_index": max(start, 0) + len(marker),
                },
            }
        )
    return out
