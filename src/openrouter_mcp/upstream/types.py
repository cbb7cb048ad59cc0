"""Plain result types the gateway hands to the rest of the code (importing them loads no HTTP library)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def cost_from_wire(value: Any) -> Decimal | None:
    """A USD amount as OpenRouter sends it (a JSON number), exactly: the repr of a float keeps the digits
    that were sent, where Decimal(float) would add binary noise."""
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


ProgressFn = Callable[[int, str], Awaitable[None]]
StartFn = Callable[[str], None]


@dataclass(slots=True)
class ChatResult:
    """What one chat completion produced, parsed from the stream."""

    generation_id: str | None = None
    model: str | None = None
    provider: str | None = None
    content: str = ""
    reasoning: str | None = None
    reasoning_details: list[dict[str, Any]] = field(default_factory=list)  # as sent, to go back in a later turn
    logprobs: list[dict[str, Any]] = field(default_factory=list)  # one per output token, as sent
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    audio_data: list[str] = field(default_factory=list)  # base64 pieces of spoken output, in order
    audio_transcript: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: Decimal | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    attempts: int = 1
    cache_status: str | None = None  # X-OpenRouter-Cache-Status: HIT or MISS when response caching was asked for
