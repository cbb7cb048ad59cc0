"""The simulator's catalog endpoints: `GET /api/v1/models` (filtered and paged) and
`GET /api/v1/models/{author}/{slug}/endpoints`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import catalog, quiz
from .responses import error
from .state import Simulator


class CatalogRoutes:
    """`GET /models` and `GET /models/{author}/{slug}/endpoints`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def list_models(self, request: Request) -> Response:
        self.sim.state.log(request)
        wanted = request.query_params.get("output_modalities", "text")
        params = request.query_params.get("supported_parameters")
        models = self.sim._models
        if wanted != "all":
            want = {w.strip() for w in wanted.split(",")}
            models = [m for m in models if want & set(m["architecture"]["output_modalities"])]
        if params:
            need = {p.strip() for p in params.split(",")}
            models = [m for m in models if need <= set(m.get("supported_parameters") or [])]
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
            limit = min(1000, max(1, int(request.query_params.get("limit", "1000"))))
        except ValueError:
            return error(400, "offset and limit must be whole numbers")
        page = models[offset : offset + limit]
        more = offset + limit < len(models)
        query = "&".join(f"{k}={v}" for k, v in request.query_params.items() if k not in ("offset", "limit"))
        next_link = f"/api/v1/models?{query + '&' if query else ''}offset={offset + limit}&limit={limit}" if more else None
        return JSONResponse({"data": page, "links": {"next": next_link}, "total_count": len(models)})

    async def endpoints(self, request: Request) -> Response:
        model_id = f"{request.path_params['author']}/{request.path_params['slug']}"
        self.sim.state.log(request, model=model_id)
        data = catalog.endpoints_for(model_id)
        if data is None and quiz.handles(model_id) and model_id in self.sim._by_id:
            data = quiz.endpoints_for(self.sim._by_id[model_id], (catalog.endpoints_for("openai/gpt-4o-mini") or {})["endpoints"][0])
        if data is None:
            return error(404, f"No endpoints found for {model_id}.")
        return JSONResponse({"data": data})
