"""Arguments a tool does not take are refused, never dropped, and numbers are numbers. Before pydantic sees a tool's arguments (its lax mode would read "1.5" and true as
numbers) and before any tool code runs, `NumberGuard` refuses, with INVALID_INPUT naming the field:

- a string or a boolean where the tool's input schema allows a number and neither a string nor a boolean;
- NaN, Infinity or -Infinity anywhere in the arguments: they are no JSON numbers (OpenRouter would get
  invalid JSON), they pass every range check (NaN compares false), and an infinite cap is no cap.

Which paths are numeric is read once per tool, at registration, from its input JSON schema (nested
objects, arrays, `anyOf` unions, `additionalProperties` maps, `$ref`s into `$defs`); a call walks only its
own arguments alongside that plan, and free-form JSON (messages, provider routing, ...) only for floats."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from .errors import ErrorCode, ToolFailure

_NUMERIC = frozenset({"number", "integer"})
_MAX_PROBLEMS = 5
# tool -> {argument: why the tool does not take it}: names a caller may well send (OpenRouter's own request
# fields) that a tool leaves out on purpose; the refusal says why and what to do instead.
NOT_TAKEN: dict[str, dict[str, str]] = {}
# Argument names of the two other OpenRouter MCP servers (shared/reference/seed-servers.md) -> ours: the
# suggestion for one of theirs is the argument that means the same here, not the nearest spelling.
THEIR_NAMES: dict[str, tuple[str, ...]] = {
    "filter_by": ("query",),
    "capabilities": ("input_modalities",),
    "max_iterations": ("max_rounds",),
    "system_prompt": ("system", "messages"),
    "conversation_history": ("messages",),
    "preferred_models": ("model", "models"),
    "validation_criteria": ("criteria",),
    "benchmark_file": ("benchmark_id",),
    "output_file": ("save_path",),
    "days_back": ("since",),
    "model_filter": ("model",),
    "prompt": ("prompts", "message"),
    "query": ("task",),
    "online": ("web_search",),
    "web_max_results": ("web_search",),
    "image": ("first_frame_image",),
    "max_wait_ms": ("wait_seconds",),
    "task_type": ("answer_type",),
}
_FIX = "Send numbers unquoted; true/false, NaN and Infinity are not JSON numbers."


class Node:
    """What the input schema allows at one place in the arguments: its JSON types (None: any JSON), the
    range a number there must be in (for the message), and the plans of an object's or array's members.
    `free` marks a subtree with no numeric place in it, where only non-finite floats are looked for."""

    __slots__ = ("extra", "free", "hint", "items", "no_bool", "no_str", "props", "types")

    def __init__(self, types: frozenset[str] | None, hint: str = "") -> None:
        self.types = types
        numeric = types is not None and not types.isdisjoint(_NUMERIC)
        self.no_str = numeric and "string" not in (types or ())
        self.no_bool = numeric and "boolean" not in (types or ())
        self.hint = hint
        self.props: dict[str, Node] = {}
        # An object's other keys and an array's members; free-form unless the schema says more.
        self.extra: Node = ANY if types is not None else self
        self.items: Node = self.extra
        self.free = types is None

    def seal(self) -> Node:
        self.free = self.types is None or (
            not (self.no_str or self.no_bool) and self.extra.free and self.items.free and all(p.free for p in self.props.values())
        )
        return self


ANY = Node(None)  # free-form JSON


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return name
    return "string"


def _types_of(schema: dict[str, Any]) -> frozenset[str] | None:
    kind = schema.get("type")
    if isinstance(kind, str):
        return frozenset({kind})
    if isinstance(kind, list):
        return frozenset(k for k in kind if isinstance(k, str))
    if isinstance(schema.get("enum"), list):
        return frozenset(_json_type(v) for v in schema["enum"])
    if "const" in schema:
        return frozenset({_json_type(schema["const"])})
    if "properties" in schema or "additionalProperties" in schema:
        return frozenset({"object"})
    if "items" in schema or "prefixItems" in schema:
        return frozenset({"array"})
    return None


def _range_hint(schema: dict[str, Any], types: frozenset[str]) -> str:
    """What to send instead, e.g. "a finite JSON number, at least 0 and at most 2" ("" where no number is due)."""
    if types.isdisjoint(_NUMERIC):
        return ""
    words = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most", "exclusiveMaximum": "below"}
    parts = []
    for key, word in words.items():
        bound = schema.get(key)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            parts.append(f"{word} {int(bound) if isinstance(bound, float) and bound.is_integer() else bound}")
    kind = "a finite JSON number" if "number" in types else "a finite JSON number (a whole one)"
    return ", ".join([kind, " and ".join(parts)]) if parts else kind


def _union(nodes: list[Node]) -> Node:
    """One plan for alternatives (`anyOf`): a value is refused only where no alternative allows it."""
    if not nodes or any(n.types is None for n in nodes):
        return ANY
    if len(nodes) == 1:
        return nodes[0]
    out = Node(frozenset().union(*(n.types or () for n in nodes)), " or ".join(dict.fromkeys(n.hint for n in nodes if n.hint)))
    objects = [n for n in nodes if "object" in (n.types or ())]
    if objects:
        keys = {k for n in objects for k in n.props}
        out.props = {k: _union([n.props.get(k, n.extra) for n in objects]) for k in keys}
        out.extra = _union([n.extra for n in objects])
    arrays = [n.items for n in nodes if "array" in (n.types or ())]
    if arrays:
        out.items = _union(arrays)
    return out.seal()


def plan_of(schema: dict[str, Any]) -> Node:
    """The plan of a tool's input schema (an object schema, as pydantic writes it)."""
    found = schema.get("$defs")
    defs: dict[str, Any] = found if isinstance(found, dict) else {}

    def node(s: Any, depth: int) -> Node:
        if not isinstance(s, dict) or depth > 40:
            return ANY
        ref = s.get("$ref")
        if isinstance(ref, str):  # pydantic's local references; a sibling keyword wins over the definition's
            target = defs.get(ref.removeprefix("#/$defs/")) if ref.startswith("#/$defs/") else None
            return node({**target, **{k: v for k, v in s.items() if k != "$ref"}}, depth + 1) if isinstance(target, dict) else ANY
        alternatives = [a for key in ("anyOf", "oneOf") for a in s.get(key) or () if isinstance(a, dict)]
        if alternatives:
            base = {k: v for k, v in s.items() if k not in ("anyOf", "oneOf")}
            return _union([node({**base, **a}, depth + 1) for a in alternatives])
        if isinstance(s.get("allOf"), list):
            merged = {k: v for k, v in s.items() if k != "allOf"}
            for part in s["allOf"]:
                merged.update(part if isinstance(part, dict) else {})
            return node(merged, depth + 1)
        types = _types_of(s)
        if types is None:
            return ANY
        out = Node(types, _range_hint(s, types))
        if "object" in types:
            props = s.get("properties")
            out.props = {k: node(v, depth + 1) for k, v in props.items()} if isinstance(props, dict) else {}
            out.extra = node(s["additionalProperties"], depth + 1) if isinstance(s.get("additionalProperties"), dict) else ANY
        if "array" in types:
            items = [s["items"]] if isinstance(s.get("items"), dict) else []
            items += [p for p in s.get("prefixItems") or () if isinstance(p, dict)]
            out.items = _union([node(i, depth + 1) for i in items])
        return out.seal()

    return node(schema, 0)


