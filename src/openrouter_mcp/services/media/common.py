"""What the media tasks share: the model for a task (checked against the medium), a checked source as a
chat content part (images downscaled when needed), the progress callback and a saved file's description."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ...errors import ErrorCode, ToolFailure
from ..checks import model_id as check_model_id
from .inputs import MediaInput, load, with_data
from .output import SavedFile

if TYPE_CHECKING:
    from ...app import App
    from ..catalog.entries import ModelInfo

log = logging.getLogger("openrouter_mcp.media")

Report = Callable[[float, str, float | None], Awaitable[None]]


async def _no_report(value: float, message: str, total: float | None) -> None:
    return None


# ---------- models ----------


def _accepts(info: ModelInfo, needs_input: str | None, needs_output: tuple[str, ...]) -> bool:
    if needs_input is not None and needs_input not in info.input_modalities:
        return False
    return not needs_output or any(m in info.output_modalities for m in needs_output)


async def pick_model(app: App, task: str, requested: str | None, *, needs_input: str | None = None, needs_output: tuple[str, ...] = ()) -> ModelInfo:
    """The model for a media task: the caller's (checked against the catalog and the medium), or the
    configured default, or, when that default does not fit, the cheapest catalog model that does."""
    what = f"accept {needs_input} input" if needs_input else f"produce {' or '.join(needs_output)}"
    if requested is not None:
        info = await app.catalog.require(check_model_id("model", requested))
        if not _accepts(info, needs_input, needs_output):
            fitting = [m.id for m in await app.catalog.models() if _accepts(m, needs_input, needs_output) and not m.id.endswith(":free")][:5]
            raise ToolFailure(
                ErrorCode.INVALID_INPUT,
                f"model: {info.id} does not {what}. Pick a model that does"
                + (f", such as {', '.join(fitting)}" if fitting else "")
                + " (search_models can filter by modality).",
                suggestions=fitting,
                details={"field": "model"},
            )
        return info
    default = app.settings.media.models[task]
    configured = await app.catalog.get(default)
    if configured is not None and _accepts(configured, needs_input, needs_output):
        return configured
    candidates = sorted(
        (m for m in await app.catalog.models() if _accepts(m, needs_input, needs_output) and not m.is_router),
        key=lambda m: (m.prompt_price or 0, m.request_price or 0, m.id),
    )
    if not candidates:
        raise ToolFailure(ErrorCode.INVALID_INPUT, f"model: no model in the catalog can {what}; pass one in model.", details={"field": "model"})
    log.warning("default model %s for %s does not %s; using %s", default, task, what, candidates[0].id)
    return candidates[0]


# ---------- inputs ----------


async def _payload(inp: MediaInput) -> str:
    """A checked source's bytes as base64 for a request body; empty for a URL, which is passed as it is."""
    return "" if inp.url is not None else base64.b64encode(await asyncio.to_thread(inp.read)).decode()


def _reference(inp: MediaInput, payload: str) -> str:
    """The source's URL, or a data URL of its payload."""
    return inp.url if inp.url is not None else f"data:{inp.mime};base64,{payload}"


def content_part(inp: MediaInput, payload: str) -> dict[str, Any]:
    """The chat content part for a checked source; `payload` is its base64 (or the upload mark)."""
    ref = _reference(inp, payload)
    if inp.medium == "image":
        return {"type": "image_url", "image_url": {"url": ref}}
    if inp.medium == "video":
        return {"type": "video_url", "video_url": {"url": ref}}
    if inp.medium == "document":
        return {"type": "file", "file": {"filename": inp.filename, "file_data": ref}}
    assert inp.format is not None
    return {"type": "input_audio", "input_audio": {"data": payload, "format": inp.format.name}}


async def prepare_image(app: App, inp: MediaInput, max_dimension: int | None) -> tuple[MediaInput, str | None]:
    """Send an image as it is unless it is over the provider's side limit or the caller's
    `max_dimension`; returns the image to send and, when it was downscaled, a note saying so."""
    if inp.kind == "url":
        return inp, None
    from .images import downscale

    limit = min(app.settings.media.max_image_side_px, max_dimension or app.settings.media.max_image_side_px)
    data = await asyncio.to_thread(inp.read)
    assert inp.format is not None
    scaled = await asyncio.to_thread(downscale, data, inp.format, limit, inp.field)
    if scaled is None:
        return (inp if inp.data is not None else with_data(inp, data, inp.format)), None
    new_data, fmt = scaled
    return with_data(inp, new_data, fmt), f"downscaled to fit {limit} px as {fmt.name.upper()}"


async def load_image(app: App, source: str, field: str, max_dimension: int | None = None) -> tuple[MediaInput, str | None]:
    inp = await load(source, "image", app.settings, field=field, need_bytes=max_dimension is not None)
    return await prepare_image(app, inp, max_dimension)


# ---------- saved outputs ----------


def saved_dict(saved: SavedFile) -> dict[str, Any]:
    out = {"path": str(saved.path), "uri": saved.uri, "mime_type": saved.mime, "size_bytes": saved.size_bytes, "format": saved.format}
    return out if saved.note is None else {**out, "note": saved.note}
