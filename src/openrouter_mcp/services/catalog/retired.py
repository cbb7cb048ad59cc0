"""Model ids OpenRouter has retired, each with the current model its users moved to.

`/models` lists only what is live, so a retired id is simply absent: nothing in the data says what
replaced it, and no rule on the id can tell (gpt-3.5-turbo-0301's users went to gpt-4o-mini although
gpt-3.5-turbo is still listed). This editorial table answers for the ids people still paste from old
code; for any other missing id, `catalog.suggestions` falls back to spelling and family. A successor that
has itself left the catalog is followed to its own successor, or skipped.
"""

from __future__ import annotations

from collections.abc import Container

SUCCESSORS: dict[str, str] = {
    # OpenAI
    "openai/gpt-4-32k": "openai/gpt-4o",
    "openai/gpt-4-32k-0314": "openai/gpt-4o",
    "openai/gpt-4-0314": "openai/gpt-4o",
    "openai/gpt-4-vision-preview": "openai/gpt-4o",
    "openai/gpt-4-1106-preview": "openai/gpt-4o",
    "openai/gpt-3.5-turbo-0301": "openai/gpt-4o-mini",
    "openai/gpt-3.5-turbo-0613": "openai/gpt-4o-mini",
    "openai/gpt-3.5-turbo-16k": "openai/gpt-4o-mini",
    # Anthropic
    "anthropic/claude-1": "anthropic/claude-sonnet-4.5",
    "anthropic/claude-2": "anthropic/claude-sonnet-4.5",
    "anthropic/claude-2.0": "anthropic/claude-sonnet-4.5",
    "anthropic/claude-2.1": "anthropic/claude-sonnet-4.5",
    "anthropic/claude-instant-1": "anthropic/claude-haiku-4.5",
    "anthropic/claude-instant-1.2": "anthropic/claude-haiku-4.5",
    "anthropic/claude-3-opus": "anthropic/claude-opus-4.5",
    "anthropic/claude-3-sonnet": "anthropic/claude-sonnet-4.5",
    "anthropic/claude-3.5-sonnet": "anthropic/claude-sonnet-4.5",
    # Google
    "google/gemini-pro": "google/gemini-2.5-pro",
    "google/gemini-pro-1.5": "google/gemini-2.5-pro",
    "google/gemini-pro-vision": "google/gemini-2.5-flash",
    "google/gemini-flash-1.5": "google/gemini-2.5-flash",
    "google/palm-2-chat-bison": "google/gemini-2.5-flash",
    "google/palm-2-codechat-bison": "google/gemini-2.5-flash",
    # Meta
    "meta-llama/llama-2-70b-chat": "meta-llama/llama-3.3-70b-instruct",
    "meta-llama/llama-2-13b-chat": "meta-llama/llama-3.1-8b-instruct",
    # Others
    "mistralai/mistral-medium": "mistralai/mistral-medium-3.1",
    "mistralai/mistral-tiny": "mistralai/mistral-small-3.2-24b-instruct",
    "cohere/command": "cohere/command-a",
    "deepseek/deepseek-coder": "deepseek/deepseek-v3.2",
}


def successor(model_id: str, live: Container[str]) -> str | None:
    """The current model that replaced a retired id, or None when the id is not a known retirement or
    no successor of it is live any more."""
    seen: set[str] = set()
    current = SUCCESSORS.get(model_id)
    while current is not None and current not in seen:
        if current in live:
            return current
        seen.add(current)
        current = SUCCESSORS.get(current)
    return None
