"""The simulator's media: image output through chat (`modalities`, real PNG or JPEG bytes in
`images`), spoken output (streamed `delta.audio`, and `POST /audio/speech`), video jobs (`POST /videos`
answered 202, a status that moves pending -> in_progress -> completed, `GET /videos/{id}` and its
`/content`), and a request-body reader that keeps huge uploads out of memory and the request log: every
JSON string over 64 KiB is replaced by a summary (size, SHA-256 of the decoded base64) as it streams in.

Video fault models: `sim/video-poll-error` (the first 3 status reads answer 500), `sim/video-fail` (the
job fails), `sim/video-slow` (the job takes 60 s)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .replies import message_text, stable_int

if TYPE_CHECKING:
    from .server import Simulator

COMPACT_MIN_CHARS = 64 * 1024
SAMPLE_RATE = 24_000
VIDEO_FAULTS = {
    "sim/video-poll-error": "A video job whose first 3 status reads answer 500 (the job itself goes on).",
    "sim/video-fail": "A video job that ends with status failed.",
    "sim/video-slow": "A video job that takes 60 s.",
}
POLL_ERRORS = 3
_TOKENS_PER_IMAGE = 1290
_AUDIO_TOKENS_PER_S = 50


# ---------- request bodies ----------


@dataclass
class _Blob:
    prefix: bytearray
    chars: int = 0
    carry: bytes = b""
    decoded: int = 0
    valid: bool = True
    digest: Any = field(default_factory=hashlib.sha256)

    def feed(self, piece: bytes) -> None:
        self.chars += len(piece)
        if not self.valid:
            return
        data = self.carry + piece
        cut = len(data) - len(data) % 4
        self.carry = data[cut:]
        try:
            raw = binascii.a2b_base64(data[:cut], strict_mode=True) if cut else b""
        except binascii.Error:
            self.valid = False
            return
        self.decoded += len(raw)
        self.digest.update(raw)

    def summary(self) -> dict[str, Any]:
        if self.carry:
            self.valid = False
        return {
            "prefix": self.prefix.decode("utf-8", "replace"),
            "base64_chars": self.chars,
            "bytes": self.decoded if self.valid else None,
            "sha256": self.digest.hexdigest() if self.valid else None,
        }


class BodyReader:
    """Reads a JSON body chunk by chunk, copying it except for long string values, which are hashed
    and replaced by `<prefix><sim-blob N bytes sha256=...>`. Linear in the body's size, with `bytes.find`
    doing the scanning."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.blobs: list[dict[str, Any]] = []
        self.size = 0
        self._in_string = False
        self._escape = False
        self._buf = bytearray()
        self._blob: _Blob | None = None

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        i, n = 0, len(chunk)
        while i < n:
            if not self._in_string:
                j = chunk.find(b'"', i)
                if j < 0:
                    self.out += chunk[i:]
                    return
                self.out += chunk[i : j + 1]
                self._in_string, self._buf, self._blob = True, bytearray(), None
                i = j + 1
                continue
            if self._escape:
                self._escape = False
                self._take(b"/" if chunk[i : i + 1] == b"/" and self._blob is not None else b"\\" + chunk[i : i + 1])
                i += 1
                continue
            q = chunk.find(b'"', i)
            b = chunk.find(b"\\", i)
            k = min(x for x in (q, b) if x >= 0) if max(q, b) >= 0 else -1
            if k < 0:
                self._take(chunk[i:])
                return
            self._take(chunk[i:k])
            if chunk[k] == 0x5C:  # backslash: the escaped character may be in the next chunk
                self._escape = True
                i = k + 1
                continue
            self._end_string()
            i = k + 1

    def _take(self, piece: bytes) -> None:
        if self._blob is not None:
            self._blob.feed(piece)
            return
        self._buf += piece
        if len(self._buf) > COMPACT_MIN_CHARS:
            comma = self._buf.find(b",") if self._buf.startswith(b"data:") else -1
            self._blob = _Blob(prefix=self._buf[: comma + 1])
            self._blob.feed(bytes(self._buf[comma + 1 :]))
            self._buf = bytearray()

    def _end_string(self) -> None:
        self._in_string = False
        if self._blob is None:
            self.out += self._buf + b'"'
            return
        summary = self._blob.summary()
        self.blobs.append(summary)
        self.out += self._blob.prefix + f"<sim-blob {summary['bytes']} bytes sha256={summary['sha256']}>".encode() + b'"'


