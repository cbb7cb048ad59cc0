"""The media tools' domain logic: analysis of images, audio, video and documents through chat; image,
speech and video generation; and video jobs that outlive a call (kept in storage, resumable by any
server process). Knows nothing of MCP: the tools in `tools/media.py` wrap these functions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import os
import time
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import ErrorCode, ToolFailure, invalid
from ..upstream import ChatResult
from ..upstream.types import cost_from_wire
from . import media_output
from .chat import base_body, run_chat
from .checks import model_id as check_model_id
from .checks import whole
from .media_formats import BY_NAME, SNIFF_BYTES, Format, Medium, sniff
from .media_input import MediaInput, load, with_data
from .media_tokens import media_prompt_tokens
from .pricing import estimate_chat_usd
from .tokens import MEDIA_PART_TOKENS, estimate_text_tokens

if TYPE_CHECKING:
    from ..app import App
    from .catalog import ModelInfo

log = logging.getLogger("openrouter_mcp.media")

Report = Callable[[float, str, float | None], Awaitable[None]]

DEFAULT_QUESTIONS: dict[Medium, str] = {
    "image": "Describe this image in detail, including any text in it.",
    "audio": "Transcribe this audio verbatim.",
    "video": "Describe what happens in this video.",
    "document": "Summarize this document.",
}
PDF_ENGINES = ("native", "cloudflare-ai", "mistral-ocr")
IMAGE_SIZES = ("512", "768", "1K", "1.5K", "2K", "4K")
VIDEO_RESOLUTIONS = ("360p", "480p", "720p", "768p", "1080p", "1K", "2K", "4K")
VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21")
SPEECH_FORMATS = ("mp3", "wav", "pcm")
CHAT_AUDIO_FORMATS = ("wav", "mp3", "flac", "opus", "pcm")
VIDEO_NAMESPACE = "video_jobs"
# When a video model states no per-request price, budgets assume this much.
VIDEO_ESTIMATE_USD = Decimal("5")
POLL_FAILURES_TOLERATED = 3


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
                f"model: {info.id} does not {what}. Pick a model that does (search_models can filter by modality).",
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
    from .media_images import downscale

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


# ---------- analysis ----------


@dataclass(slots=True)
class Analysis:
    result: ChatResult
    source: dict[str, Any]


async def analyze(
    app: App,
    *,
    tool: str,
    medium: Medium,
    field: str,
    source: str,
    question: str | None,
    model: str | None,
    pdf_engine: str | None = None,
    max_dimension: int | None = None,
    report: Report = _no_report,
) -> Analysis:
    """Ask a model about one image, audio clip, video or document. Small files travel inside an ordinary
    request; larger ones are streamed from disk (never held in memory whole)."""
    if pdf_engine is not None and pdf_engine not in PDF_ENGINES:
        raise invalid("pdf_engine", f"{pdf_engine!r} is not an engine", f"Use one of {', '.join(PDF_ENGINES)}")
    # The source is checked first: a refused path or URL costs no request at all.
    if medium == "image":
        inp, note = await load_image(app, source, field, max_dimension)
    else:
        inp, note = await load(source, medium, app.settings, field=field), None
    info = await pick_model(app, tool, model, needs_input=None if medium == "document" else medium)
    text = (question or "").strip() or DEFAULT_QUESTIONS[medium]
    body = base_body(info.id, app.settings)
    if pdf_engine is not None:
        body["plugins"] = [{"id": "file-parser", "pdf": {"engine": pdf_engine}}]
    streamed = inp.url is None and (inp.size or 0) > app.settings.media.inline_upload_max_bytes
    sent_as = "url" if inp.url is not None else "streamed" if streamed else "inline"
    described = {"kind": inp.kind, "format": inp.format.name if inp.format else None, "size_bytes": inp.size, "sent_as": sent_as, "note": note}

    # A long recording or a thick document counts for what it is in the budget checks, not as one image.
    extra = await asyncio.to_thread(media_prompt_tokens, inp) - MEDIA_PART_TOKENS

    async def on_token(count: int, _text: str) -> None:
        await report(count, "the model is answering", None)

    if not streamed:
        body["messages"] = [{"role": "user", "content": [{"type": "text", "text": text}, content_part(inp, await _payload(inp))]}]
        return Analysis(await run_chat(app, body, tool=tool, on_progress=on_token, extra_prompt_tokens=extra), described)

    from ..upstream.upload import StreamedBody

    body["messages"] = [{"role": "user", "content": [{"type": "text", "text": text}, content_part(inp, StreamedBody.MARK)]}]

    async def on_upload(sent: int, total: int) -> None:
        await report(sent / max(total, 1) * 100, f"uploading {sent / 1e6:.0f} of {total / 1e6:.0f} MB", 100)

    upload = StreamedBody({**body, "stream": True}, inp.blob(), on_progress=on_upload)
    return Analysis(await run_chat(app, body, tool=tool, on_progress=on_token, upload=upload, extra_prompt_tokens=extra), described)


# ---------- saved outputs ----------


def saved_dict(saved: media_output.SavedFile) -> dict[str, Any]:
    return {"path": str(saved.path), "uri": saved.uri, "mime_type": saved.mime, "size_bytes": saved.size_bytes, "format": saved.format}


# ---------- images ----------


def _check_ratio(field_name: str, value: str) -> str:
    w, colon, h = value.partition(":")
    try:
        ok = bool(colon) and float(w) > 0 and float(h) > 0
    except ValueError:
        ok = False
    if not ok:
        raise invalid(field_name, f"{value!r} is not an aspect ratio", "Use width:height, e.g. 16:9, 1:1 or 9:16")
    return value


@dataclass(slots=True)
class GeneratedImages:
    model: str
    files: list[media_output.SavedFile]
    results: list[ChatResult]
    errors: list[str]
    preview: tuple[bytes, str] | None


async def generate_images(
    app: App,
    *,
    prompt: str,
    model: str | None,
    aspect_ratio: str | None,
    image_size: str | None,
    n: int,
    input_images: list[str] | None,
    seed: int | None,
    save_path: str | None,
    max_cost_usd: float | None,
    report: Report = _no_report,
) -> GeneratedImages:
    """`n` variants in parallel, each a separate paid call (the worst case of all of them is checked
    against max_cost_usd before any is sent); images are saved under the output folder."""
    if not prompt.strip():
        raise invalid("prompt", "is empty", "Describe the image to generate")
    whole("n", n, 1, 8)
    if image_size is not None and image_size not in IMAGE_SIZES:
        raise invalid("image_size", f"{image_size!r} is not a size", f"Use one of {', '.join(IMAGE_SIZES)}")
    media_output.check_save_path(save_path, app.settings)
    parts: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    for i, source in enumerate(input_images or []):
        inp, _ = await load_image(app, source, f"input_images[{i}]")
        parts.append(content_part(inp, await _payload(inp)))
    info = await pick_model(app, "generate_image", model, needs_output=("image",))
    body = base_body(info.id, app.settings)
    body["messages"] = [{"role": "user", "content": parts if len(parts) > 1 else prompt}]
    body["modalities"] = ["image", "text"] if "text" in info.output_modalities else ["image"]
    image_config = {}
    if aspect_ratio is not None:
        image_config["aspect_ratio"] = _check_ratio("aspect_ratio", aspect_ratio)
    if image_size is not None:
        image_config["image_size"] = image_size
    if image_config:
        body["image_config"] = image_config
    if seed is not None:
        body["seed"] = seed
    estimate = await estimate_chat_usd(app, body)
    app.ledger.check_call_cap(estimate * n, max_cost_usd)
    await report(0, f"generating {n} image{'s' if n > 1 else ''}", n)
    done = 0

    async def one() -> ChatResult:
        nonlocal done
        result = await run_chat(app, body, tool="generate_image")
        done += 1
        await report(done, f"{done} of {n} generated", n)
        return result

    outcomes = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    results = [o for o in outcomes if isinstance(o, ChatResult)]
    failures = [o for o in outcomes if isinstance(o, ToolFailure)]
    if other := [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, ToolFailure)]:
        raise other[0]
    if not results:
        raise failures[0]
    files: list[media_output.SavedFile] = []
    preview: tuple[bytes, str] | None = None
    index = 0
    for result in results:
        for image in result.images:
            url = ((image.get("image_url") or {}).get("url")) if isinstance(image, dict) else None
            if not isinstance(url, str):
                continue
            try:
                # A data URL as OpenRouter sends them, or a link to fetch (through the same guard as any URL).
                got = await load(url, "image", app.settings, field="image", need_bytes=True)
            except ToolFailure as failure:
                raise ToolFailure(
                    ErrorCode.UPSTREAM_ERROR, f"{info.id} returned an image that could not be used: {failure.message}", generation_id=result.generation_id
                ) from None
            assert got.data is not None and got.format is not None
            data, fmt = got.data, got.format
            index += 1
            numbered = index if n > 1 or len(result.images) > 1 else None
            saved = await asyncio.to_thread(media_output.write, app.settings, data, medium="image", fmt=fmt, save_path=save_path, prompt=prompt, index=numbered)
            files.append(saved)
            if preview is None:
                from .media_images import preview as make_preview

                preview = await asyncio.to_thread(make_preview, data, fmt, app.settings.media.preview_max_bytes)
    if not files:
        raise ToolFailure(
            ErrorCode.UPSTREAM_ERROR,
            f"{info.id} answered without an image{': ' + results[0].content[:300] if results[0].content else ''}. Rephrase the prompt or try another image model.",
            retryable=True,
            generation_id=results[0].generation_id,
        )
    return GeneratedImages(model=info.id, files=files, results=results, errors=[f.message for f in failures], preview=preview)


# ---------- audio ----------


def pcm_to_wav(pcm: bytes, *, rate: int = 24_000, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def _pcm_params(content_type: str) -> tuple[int, int]:
    """Sample rate and channels from `audio/pcm;rate=24000;channels=1` (24 kHz mono when unstated)."""
    rate, channels = 24_000, 1
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if value.isdigit() and key.lower() == "rate":
            rate = int(value)
        elif value.isdigit() and key.lower() == "channels":
            channels = int(value)
    return rate, channels


def audio_file(data: bytes, *, raw_pcm: bool, content_type: str = "") -> tuple[bytes, Format]:
    """The bytes to save and their format, read from the bytes: raw PCM (no header) becomes a WAV file."""
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt is not None and fmt.medium == "audio":
        return data, fmt
    if raw_pcm or content_type.startswith(("audio/pcm", "audio/l16")):
        rate, channels = _pcm_params(content_type)
        return pcm_to_wav(data, rate=rate, channels=channels), BY_NAME["wav"]
    raise ToolFailure(ErrorCode.UPSTREAM_ERROR, "The model returned audio in a format that could not be recognised.", retryable=True)


@dataclass(slots=True)
class GeneratedAudio:
    model: str
    file: media_output.SavedFile
    generation_id: str | None
    cost_usd: Decimal | None
    transcript: str | None
    result: ChatResult | None


async def generate_audio(
    app: App, *, prompt: str, model: str | None, voice: str | None, audio_format: str | None, save_path: str | None, report: Report = _no_report
) -> GeneratedAudio:
    """Speech from text: text-to-speech models through `/audio/speech`, audio-capable chat models
    through chat with audio output. The saved file's format is read from the bytes."""
    if not prompt.strip():
        raise invalid("prompt", "is empty", "Write the text to speak")
    media_output.check_save_path(save_path, app.settings)
    info = await pick_model(app, "generate_audio", model, needs_output=("speech", "audio"))
    voices = [str(v) for v in info.raw.get("supported_voices") or []]
    if voice is not None and voices and voice not in voices:
        raise invalid("voice", f"{voice!r} is not a voice of {info.id}", f"Use one of {', '.join(voices)}")
    chosen_voice = voice or (voices[0] if voices else "alloy")
    await report(0, "generating speech", None)
    if "speech" in info.output_modalities:
        fmt = audio_format or "mp3"
        if fmt not in SPEECH_FORMATS:
            raise invalid("format", f"{fmt!r} is not a speech format", f"Use one of {', '.join(SPEECH_FORMATS)}")
        return await _speech(app, info, prompt, chosen_voice, fmt, save_path)
    fmt = audio_format or "wav"
    if fmt not in CHAT_AUDIO_FORMATS:
        raise invalid("format", f"{fmt!r} is not an audio format for {info.id}", f"Use one of {', '.join(CHAT_AUDIO_FORMATS)}")
    body = base_body(info.id, app.settings)
    body["messages"] = [{"role": "user", "content": prompt}]
    body["modalities"] = ["text", "audio"]
    # Streamed audio comes as 16-bit PCM; it is saved as WAV.
    body["audio"] = {"voice": chosen_voice, "format": "pcm16" if fmt in ("wav", "pcm") else fmt}
    result = await run_chat(app, body, tool="generate_audio")
    if not result.audio_data:
        raise ToolFailure(
            ErrorCode.UPSTREAM_ERROR, f"{info.id} answered without audio. Try again or pick another model.", retryable=True, generation_id=result.generation_id
        )
    data, file_fmt = audio_file(base64.b64decode("".join(result.audio_data)), raw_pcm=body["audio"]["format"] == "pcm16")
    saved = await asyncio.to_thread(media_output.write, app.settings, data, medium="audio", fmt=file_fmt, save_path=save_path, prompt=prompt)
    return GeneratedAudio(info.id, saved, result.generation_id, result.cost_usd, result.audio_transcript or None, result)


