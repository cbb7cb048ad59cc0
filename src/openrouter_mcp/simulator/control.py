"""The simulator's own endpoints under `/_sim/`, which OpenRouter does not have: the request log, the
billed generations, and a reset (which can also set the key's spending limit)."""

from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import Simulator


class ControlRoutes:
    """`GET /_sim/requests`, `GET /_sim/generations` and `POST /_sim/reset`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def requests_log(self, request: Request) -> Response:
        with self.sim.state.lock:
            return JSONResponse({"data": list(self.sim.state.requests), "usage_usd": str(self.sim.state.usage_usd)})

    async def generations_log(self, request: Request) -> Response:
        with self.sim.state.lock:
            gens = [
                {"id": g.id, "model": g.model, "cost": str(g.cost), "cancelled": g.cancelled, "finish_reason": g.finish_reason}
                for g in self.sim.state.generations.values()
            ]
            return JSONResponse({"data": gens, "usage_usd": str(self.sim.state.usage_usd)})

    async def reset(self, request: Request) -> Response:
        body = await request.json() if (await request.body()) else {}
        with self.sim.state.lock:
            self.sim.state.requests.clear()
            self.sim.state.seen_bodies.clear()
            if "key_limit_usd" in body:
                limit = body["key_limit_usd"]
                self.sim.state.key_limit_usd = None if limit is None else Decimal(str(limit))
        return JSONResponse({"ok": True})
