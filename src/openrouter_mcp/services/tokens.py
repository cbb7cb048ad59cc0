"""Token counts estimated from text, for budgets: deliberately generous (they bound a cost from above)."""

from __future__ import annotations

import math
from typing import Any

# A media part's tokens depend on the provider; this bounds common cases (an image tile, a short clip).
MEDIA_PART_TOKENS = 1_600
PER_MESSAGE_TOKENS = 8


def estimate_text_tokens(text: str) -> int:
    # Most tokenizers give about 4 characters a token for English; 3 covers code and other languages.
    return math.ceil(len(text) / 3)


def estimate_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    total = 0
    for m in messages:
        total += PER_MESSAGE_TOKENS
        content = m.get("content")
        if isinstance(content, str):
            total += estimate_text_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text":
                    total += estimate_text_tokens(str(part.get("text", "")))
                else:
                    total += MEDIA_PART_TOKENS
        for call in m.get("tool_calls") or ():
            total += estimate_text_tokens(str(call))
    return total