async def read_body(request: Request) -> tuple[bytes, list[dict[str, Any]]]:
    """The request body with long strings summarised, and the summaries (for the request log)."""
    reader = BodyReader()
    async for chunk in request.stream():
        reader.feed(chunk)
    return bytes(reader.out), reader.blobs


# ---------- generated bytes ----------


def png_bytes(width: int, height: int, seed: int) -> bytes:
    """A valid RGB PNG: a vertical gradient under deterministic noise (so it does not compress to nothing)."""
    noise = hashlib.shake_256(seed.to_bytes(8, "big")).digest(width * height * 3)
    rows = bytearray()
    for y in range(height):
        base = 32 + y * 160 // max(1, height - 1)
        rows.append(0)
        rows += noise[y * width * 3 : (y + 1) * width * 3].translate(bytes((b & 0x3F) + base for b in range(256)))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 1)) + chunk(b"IEND", b"")


def jpeg_bytes(width: int, height: int, seed: int) -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (width, height), hashlib.shake_256(seed.to_bytes(8, "big")).digest(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _dimensions(image_config: dict[str, Any]) -> tuple[int, int]:
    side = {"1K": 256, "2K": 512, "4K": 1024}.get(str(image_config.get("image_size", "1K")).upper(), 256)
    ratio = str(image_config.get("aspect_ratio", "1:1"))
    w_s, _, h_s = ratio.partition(":")
    try:
        w, h = float(w_s), float(h_s)
    except ValueError:
        w, h = 1.0, 1.0
    if w >= h:
        return side, max(16, round(side * h / w))
    return max(16, round(side * w / h)), side


def pcm_tone(seconds: float, seed: int) -> bytes:
    """16-bit mono PCM at 24 kHz: a soft tone whose pitch depends on the seed."""
    freq = 220 + seed % 440
    count = int(seconds * SAMPLE_RATE)
    return b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * freq * i / SAMPLE_RATE))) for i in range(count))


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + b"data" + struct.pack("<I", len(pcm)) + pcm


def mp3_bytes(seconds: float) -> bytes:
    """MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz) of silence: a stream any decoder accepts."""
    frame = b"\xff\xfb\x90\x64" + bytes(413)
    return frame * max(1, int(seconds * 44_100 / 1152))


def mp4_bytes(seed: int, seconds: int) -> bytes:
    """An ISO base-media file (`ftyp`, `free`, `mdat` boxes) standing in for an encoded clip."""
    payload = hashlib.shake_256(seed.to_bytes(8, "big")).digest(16_384 * max(1, seconds))

    def box(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", 8 + len(data)) + kind + data

    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"free", b"") + box(b"mdat", payload)


# ---------- chat output ----------


@dataclass
class ChatMedia:
    """What a chat reply adds when the request asked for image or audio output."""

    images: list[dict[str, Any]] = field(default_factory=list)
    audio: list[dict[str, Any]] = field(default_factory=list)
    cost: Decimal = Decimal(0)


def _price(model: dict[str, Any], key: str) -> Decimal:
    value = Decimal(str((model.get("pricing") or {}).get(key) or "0"))
    return max(value, Decimal(0))


