"""The seed servers' documented example calls and result shapes, as the compat tests replay and check them:
physics91's API reference (shared/seeds/000: its "Example Request" blocks and its "Examples" section) and
stabgan's chat_completion input schema (shared/seeds/001)."""

from __future__ import annotations

from typing import Any

# physics91's own tools: (what the document calls the example, tool, arguments), verbatim.
PHYSICS91_EXAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "chat_with_model: Example Request",
        "chat_with_model",
        {
            "model": "openai/gpt-4",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant that explains complex topics simply."},
                {"role": "user", "content": "Explain quantum computing in simple terms."},
            ],
            "temperature": 0.7,
            "max_tokens": 500,
        },
    ),
    ("list_available_models: Example Request", "list_available_models", {"filter_by": "gpt"}),
    ("get_usage_stats: Example Request", "get_usage_stats", {"start_date": "2024-01-01", "end_date": "2024-01-31"}),
    (
        "Examples: Complete Chat Conversation",
        "chat_with_model",
        {
            "model": "anthropic/claude-3-sonnet",
            "messages": [
                {"role": "system", "content": "You are a helpful coding assistant. Provide clear, concise answers."},
                {"role": "user", "content": "How do I implement a binary search in Python?"},
            ],
            "temperature": 0.3,
            "max_tokens": 1000,
        },
    ),
    ("Examples: Model Comparison", "list_available_models", {"filter_by": "claude"}),
    ("Examples: Cost Tracking", "get_usage_stats", {"start_date": "2024-01-01", "end_date": "2024-01-31"}),
    (
        "Examples: Streaming Chat",
        "chat_with_model",
        {
            "model": "openai/gpt-4",
            "messages": [{"role": "user", "content": "Write a short story about a robot learning to paint."}],
            "stream": True,
            "temperature": 0.8,
        },
    ),
]

# stabgan's chat_completion, every argument its input schema documents (provider routing included), with
# values from its descriptions.
STABGAN_CHAT: dict[str, Any] = {
    "model": "openai/gpt-4o:nitro",
    "messages": [{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": "What is a binary search?"}],
    "temperature": 0.5,
    "max_tokens": 200,
    "provider": {"ignore": ["azure"], "sort": "price", "order": ["openai"], "require_parameters": False, "data_collection": "deny", "allow_fallbacks": True},
}


def completion_shape(out: dict[str, Any]) -> list[str]:
    """What differs from physics91's documented chat_with_model response (non-streaming) in `out`."""
    wrong = []
    if not (isinstance(out.get("id"), str) and out["object"] == "chat.completion" and isinstance(out["created"], int) and isinstance(out["model"], str)):
        wrong.append(f"head {out.get('id')} {out.get('object')} {out.get('created')} {out.get('model')}")
    choice = out["choices"][0]
    if not (
        choice["index"] == 0
        and choice["message"]["role"] == "assistant"
        and isinstance(choice["message"]["content"], str)
        and choice["finish_reason"] == "stop"
    ):
        wrong.append(f"choice {choice}")
    usage = out["usage"]
    if usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"] or usage["completion_tokens"] <= 0:
        wrong.append(f"usage {usage}")
    if not (isinstance(out["cost_usd"], float) and out["cost_usd"] > 0):
        wrong.append(f"cost_usd {out['cost_usd']}")
    return wrong


def model_record_shape(record: dict[str, Any]) -> list[str]:
    """What `record` lacks of physics91's documented list_available_models entry."""
    wrong = [key for key in ("id", "name", "description", "context_length", "top_provider") if key not in record]
    if not {"prompt", "completion"} <= set(record.get("pricing") or {}):
        wrong.append("pricing")
    if not {"modality", "tokenizer", "instruct_type"} <= set(record.get("architecture") or {}):
        wrong.append("architecture")
    return wrong


def usage_stats_shape(out: dict[str, Any]) -> list[str]:
    """What differs from physics91's documented get_usage_stats response."""
    wrong = []
    summary = out["summary"]
    if not {"total_cost", "total_tokens", "total_requests"} <= set(summary) or set(summary["date_range"]) != {"start", "end"}:
        wrong.append(f"summary {summary}")
    for day in out["data"]:
        if not {"date", "total_cost", "total_tokens", "requests", "models"} <= set(day):
            wrong.append(f"day {day}")
        for model in day.get("models", []):
            if not {"model", "requests", "cost", "tokens"} <= set(model):
                wrong.append(f"model {model}")
    return wrong