async def _speech(app: App, info: ModelInfo, prompt: str, voice: str, fmt: str, save_path: str | None) -> GeneratedAudio:
    from ..upstream import account
    from ..upstream import media as upstream_media

    body: dict[str, Any] = {"model": info.id, "input": prompt, "voice": voice, "response_format": "mp3" if fmt == "mp3" else "pcm"}
    if (data_collection := app.settings.provider_defaults.get("data_collection")) is not None:
        body["provider"] = {"data_collection": data_collection}
    estimate = estimate_text_tokens(prompt) * (info.prompt_price or Decimal(0)) + (info.request_price or Decimal(0))
    async with app.ledger.paid_call(tool="generate_audio", model=info.id, estimate_usd=estimate) as call:
        speech = await upstream_media.speech(app.gateway, body, max_bytes=app.settings.media.max_audio_bytes)
        if speech.generation_id:
            call.started(speech.generation_id)
        cost: Decimal | None = None
        if speech.generation_id:
            # The speech response carries no cost; the generation record usually has it at once.
            with contextlib.suppress(ToolFailure):
                cost = cost_from_wire((await account.generation(app.gateway, speech.generation_id)).get("total_cost")) or Decimal(0)
        call.succeeded(model_used=info.id, provider=None, generation_id=speech.generation_id, cost_usd=cost)
    data, file_fmt = audio_file(speech.data, raw_pcm=body["response_format"] == "pcm", content_type=speech.content_type)
    saved = await asyncio.to_thread(media_output.write, app.settings, data, medium="audio", fmt=file_fmt, save_path=save_path, prompt=prompt)
    return GeneratedAudio(info.id, saved, speech.generation_id, cost, None, None)


