"""Worst-case cost estimates from catalog prices, made before a paid call starts so a budget can refuse
it. Prices are USD per token (Decimal); an estimate errs high, never low."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .tokens import estimate_prompt_tokens

if TYPE_CHECKING:
    from ..app import App

# When a model states no completion cap, assume this many output tokens at most.
DEFAULT_COMPLETION_CAP = 16_384
WEB_RESULTS_ASSUMED = 5


async def estimate_chat_usd(app: App, body: dict[str, Any], *, extra_prompt_tokens: int = 0) -> Decimal:
    """The most a chat request could cost: the dearest of its candidate models, with the prompt as
    counted (plus `extra_prompt_tokens`, what a long media part adds over the usual allowance) and the
    completion at max_tokens or max_completion_tokens (or the model's maximum)."""
    catalog = app.catalog
    prompt_tokens = estimate_prompt_tokens(body.get("messages") or []) + extra_prompt_tokens
    web = any(isinstance(t, dict) and t.get("type") == "openrouter:web_search" for t in body.get("tools") or [])
    worst = Decimal(0)
    for model_id in [body.get("model"), *(body.get("models") or [])]:
        if not isinstance(model_id, str):
            continue
        info = await catalog.get(model_id)
        if info is None:
            continue
        prompt_price, completion_price = await catalog.worst_prices(info)
        completion_cap = (
            body.get("max_tokens")
            or body.get("max_completion_tokens")
            or info.max_completion_tokens
            or min(DEFAULT_COMPLETION_CAP, info.context_length or DEFAULT_COMPLETION_CAP)
        )
        cost = prompt_tokens * prompt_price + int(completion_cap) * completion_price + (info.request_price or 0)
        if web or model_id.endswith(":online"):
            cost += WEB_RESULTS_ASSUMED * (info.web_search_price or Decimal("0.004"))
        worst = max(worst, cost)
    return worst
