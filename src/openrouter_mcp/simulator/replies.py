"""Deterministic reply material for the simulator: text, reasoning, JSON that fits a schema, tool-call
arguments and citations, all derived from a stable hash of the request so the same request gets the
same answer on every machine."""

from __future__ import annotations

import hashlib
import json
from typing import Any

_WORDS = ["the", "answer", "depends", "on", "the", "context", "you", "give,", "so", "here", "is", "a", "careful", "and", "concise", "summary", "of", "the", "main", "points", "together", "with", "a", "short", "example", "that", "shows", "how", "the", "idea", "applies", "in", "practice", "and", "what", "to", "watch", "out", "for", "when", "you", "use", "it", "in", "a", "real", "project", "with", "real", "users", "and", "real", "constraints", "on", "time", "and", "cost"]


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


def reply_text(model: str, messages: list[dict[str, Any]]) -> str:
    last_user = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    tool_results = [message_text(m.get("content")) for m in messages if m.get("role") == "tool"]
    seed = stable_int(model, last_user, *tool_results)
    length = 12 + seed % 24
    start = seed % (len(_WORDS) - length)
    body = " ".join(_WORDS[start : start + length])
    quoted = " ".join(last_user.split()[:12])
    media = media_parts(messages)
    lead = f"Simulated reply from {model}"
    if media:
        lead += f" (seen: {', '.join(media)})"
    if tool_results:
        return f"{lead}. Using the tool result {tool_results[-1][:80]!r}: {body}."
    return f"{lead} to “{quoted}”: {body}."


def reasoning_text(model: str, messages: list[dict[str, Any]], words: int) -> str:
    last_user = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    seed = stable_int("reasoning", model, last_user)
    out = ["Let", "me", "think", "step", "by", "step."]
    i = seed
    while len(out) < words:
        out.append(_WORDS[i % len(_WORDS)])
        i = i * 6364136223846793005 + 1442695040888963407 & 0xFFFFFFFFFFFFFFFF
    return " ".join(out[:words])


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