# ---------- video ----------


@dataclass(slots=True)
class VideoOutcome:
    video_id: str
    model: str | None
    status: str
    files: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: Decimal | None = None
    generation_id: str | None = None


async def _frame(app: App, source: str, field_name: str) -> str:
    """An image for a video request as a URL: passed through, or a data URL of a checked local file."""
    inp, _ = await load_image(app, source, field_name)
    return _reference(inp, await _payload(inp))


async def submit_video(
    app: App,
    *,
    prompt: str,
    model: str | None,
    duration: int | None,
    resolution: str | None,
    aspect_ratio: str | None,
    first_frame_image: str | None,
    last_frame_image: str | None,
    reference_images: list[str] | None,
    save_path: str | None,
    seed: int | None,
    generate_audio: bool | None,
    max_cost_usd: float | None,
) -> str:
    """Check everything, then `POST /videos` exactly once and record the job in storage at once (so any
    server process can resume it). Returns the video id."""
    if not prompt.strip() and first_frame_image is None:
        raise invalid("prompt", "is empty", "Describe the video to generate")
    if duration is not None:
        whole("duration", duration, 1, 60)
    if resolution is not None and resolution not in VIDEO_RESOLUTIONS:
        raise invalid("resolution", f"{resolution!r} is not a resolution", f"Use one of {', '.join(VIDEO_RESOLUTIONS)}")
    if aspect_ratio is not None and aspect_ratio not in VIDEO_ASPECT_RATIOS:
        raise invalid("aspect_ratio", f"{aspect_ratio!r} is not a video aspect ratio", f"Use one of {', '.join(VIDEO_ASPECT_RATIOS)}")
    media_output.check_save_path(save_path, app.settings)
    frames = []
    for kind, source in (("first_frame", first_frame_image), ("last_frame", last_frame_image)):
        if source is not None:
            frames.append({"type": "image_url", "image_url": {"url": await _frame(app, source, f"{kind}_image")}, "frame_type": kind})
    references = [{"type": "image_url", "image_url": {"url": await _frame(app, s, f"reference_images[{i}]")}} for i, s in enumerate(reference_images or [])]
    info = await pick_model(app, "generate_video", model, needs_output=("video",))
    body: dict[str, Any] = {"model": info.id, "prompt": prompt}
    for key, value in (("duration", duration), ("resolution", resolution), ("aspect_ratio", aspect_ratio), ("seed", seed), ("generate_audio", generate_audio)):
        if value is not None:
            body[key] = value
    if frames:
        body["frame_images"] = frames
    if references:
        body["input_references"] = references
    from ..upstream import media as upstream_media

    estimate = info.request_price if info.request_price is not None else VIDEO_ESTIMATE_USD
    storage = await app.storage()
    async with app.ledger.paid_call(tool="generate_video", model=info.id, estimate_usd=estimate, max_cost_usd=max_cost_usd) as call:
        status = await upstream_media.submit_video(app.gateway, body)
        call.started(status.id)
        record = {
            "video_id": status.id,
            "model": info.id,
            "prompt": prompt[:500],
            "call_id": call.call_id,
            "save_path": save_path,
            "status": status.status,
            "submitted_at": time.time(),
        }
        await storage.kv_put(VIDEO_NAMESPACE, status.id, record)
        # The cost is known when the job completes; until then the ledger counts the estimate.
        call.succeeded(model_used=info.id, provider=None, generation_id=status.id, cost_usd=None)
    return status.id