def _finite(value: Any) -> bool:
    """No NaN or infinity anywhere in this JSON value (the fast path: no field paths are built)."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return True
    for member in value:
        kind = type(member)
        if kind is float:
            if not math.isfinite(member):
                return False
        elif (kind is dict or kind is list) and not _finite(member):
            return False
    return True


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


_JSON_CONTAINER = re.compile(r"\s*[\[{]").match


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


class NumberGuard:
    """One tool's plan, checked against each call's arguments before validation."""

    __slots__ = ("accepted", "plan", "reparsed", "tool")

    def __init__(self, schema: dict[str, Any], reparsed: Iterable[str] = (), *, tool: str = "this tool") -> None:
        self.tool = tool
        props = schema.get("properties")
        # Every argument the tool takes: anything else is refused, never silently dropped.
        self.accepted = tuple(props) if isinstance(props, dict) else ()
        self.plan = plan_of(schema)
        # Top-level arguments the SDK reads as JSON when they come as a string holding an array or object
        # (`pre_parse_json`): checked as the SDK will read them.
        self.reparsed = frozenset(reparsed)

    def check(self, arguments: dict[str, Any]) -> ToolFailure | None:
        """INVALID_INPUT naming the fields (up to 5) that hold a string, a boolean or a non-finite number
        where a finite JSON number is due, or NaN/Infinity anywhere; None when there is none."""
        if unknown := [key for key in arguments if key not in self.accepted]:
            return self._unknown(unknown)
        problems: list[tuple[str, str]] = []
        props = self.plan.props
        for key, value in arguments.items():
            node = props.get(key)
            if node is None:
                continue  # an argument with no number in it
            if type(value) is str and key in self.reparsed and _JSON_CONTAINER(value):
                value = _loads(value)
            _walk(node, value, key, problems)
        if not problems:
            return None
        fields = list(dict.fromkeys(path for path, _ in problems))[:_MAX_PROBLEMS]
        return ToolFailure(
            ErrorCode.INVALID_INPUT,
            "; ".join(text for _, text in problems[:_MAX_PROBLEMS]) + ". " + _FIX,
            details={"field": fields[0], "fields": fields},
        )

    def _unknown(self, unknown: list[str]) -> ToolFailure:
        """INVALID_INPUT for arguments the tool does not take, each with the closest one it does."""
        import difflib

        parts = []
        reasons = NOT_TAKEN.get(self.tool, {})
        for key in unknown[:_MAX_PROBLEMS]:
            if key in reasons:
                parts.append(f"{self.tool} does not take `{key}`: {reasons[key]}")
                continue
            ours = [name for name in THEIR_NAMES.get(key, ()) if name in self.accepted]
            close = ours or difflib.get_close_matches(key.lower(), self.accepted, n=1, cutoff=0.4)
            parts.append(f"`{key}` is not an argument of {self.tool}" + (f"; did you mean `{close[0]}`?" if close else ""))
        listed = f"{self.tool} takes: {', '.join(self.accepted) or 'no arguments'}."
        message = " ".join(part if part.endswith("?") else part + "." for part in parts) + " " + listed
        fields = unknown[:_MAX_PROBLEMS]
        return ToolFailure(ErrorCode.INVALID_INPUT, message, details={"field": fields[0], "fields": fields, "accepted": list(self.accepted)})


def _walk(node: Node, value: Any, path: str, problems: list[tuple[str, str]]) -> None:
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            problems.append((path, f"{path}: {_show(value)} is not a finite number; use {node.hint or 'a finite JSON number'}"))
    elif kind is str:
        if node.no_str:
            problems.append((path, f"{path}: {_show(value)} is a string, not a number; use {node.hint or 'a finite JSON number'}"))
    elif kind is bool:
        if node.no_bool:
            problems.append((path, f"{path}: {_show(value)} is a boolean, not a number; use {node.hint or 'a finite JSON number'}"))
    elif kind is dict or kind is list:
        if node.free or node.types is None or ("object" if kind is dict else "array") not in node.types:
            if not _finite(value):  # free-form, or not what the schema takes (validation refuses it)
                _walk_free(value, path, problems)
        elif kind is dict:
            props, extra = node.props, node.extra
            for key, member in value.items():
                _walk(props.get(key, extra), member, f"{path}.{key}", problems)
        else:
            items = node.items
            for i, member in enumerate(value):
                _walk(items, member, f"{path}[{i}]", problems)


def _walk_free(value: Any, path: str, problems: list[tuple[str, str]]) -> None:
    """Name the non-finite floats in free-form JSON (walked only once `_finite` found one)."""
    members = [(f"{path}.{k}", v) for k, v in value.items()] if type(value) is dict else [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    for sub, member in members:
        if type(member) is float and not math.isfinite(member):
            problems.append((sub, f"{sub}: {_show(member)} is not a finite number; use a finite JSON number"))
        elif type(member) in (dict, list):
            _walk_free(member, sub, problems)
