"""Image generation through chat and speech generation (text-to-speech or chat with audio output),
the results saved under the output folder."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import wave
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...errors import ErrorCode, ToolFailure, invalid
from ...upstream import ChatResult
from ...upstream.types import cost_from_wire
from .. import files as saved_files
from ..chat import base_body, run_chat
from ..checks import whole
from ..pricing import estimate_chat_usd
from ..tokens import estimate_text_tokens
from .common import Report, _no_report, _payload, content_part, load_image, pick_model
from .formats import BY_NAME, SNIFF_BYTES, Format, Medium, sniff
from .inputs import load
from .output import SavedFile, billed_text, check_save_path, write

if TYPE_CHECKING:
    from ...app import App
    from ..catalog.entries import ModelInfo

IMAGE_SIZES = ("512", "768", "1K", "1.5K", "2K", "4K")
SPEECH_FORMATS = ("mp3", "wav", "pcm")
CHAT_AUDIO_FORMATS = ("wav", "mp3", "flac", "opus", "pcm")


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
    files: list[SavedFile]
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
    check_save_path(save_path, app.settings, medium="image", count=n)
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
    # The n calls are checked, and asked about, as one: the person is asked once, not once per image.
    await app.ledger.check_run(estimate * n, max_cost_usd, subject="This call" if n == 1 else f"These {n} images", model=info.id)
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
    files: list[SavedFile] = []
    unsaved: list[ToolFailure] = []
    preview: tuple[bytes, str] | None = None
    index = 0
    for result in results:
        for image in result.images:
            if (got := await _image_bytes(app, image, info.id, result)) is None:
                continue
            data, fmt = got
            index += 1
            numbered = index if n > 1 or len(result.images) > 1 else None
            billed = billed_text(result.cost_usd, result.generation_id)
            try:
                saved = await asyncio.to_thread(
                    write, app.settings, data, medium="image", fmt=fmt, save_path=save_path, prompt=prompt, index=numbered, billed=billed
                )
            except ToolFailure as failure:  # not even a fallback name: the error says where the bytes are
                unsaved.append(failure)
                continue
            files.append(await saved_files.claim(app, saved))
            if preview is None:
                from .images import preview as make_preview

                preview = await asyncio.to_thread(make_preview, data, fmt, app.settings.media.preview_max_bytes)
    if unsaved and not files:
        raise unsaved[0] if len(unsaved) == 1 else ToolFailure(unsaved[0].code, " ".join(f.message for f in unsaved), retryable=False)
    if not files:
        raise ToolFailure(
            ErrorCode.UPSTREAM_ERROR,
            f"{info.id} answered without an image{': ' + results[0].content[:300] if results[0].content else ''}. Rephrase the prompt or try another image model.",
            retryable=True,
            generation_id=results[0].generation_id,
        )
    return GeneratedImages(model=info.id, files=files, results=results, errors=[f.message for f in (*failures, *unsaved)], preview=preview)


async def _image_bytes(app: App, image: Any, model: str, result: ChatResult) -> tuple[bytes, Format] | None:
    """The bytes of an image a chat reply carried (None for an entry without a URL)."""
    url = ((image.get("image_url") or {}).get("url")) if isinstance(image, dict) else None
    if not isinstance(url, str):
        return None
    try:
        # A data URL as OpenRouter sends them, or a link to fetch (through the same guard as any URL).
        got = await load(url, "image", app.settings, field="image", need_bytes=True)
    except ToolFailure as failure:
        message = f"{model} returned an image that could not be used: {failure.message}"
        raise ToolFailure(ErrorCode.UPSTREAM_ERROR, message, generation_id=result.generation_id) from None
    assert got.data is not None and got.format is not None
    return got.data, got.format


async def save_chat_media(app: App, result: ChatResult, *, prompt: str, raw_pcm: bool) -> list[SavedFile]:
    """The images and the spoken answer a chat reply carried (chat_completion's `modalities`), saved under
    the output folder as generate_image and generate_audio save theirs; `raw_pcm` when the audio was asked
    for as pcm16 (saved as WAV)."""
    found: list[tuple[bytes, Format, Medium]] = []
    for image in result.images:
        if (got := await _image_bytes(app, image, result.model or "the model", result)) is not None:
            found.append((*got, "image"))
    if result.audio_data:
        found.append((*audio_file(base64.b64decode("".join(result.audio_data)), raw_pcm=raw_pcm), "audio"))
    billed = billed_text(result.cost_usd, result.generation_id)
    files = []
    for i, (data, fmt, medium) in enumerate(found, 1):
        index = i if len(found) > 1 else None
        saved = await asyncio.to_thread(write, app.settings, data, medium=medium, fmt=fmt, save_path=None, prompt=prompt, index=index, billed=billed)
        files.append(await saved_files.claim(app, saved))
    return files


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
    file: SavedFile
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
    check_save_path(save_path, app.settings, medium="audio")
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
    billed = billed_text(result.cost_usd, result.generation_id)
    saved = await saved_files.claim(
        app, await asyncio.to_thread(write, app.settings, data, medium="audio", fmt=file_fmt, save_path=save_path, prompt=prompt, billed=billed)
    )
    return GeneratedAudio(info.id, saved, result.generation_id, result.cost_usd, result.audio_transcript or None, result)


async def _speech(app: App, info: ModelInfo, prompt: str, voice: str, fmt: str, save_path: str | None) -> GeneratedAudio:
    from ...upstream import account
    from ...upstream import media as upstream_media

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
    billed = billed_text(cost, speech.generation_id)
    saved = await saved_files.claim(
        app, await asyncio.to_thread(write, app.settings, data, medium="audio", fmt=file_fmt, save_path=save_path, prompt=prompt, billed=billed)
    )
    return GeneratedAudio(info.id, saved, speech.generation_id, cost, None, None)
