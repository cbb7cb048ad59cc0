"""Account-level reads (`GET /key`, `GET /credits`, `GET /generation`), checked against the official
SDK's response types so a change in OpenRouter's shapes shows up as a clear error, not a wrong figure."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from ..errors import ErrorCode, ToolFailure
from .gateway import Gateway
from .types import cost_from_wire

log = logging.getLogger("openrouter_mcp.upstream")


def _checked(payload: Any, type_path: str) -> dict[str, Any]:
    """The `data` object of a response, validated with the SDK model at `type_path` (module.Class)."""
    import importlib

    from pydantic import ValidationError

    module_name, _, class_name = type_path.rpartition(".")
    model = getattr(importlib.import_module(f"openrouter.{module_name}"), class_name)
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        # Still usable: report what we got, and note the drift for whoever reads the log.
        log.warning("OpenRouter's %s response differs from the SDK's type: %s", class_name, exc.errors()[:3])
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ToolFailure(ErrorCode.UPSTREAM_ERROR, f"OpenRouter's {class_name} response has no data object.", retryable=True)
    return data


async def key_info(gateway: Gateway) -> dict[str, Any]:
    return _checked(await gateway.get_json("key"), "operations.GetCurrentKeyResponse")


async def credits(gateway: Gateway) -> dict[str, Any] | None:
    """Total credits and usage, or None when this key may not read them (only management keys may)."""
    try:
        payload = await gateway.get_json("credits")
    except ToolFailure as failure:
        if (failure.details or {}).get("upstream_status") in (401, 403):
            return None
        raise
    return _checked(payload, "operations.GetCreditsResponse")


def no_generation(generation_id: str) -> ToolFailure:
    """The answer for a generation id OpenRouter does not know (and, on the team server, for another user's)."""
    return ToolFailure(
        ErrorCode.INVALID_INPUT,
        f"generation_id: OpenRouter has no generation {generation_id!r}. Stats appear a few seconds after a call "
        "ends; check the id (it starts with gen-) and try again shortly.",
        retryable=True,
        details={"field": "generation_id"},
    )


async def generation(gateway: Gateway, generation_id: str) -> dict[str, Any]:
    try:
        payload = await gateway.get_json("generation", {"id": generation_id})
    except ToolFailure as failure:
        if (failure.details or {}).get("upstream_status") == 404:
            raise no_generation(generation_id) from None
        raise
    return _checked(payload, "components.GenerationResponse")


async def generation_cost(gateway: Gateway, generation_id: str) -> Decimal | None:
    """What OpenRouter billed for a generation, from its record; None while the record has no cost yet."""
    return cost_from_wire((await generation(gateway, generation_id)).get("total_cost"))