async def follow_video(app: App, video_id: str, *, save_path: str | None, wait_seconds: float, report: Report = _no_report) -> VideoOutcome:
    """Poll a video job until it completes (then download it into the output folder), fails, or
    `wait_seconds` pass (JOB_PENDING: call again later). Never re-submits the job."""
    from ..upstream import media as upstream_media

    if not video_id or not all(c.isascii() and (c.isalnum() or c in "-_") for c in video_id):
        raise invalid("video_id", f"{video_id[:100]!r} is not a video id", "Pass the video_id generate_video returned (gen-vid-...)")
    storage = await app.storage()
    record = await storage.kv_get(VIDEO_NAMESPACE, video_id) or {"video_id": video_id}
    if record.get("status") == "completed" and record.get("files"):
        return _outcome(record)
    interval = app.settings.media.video_poll_interval_s
    started = time.monotonic()
    deadline = started + wait_seconds
    failures = 0
    while True:
        try:
            status = await upstream_media.get_video(app.gateway, video_id)
            failures = 0
        except ToolFailure as failure:
            if failure.code in (ErrorCode.INVALID_INPUT, ErrorCode.AUTH):
                raise
            failures += 1
            if failures >= POLL_FAILURES_TOLERATED:
                raise ToolFailure(
                    failure.code,
                    f"Checking video job {video_id} failed {failures} times in a row ({failure.message}). The job was submitted once and is "
                    "not sent again; call get_video_status with this video_id to pick it up.",
                    retryable=True,
                    retry_after_s=max(interval, 5.0),
                    details={"video_id": video_id},
                ) from None
            await asyncio.sleep(interval)
            continue
        if status.status != record.get("status"):
            record = {**record, "status": status.status, "generation_id": status.generation_id}
            await storage.kv_put(VIDEO_NAMESPACE, video_id, record)
        elapsed = time.monotonic() - started
        if status.status in upstream_media.VIDEO_DONE:
            await report(elapsed, "downloading the video", None)
            return await _finish_video(app, record, status, save_path if save_path is not None else record.get("save_path"))
        if status.status in upstream_media.VIDEO_FAILED:
            record = {**record, "error": status.error}
            await storage.kv_put(VIDEO_NAMESPACE, video_id, record)
            raise ToolFailure(
                ErrorCode.JOB_FAILED,
                f"Video job {video_id} ended as {status.status}: {status.error or 'no reason given'}. Change the prompt or model and run generate_video again.",
                retryable=False,
                details={"video_id": video_id, "status": status.status},
            )
        if time.monotonic() >= deadline:
            raise ToolFailure(
                ErrorCode.JOB_PENDING,
                f"Video job {video_id} is {status.status.replace('_', ' ')} after {elapsed:.0f} s. Call get_video_status with video_id={video_id} "
                "to check again and save the video when it is done.",
                retry_after_s=max(interval, 5.0),
                details={"video_id": video_id, "status": status.status},
            )
        await report(elapsed, f"video {status.status.replace('_', ' ')}", None)
        await asyncio.sleep(max(0.0, min(interval, deadline - time.monotonic())))


