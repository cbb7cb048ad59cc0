"""The simulator's account endpoints: `GET /api/v1/generation` (one billed generation), `GET /api/v1/key`
(the key's usage, limit and free-model quota) and `GET /api/v1/credits` (management keys only)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .responses import error
from .state import FREE_TIER_MARK, MANAGEMENT_KEY_PREFIX, Generation, Simulator, free_daily_limit


class AccountRoutes:
    """`GET /generation`, `GET /key` and `GET /credits`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def generation(self, request: Request) -> Response:
        self.sim.state.log(request)
        if not self.sim._authorized(request):
            return error(401, "No auth credentials found")
        gen = self.sim.state.generations.get(request.query_params.get("id", ""))
        if gen is None:
            return error(404, "Generation not found")
        return JSONResponse({"data": _generation_wire(gen)})

    async def key(self, request: Request) -> Response:
        self.sim.state.log(request)
        key = self.sim._authorized(request)
        if not key:
            return error(401, "No auth credentials found")
        usage = float(self.sim.state.usage_usd)
        limit = self.sim.state.key_limit_usd
        data = _key_wire(key, usage, limit)
        free_limit = free_daily_limit(key)
        free_used = self.sim.state.free_requests[key]
        data["free_model_daily_requests"] = {"limit": free_limit, "remaining": max(0, free_limit - free_used), "used": free_used, "resets_at": None}
        data["is_free_tier"] = FREE_TIER_MARK in key
        return JSONResponse({"data": data})

    async def credits(self, request: Request) -> Response:
        self.sim.state.log(request)
        key = self.sim._authorized(request)
        if not key:
            return error(401, "No auth credentials found")
        if not key.startswith(MANAGEMENT_KEY_PREFIX):
            return error(403, "Only management keys can fetch credits")
        return JSONResponse({"data": {"total_credits": 100.0, "total_usage": float(self.sim.state.usage_usd)}})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _generation_wire(gen: Generation) -> dict[str, Any]:
    return {
        "id": gen.id,
        "api_type": "completions",
        "app_id": None,
        "cache_discount": None,
        "cancelled": gen.cancelled,
        "created_at": _iso(gen.created_at),
        "data_region": "global",
        "external_user": None,
        "finish_reason": gen.finish_reason,
        "generation_time": round(gen.generation_ms),
        "http_referer": None,
        "is_byok": False,
        "latency": round(gen.latency_ms),
        "model": gen.model,
        "moderation_latency": None,
        "native_finish_reason": gen.finish_reason,
        "native_tokens_cached": gen.cached_tokens,
        "native_tokens_completion": gen.completion_tokens,
        "native_tokens_completion_images": 0,
        "native_tokens_prompt": gen.prompt_tokens,
        "native_tokens_reasoning": gen.reasoning_tokens,
        "num_fetches": 0,
        "num_input_audio_prompt": 0,
        "num_media_completion": 0,
        "num_media_prompt": 0,
        "num_search_results": gen.search_results,
        "origin": "",
        "preset_id": None,
        "provider_name": gen.provider,
        "provider_responses": None,
        "router": None,
        "service_tier": None,
        "streamed": gen.streamed,
        "tokens_completion": gen.completion_tokens,
        "tokens_prompt": gen.prompt_tokens,
        "total_cost": float(gen.cost),
        "upstream_id": None,
        "upstream_inference_cost": float(gen.cost),
        "usage": float(gen.cost),
        "user_agent": None,
        "web_search_engine": "exa" if gen.search_results else None,
        "workspace_id": None,
    }


def _key_wire(key: str, usage: float, limit: Decimal | None) -> dict[str, Any]:
    return {
        "label": f"sk-or-...{key[-4:]}",
        "allowed_data_regions": [],
        "budgets": [],
        "byok_usage": 0.0,
        "byok_usage_daily": 0.0,
        "byok_usage_monthly": 0.0,
        "byok_usage_weekly": 0.0,
        "creator_user_id": None,
        "effective_budget": None,
        "free_model_daily_requests": {"limit": 1000, "remaining": 1000, "used": 0, "resets_at": None},
        "include_byok_in_limit": False,
        "is_free_tier": False,
        "is_management_key": key.startswith(MANAGEMENT_KEY_PREFIX),
        "is_provisioning_key": False,
        "limit": None if limit is None else float(limit),
        "limit_remaining": None if limit is None else max(0.0, float(limit) - usage),
        "limit_reset": None,
        "organization_id": None,
        "rate_limit": {"interval": "10s", "note": "deprecated", "requests": -1},
        "usage": usage,
        "usage_daily": usage,
        "usage_monthly": usage,
        "usage_weekly": usage,
        "workspace_id": None,
        "expires_at": None,
    }