def chat_outputs(model_id: str, model: dict[str, Any], body: dict[str, Any]) -> ChatMedia | Response:
    """The images or audio a chat request asked for with `modalities`, or the error OpenRouter gives."""
    from .server import _error

    wanted = [m for m in body.get("modalities") or [] if isinstance(m, str)]
    outputs = set(model["architecture"]["output_modalities"])
    media = ChatMedia()
    if not wanted or wanted == ["text"]:
        return media
    if not set(wanted) <= outputs | {"text"}:
        return _error(404, f"No endpoints found that support the requested output modalities: {', '.join(wanted)}")
    prompt = " ".join(message_text(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict))
    seed = stable_int(model_id, prompt, str(body["seed"])) if body.get("seed") is not None else uuid.uuid4().int & (2**63 - 1)
    if "image" in wanted:
        config = body.get("image_config")
        width, height = _dimensions(config if isinstance(config, dict) else {})
        if model_id.startswith("openai/"):
            url = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(width, height, seed)).decode()
        else:
            url = "data:image/png;base64," + base64.b64encode(png_bytes(width, height, seed)).decode()
        media.images.append({"type": "image_url", "image_url": {"url": url}})
        media.cost += _price(model, "request") or _price(model, "image_output") * _TOKENS_PER_IMAGE
    if "audio" in wanted:
        if not body.get("stream"):
            return _error(400, "Audio output requires stream: true")
        audio_cfg = body.get("audio")
        fmt = str(audio_cfg.get("format", "pcm16")) if isinstance(audio_cfg, dict) else "pcm16"
        if fmt not in ("pcm16", "wav", "mp3"):
            return _error(400, f"audio.format {fmt!r} is not supported; use pcm16, wav or mp3")
        words = (prompt or "hello").split()
        seconds = min(6.0, 0.3 + 0.25 * len(words))
        pcm = pcm_tone(seconds, seed)
        data = pcm if fmt == "pcm16" else wav_bytes(pcm) if fmt == "wav" else mp3_bytes(seconds)
        pieces = 6
        step = math.ceil(len(data) / pieces / 3) * 3
        audio_id = f"audio_{seed % 10**12:012d}"
        for i in range(0, len(data), step):
            part: dict[str, Any] = {"id": audio_id, "data": base64.b64encode(data[i : i + step]).decode()}
            index = i // step
            part["transcript"] = " ".join(words[index * len(words) // pieces : (index + 1) * len(words) // pieces]) + " "
            media.audio.append(part)
        media.cost += _price(model, "audio_output") * int(seconds * _AUDIO_TOKENS_PER_S)
    return media


def stream_deltas(media: ChatMedia | None) -> list[dict[str, Any]]:
    if media is None:
        return []
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": "", "audio": a} for a in media.audio]
    if media.images:
        deltas.append({"role": "assistant", "content": "", "images": media.images})
    return deltas


def message_fields(media: ChatMedia | None) -> dict[str, Any]:
    return {"images": media.images} if media is not None and media.images else {}


def extra_cost(media: ChatMedia | None) -> Decimal:
    return media.cost if media is not None else Decimal(0)


# ---------- catalog ----------


def catalog_items(veo: dict[str, Any]) -> list[dict[str, Any]]:
    """The video fault models, shaped like the video model they imitate."""
    out = []
    for model_id, description in VIDEO_FAULTS.items():
        item = json.loads(json.dumps(veo))
        item.update(id=model_id, canonical_slug=model_id, name=f"Simulator: {model_id.removeprefix('sim/')}", description=description)
        item["links"] = {"details": f"/api/v1/models/{model_id}/endpoints"}
        out.append(item)
    return out


# ---------- routes ----------


@dataclass
class VideoJob:
    id: str
    model: str
    prompt: str
    duration: int
    submitted: float
    takes_s: float
    cost: Decimal
    polls: int = 0
    billed: bool = False


class MediaRoutes:
    """`POST /videos`, `GET /videos/{id}`, `GET /videos/{id}/content`, `POST /audio/speech`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.jobs: dict[str, VideoJob] = {}
        self.lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/videos", self.submit_video, methods=["POST"]),
            Route("/api/v1/videos/{video_id}", self.video_status),
            Route("/api/v1/videos/{video_id}/content", self.video_content),
            Route("/api/v1/audio/speech", self.speech, methods=["POST"]),
        ]

    async def _accept(self, request: Request, output: str) -> tuple[dict[str, Any], dict[str, Any]] | Response:
        """Read, log and check a request that asks a model for `output`: its body and model, or the error."""
        from .server import _error

        raw, blobs = await read_body(request)
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = None
        body = body if isinstance(body, dict) else None
        model_id = body.get("model") if body else None
        self.sim.state.log(request, model=model_id, body=body, media=blobs)
        if not self.sim._authorized(request):
            return _error(401, "User not found.")
        if body is None:
            return _error(400, "Request body must be a JSON object")
        model = self.sim.model(model_id) if isinstance(model_id, str) else None
        if model is None:
            return _error(404, f"No endpoints found for {model_id}.")
        if output not in model["architecture"]["output_modalities"]:
            return _error(400, f"{model_id} does not generate {output}")
        return body, model

    async def submit_video(self, request: Request) -> Response:
        from .server import _error

        accepted = await self._accept(request, "video")
        if isinstance(accepted, Response):
            return accepted
        body, model = accepted
        model_id = model["id"]
        if not isinstance(body.get("prompt"), str) and not body.get("frame_images"):
            return _error(400, "prompt is required")
        duration = body.get("duration", 4)
        if not isinstance(duration, int) or not 1 <= duration <= 20:
            return _error(400, "duration must be a whole number of seconds from 1 to 20")
        job_id = f"gen-vid-{int(time.time())}-{uuid.uuid4().hex[:20]}"
        takes = 60.0 if model_id == "sim/video-slow" else 1.0
        cost = _price(model, "request") or Decimal("0.5")
        with self.lock:
            self.jobs[job_id] = VideoJob(job_id, str(model_id), str(body.get("prompt", "")), duration, time.time(), takes, cost)
        return JSONResponse({"id": job_id, "polling_url": f"{request.base_url}api/v1/videos/{job_id}", "status": "pending"}, status_code=202)

    def _job(self, request: Request) -> VideoJob | Response:
        from .server import _error

        if not self.sim._authorized(request):
            return _error(401, "User not found.")
        job = self.jobs.get(request.path_params["video_id"])
        return job if job is not None else _error(404, "Video job not found")

    async def video_status(self, request: Request) -> Response:
        from .server import Generation, _error

        job = self._job(request)
        self.sim.state.log(request, model=job.model if isinstance(job, VideoJob) else None)
        if not isinstance(job, VideoJob):
            return job
        with self.lock:
            job.polls += 1
            polls = job.polls
        if job.model == "sim/video-poll-error" and polls <= POLL_ERRORS:
            return _error(500, "Internal Server Error (simulated while polling)")
        elapsed = time.time() - job.submitted
        wire: dict[str, Any] = {"id": job.id, "polling_url": f"{request.base_url}api/v1/videos/{job.id}"}
        if job.model == "sim/video-fail" and elapsed >= job.takes_s:
            return JSONResponse({**wire, "status": "failed", "error": "The provider refused to generate this video (simulated)."})
        if elapsed < min(0.2, job.takes_s / 4):
            return JSONResponse({**wire, "status": "pending"})
        if elapsed < job.takes_s:
            return JSONResponse({**wire, "status": "in_progress"})
        with self.lock:
            if not job.billed:
                job.billed = True
                gen = Generation(id=job.id, model=job.model, provider="Google Vertex", created_at=job.submitted, streamed=False, cost=job.cost)
                gen.finish_reason = "stop"
                gen.latency_ms = gen.generation_ms = job.takes_s * 1000
                self.sim.state.bill(gen)
        content = f"{request.base_url}api/v1/videos/{job.id}/content?index=0"
        return JSONResponse(
            {
                **wire,
                "status": "completed",
                "generation_id": job.id,
                "unsigned_urls": [content],
                "urls": [content + "&signature=sim"],
                "expires_at": int(job.submitted) + 86_400,
                "usage": {"cost": float(job.cost), "is_byok": False},
            }
        )

    async def video_content(self, request: Request) -> Response:
        from .server import _error

        job = self._job(request)
        self.sim.state.log(request, model=job.model if isinstance(job, VideoJob) else None)
        if not isinstance(job, VideoJob):
            return job
        if time.time() - job.submitted < job.takes_s or job.model == "sim/video-fail":
            return _error(409, "The video is not ready")
        if request.query_params.get("index", "0") != "0":
            return _error(404, "No output with that index")
        return Response(mp4_bytes(stable_int(job.id), job.duration), media_type="video/mp4")

    async def speech(self, request: Request) -> Response:
        from .server import Generation, _error

        accepted = await self._accept(request, "speech")
        if isinstance(accepted, Response):
            return accepted
        body, model = accepted
        model_id = model["id"]
        if not isinstance(body.get("input"), str) or not body["input"].strip():
            return _error(400, "input is required")
        voices = model.get("supported_voices") or []
        voice = body.get("voice")
        if voice is not None and voices and voice not in voices:
            return _error(400, f"voice {voice!r} is not available for {model_id}; use one of {', '.join(voices)}")
        fmt = body.get("response_format", "pcm")
        if fmt not in ("mp3", "pcm", "wav"):
            return _error(400, f"response_format {fmt!r} is not supported; use mp3 or pcm")
        text = body["input"]
        seconds = min(8.0, 0.3 + 0.06 * len(text))
        pcm = pcm_tone(seconds, stable_int(str(model_id), text, str(voice)))
        if fmt == "pcm":
            data, mime = pcm, f"audio/pcm;rate={SAMPLE_RATE};channels=1"
        elif fmt == "wav":
            data, mime = wav_bytes(pcm), "audio/wav"
        else:
            data, mime = mp3_bytes(seconds), "audio/mpeg"
        tokens = max(1, math.ceil(len(text) / 4))
        gen = Generation(
            id=f"gen-tts-{int(time.time())}-{uuid.uuid4().hex[:16]}",
            model=str(model_id),
            provider="OpenAI",
            created_at=time.time(),
            streamed=False,
            prompt_tokens=tokens,
        )
        gen.cost = (tokens * _price(model, "prompt")).quantize(Decimal("0.000000001"))
        gen.finish_reason = "stop"
        self.sim.state.bill(gen)
        return Response(data, media_type=mime, headers={"X-Generation-Id": gen.id})