async def _finish_video(app: App, record: dict[str, Any], status: Any, save_path: str | None) -> VideoOutcome:
    from ..upstream import media as upstream_media

    settings = app.settings
    video_id = record["video_id"]
    folder = media_output.folder(settings, "video")
    files = []
    for index in range(max(1, status.outputs)):
        partial = folder / f".{video_id}-{index}.partial"
        try:
            with open(partial, "wb") as sink:
                content_type = await upstream_media.download_video(app.gateway, video_id, sink, max_bytes=settings.media.max_saved_video_bytes, index=index)
            with open(partial, "rb") as f:
                fmt = sniff(f.read(SNIFF_BYTES))
            if fmt is None or fmt.medium != "video":
                fmt = BY_NAME["webm"] if (content_type or "").startswith("video/webm") else BY_NAME["mp4"]
            target = media_output.target_path(
                settings,
                medium="video",
                fmt=fmt,
                save_path=save_path,
                prompt=str(record.get("prompt", "video")),
                index=index + 1 if status.outputs > 1 else None,
            )
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        files.append(saved_dict(media_output.describe(target, settings, fmt)))
    record = {**record, "status": "completed", "files": files, "generation_id": status.generation_id}
    if status.cost_usd is not None:
        record["cost_usd"] = str(status.cost_usd)
        if call_id := record.get("call_id"):
            storage = await app.storage()
            await app.ledger.flush()  # the row of the submit may still be queued in this process
            with contextlib.suppress(KeyError):  # a job this server's database never recorded
                await storage.set_cost(call_id, status.cost_usd, source="video")
    await (await app.storage()).kv_put(VIDEO_NAMESPACE, video_id, record)
    return _outcome(record)


def _outcome(record: dict[str, Any]) -> VideoOutcome:
    cost = record.get("cost_usd")
    return VideoOutcome(
        video_id=record["video_id"],
        model=record.get("model"),
        status=record.get("status", "unknown"),
        files=list(record.get("files") or []),
        cost_usd=Decimal(cost) if cost is not None else None,
        generation_id=record.get("generation_id"),
    )
