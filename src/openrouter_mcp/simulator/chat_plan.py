"""What a chat completion will answer, decided before any byte is sent: its content or tool calls,
reasoning, citations, finish reason and token counts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import quiz
from .media import ChatMedia
from .replies import citations, json_reply, message_text, reasoning_signature, reasoning_text, reply_text, stable_int, token_logprobs, tool_arguments

_EFFORT_WORDS = {"minimal": 8, "low": 16, "medium": 32, "high": 64, "xhigh": 96}


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    chars = 0
    for m in messages:
        content = m.get("content")
        chars += len(message_text(content)) + 8
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "input_audio", "file", "video_url"):
                    chars += 1000  # a media part costs tokens whatever its size here
    return max(1, math.ceil(chars / 4))


@dataclass
class Plan:
    prompt_tokens: int
    content: str | None
    reasoning: str | None
    exclude_reasoning: bool
    tool_calls: list[dict[str, Any]]
    annotations: list[dict[str, Any]]
    finish_reason: str
    completion_tokens: int
    reasoning_tokens: int
    media_out: ChatMedia | None = None
    top_logprobs: int | None = None  # set when logprobs were asked for and the provider returns them
    cache_hit: bool = False  # replayed from the response cache: nothing is billed

    def logprobs(self, model_id: str, text: str) -> dict[str, Any] | None:
        """A choice's `logprobs` for this piece of the content (None when not asked for)."""
        if self.top_logprobs is None:
            return None
        return {"content": token_logprobs(model_id, text, self.top_logprobs), "refusal": None}

    def reasoning_details(self, text: str, *, last: bool) -> list[dict[str, Any]]:
        """The `reasoning_details` of a piece of the reasoning; the last piece carries the signature of the
        whole, as a provider signs its thinking block when it ends."""
        signature = reasoning_signature(self.reasoning or "") if last else None
        return [{"type": "reasoning.text", "text": text, "signature": signature, "format": "unknown", "index": 0}]

    def stream_pieces(self) -> list[tuple[str, str, int]]:
        """(field, text, tokens) pieces in stream order: reasoning first, then content, 4 words a piece."""
        out: list[tuple[str, str, int]] = []
        for field_name, text in (("reasoning", self.reasoning), ("content", self.content)):
            if not text:
                continue
            words = text.split(" ")
            for i in range(0, len(words), 4):
                group = words[i : i + 4]
                piece = " ".join(group) + (" " if i + 4 < len(words) else "")
                out.append((field_name, piece, len(group)))
        return out


def make_plan(model_id: str, model: dict[str, Any], body: dict[str, Any], messages: list[dict[str, Any]], kind: str, max_tokens: int | None) -> Plan:
    params = set(model.get("supported_parameters") or [])
    reasoning_cfg = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else None
    thinks = "reasoning" in params and (
        (reasoning_cfg is not None and reasoning_cfg.get("enabled", True) is not False and reasoning_cfg.get("effort") != "none")
        or model_id.endswith(":thinking")
        or "deepseek-r1" in model_id
        or kind == "reasoning-length"
    )
    reasoning = None
    reasoning_tokens = 0
    if thinks:
        words = _EFFORT_WORDS.get(str((reasoning_cfg or {}).get("effort", "medium")), 32)
        if reasoning_cfg and isinstance(reasoning_cfg.get("max_tokens"), int):
            words = max(1, min(words, reasoning_cfg["max_tokens"]))
        if kind == "reasoning-length":
            words = max_tokens or 64
        reasoning = reasoning_text(model_id, messages, words)
        reasoning_tokens = len(reasoning.split(" "))

    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    function_tools = [t for t in tools if t.get("type") == "function"]
    web = (
        any(t.get("type") == "openrouter:web_search" for t in tools)
        or any(isinstance(p, dict) and p.get("id") == "web" for p in body.get("plugins") or [])
        or model_id.endswith(":online")
    )
    choice = body.get("tool_choice", "auto")
    last_role = messages[-1].get("role")
    tool_calls: list[dict[str, Any]] = []
    if function_tools and choice != "none" and last_role != "tool":
        chosen = function_tools[0]
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            chosen = next((t for t in function_tools if (t.get("function") or {}).get("name") == wanted), chosen)
        name = (chosen.get("function") or {}).get("name", "tool")
        tool_calls = [
            {"id": f"call_{stable_int(model_id, name) % 10**12:012d}", "type": "function", "function": {"name": name, "arguments": tool_arguments(chosen)}}
        ]

    content: str | None
    fmt = body.get("response_format") if isinstance(body.get("response_format"), dict) else None
    if tool_calls:
        content = None
    elif quiz.handles(model_id):
        content = quiz.reply(model_id, body)
    elif fmt and fmt.get("type") in ("json_schema", "json_object"):
        content = json_reply(fmt, violate=kind == "schema-violation")
    else:
        content = reply_text(model_id, messages)
    annotations: list[dict[str, Any]] = []
    if web and content and not fmt:
        content += " Sources: [1] [2] [3]"
        annotations = citations(message_text(messages[-1].get("content")), content)

    completion_tokens = len(content.split(" ")) if content else sum(len(c["function"]["arguments"]) // 4 + 1 for c in tool_calls)
    finish = "tool_calls" if tool_calls else "stop"
    if kind == "reasoning-length":
        content, completion_tokens, finish, annotations = "", 0, "length", []
    elif max_tokens is not None and content and not fmt and completion_tokens + reasoning_tokens > max_tokens:
        keep = max(0, max_tokens - reasoning_tokens)
        content = " ".join(content.split(" ")[:keep])
        completion_tokens, finish = keep, "length"
    return Plan(
        prompt_tokens=_prompt_tokens(messages),
        content=content,
        reasoning=reasoning,
        exclude_reasoning=bool((reasoning_cfg or {}).get("exclude")),
        tool_calls=tool_calls,
        annotations=annotations,
        finish_reason=finish,
        completion_tokens=completion_tokens,
        reasoning_tokens=reasoning_tokens,
    )
