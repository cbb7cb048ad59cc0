"""MCP resources and completions: the model catalog (`openrouter://models`, one template per model), the
caller's recent usage (`openrouter://usage`), the caller's saved media and reports in `resources/list`,
model ids completed for every model argument of the prompts and resource templates, and the 2026-07-28
caching hints (`ttlMs`, `cacheScope`) of each. What is the same for every caller (the catalog, the
lists of prompts and templates) may be cached by a shared cache (`public`); what is one caller's (usage,
saved files, the resource list that shows them) only by that caller (`private`). Followed: the MCP
specification 2026-07-28, "Resources", "Completion" and "Caching" (SEP-2549)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, Completion, PromptReference, ResourceTemplateReference
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .core.identity import CURRENT_USER, user_of_request
from .core.protocol_errors import resource_failure
from .errors import ToolFailure

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

    from .app import App

CATALOG_URI = "openrouter://models"
MODEL_TEMPLATE = "openrouter://models/{+model_id}"
USAGE_URI = "openrouter://usage"
# The arguments, of prompts and resource templates alike, that name models (`models`: a comma list).
MODEL_ARGUMENTS = frozenset({"model", "models", "model_id", "current_model", "baseline_model"})


def cache_hint(method: str, uri: str | None, catalog_ttl_s: float) -> tuple[int, str] | None:
    """(ttlMs, cacheScope) for a result, or None to leave the SDK's default (0, private)."""
    if method in ("prompts/list", "resources/templates/list"):
        return 3_600_000, "public"  # fixed for the life of the server
    if method == "resources/list":
        return 0, "private"  # lists the caller's own files, which change with every save
    if method == "resources/read" and uri is not None:
        if uri == CATALOG_URI or uri.startswith(CATALOG_URI + "/"):
            return int(catalog_ttl_s * 1000), "public"
        if uri.startswith(("media://output/", "bench://output/")):
            return 300_000, "private"  # a saved file; re-exporting a report rewrites it
        return 0, "private"  # usage, and anything else that is one caller's
    return None


def complete_models(typed: str, ids: list[str], total: int, *, listed: bool) -> Completion:
    """The completion values for one model argument; in a comma list, the last id is completed and the
    ids before it are kept."""
    if listed and "," in typed:
        head = typed.rpartition(",")[0] + ","
        ids = [head + i for i in ids]
    return Completion(values=ids, total=total, has_more=total > len(ids))


def register(server: MCPServer[Any], app: App) -> None:
    from .services.catalog import catalog_state, pricing_of, require_usable, resolve, variants_for
    from .services.catalog.search import compact_row

    @server.resource(
        CATALOG_URI, name="models", title="OpenRouter models", description="Every model: id, prices, context, modalities", mime_type="application/json"
    )
    async def models() -> str:
        index, snap = await app.catalog.index()
        return json.dumps({**catalog_state(snap), "count": len(index.rows), "models": index.rows}, separators=(",", ":"))

    @server.resource(MODEL_TEMPLATE, name="model", title="One OpenRouter model", description="One model in full", mime_type="application/json")
    async def model(model_id: str) -> str:
        try:
            res, snap = await resolve(app.catalog, model_id)
            info = require_usable(res)
        except ToolFailure as failure:
            raise resource_failure(failure) from None  # a model id that is not in the catalog: not found, with the closest ids
        out = {
            **catalog_state(snap),
            **compact_row(info),
            "description": info.description,
            "max_completion_tokens": info.max_completion_tokens,
            "pricing": pricing_of(info),
            "supported_parameters": sorted(info.supported_parameters),
            "variants": variants_for(info, snap),
        }
        return json.dumps(out, separators=(",", ":"))

    @server.resource(USAGE_URI, name="usage", title="My recent usage", description="Your spend over the last 30 days", mime_type="application/json")
    async def usage() -> str:
        from .core.identity import current_user
        from .services.usage import date_range, usage_stats

        await app.ledger.flush()
        span = date_range(None, None)
        stats = await usage_stats(await app.storage(), span, user=current_user().name)
        return json.dumps({"user": current_user().name, "start_date": str(span.start), "end_date": str(span.end), **stats}, default=str)

    @server.completion()  # type: ignore[untyped-decorator,no-untyped-call]  # the SDK leaves this decorator unannotated
    async def complete(ref: PromptReference | ResourceTemplateReference, argument: Any, context: Any) -> Completion | None:
        # Each prompt and template completes its own model arguments; a name the server does not have is invalid params.
        if isinstance(ref, PromptReference):
            # The managers themselves: prompts/list's and resources/templates/list's whole answers are not built for every keystroke.
            found = server._prompt_manager.get_prompt(ref.name)
            if found is None:
                raise MCPError(INVALID_PARAMS, f"Unknown prompt: {ref.name[:200]!r}; list the prompts (prompts/list) to see what this server offers.")
            names = {a.name for a in found.arguments or []}
        else:
            if all(t.uri_template != ref.uri for t in server._resource_manager.list_templates()):
                raise MCPError(INVALID_PARAMS, f"Unknown resource template: {ref.uri[:200]!r}; list them with resources/templates/list.")
            names = {argument.name}
        if argument.name not in MODEL_ARGUMENTS or argument.name not in names:
            return None
        from .services.catalog.complete import complete_model_id

        listed = argument.name == "models"
        typed = argument.value.rpartition(",")[2] if listed else argument.value
        index, snap = await app.catalog.index()
        ids, total = complete_model_id(index, snap, typed)
        return complete_models(argument.value, ids, total, listed=listed)

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "resources/list":
            # The caller's own files are listed: who the caller is, as the HTTP edge authenticated them.
            CURRENT_USER.set(user_of_request(ctx))
        result = await call_next(ctx)
        if not isinstance(result, dict):
            return result
        if ctx.method == "resources/list":
            from .services.listing import saved_files

            result = {**result, "resources": [*result.get("resources", []), *(_listed(f) for f in await saved_files(app))]}
        uri = (ctx.params or {}).get("uri") if ctx.method == "resources/read" else None
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and (hint := cache_hint(ctx.method, uri, app.settings.catalog_ttl_s)) is not None:
            result = {**result, "ttlMs": hint[0], "cacheScope": hint[1]}
        return result

    server.middleware.append(middleware)


def _listed(f: Any) -> dict[str, Any]:
    return {"uri": f.uri, "name": f.name, "mimeType": f.mime_type, "size": f.size_bytes}
