"""The simulator's media responses parse with the official SDK's types and carry real media bytes."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.request
from typing import Any

import pytest
from openrouter import components
from PIL import Image

from openrouter_mcp.config import SIMULATOR_KEY
from openrouter_mcp.services.media.formats import sniff
from openrouter_mcp.simulator.media import BodyReader
from openrouter_mcp.simulator.server import RunningSimulator

from .test_simulator_contract import fetch


def raw(sim: RunningSimulator, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(sim.api_url + path, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization", f"Bearer {SIMULATOR_KEY}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def decode_image(url: str) -> Image.Image:
    header, _, data = url.partition(",")
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.load()
    assert header == f"data:image/{image.format.lower()};base64"  # type: ignore[union-attr]
    return image


@pytest.mark.parametrize(("model", "fmt"), [("google/gemini-2.5-flash-image", "PNG"), ("openai/gpt-5-image-mini", "JPEG")])
def test_image_output_parses_and_is_a_real_image(simulator: RunningSimulator, model: str, fmt: str) -> None:
    body = {
        "model": model,
        "modalities": ["image", "text"],
        "image_config": {"aspect_ratio": "16:9"},
        "messages": [{"role": "user", "content": "a lighthouse"}],
    }
    status, payload = fetch(simulator, "/chat/completions", body)
    assert status == 200
    result = components.ChatResult.model_validate(json.loads(payload))
    images = result.choices[0].message.images
    assert images
    image = decode_image(images[0].image_url.url)
    assert image.format == fmt and image.size[0] > image.size[1]
    assert result.usage is not None and result.usage.cost is not None and result.usage.cost > 0


def test_streamed_image_output_arrives_in_a_delta(simulator: RunningSimulator) -> None:
    body = {"model": "black-forest-labs/flux.2-pro", "stream": True, "modalities": ["image"], "messages": [{"role": "user", "content": "a fox"}]}
    status, payload = fetch(simulator, "/chat/completions", body)
    assert status == 200
    events = [json.loads(line[6:]) for line in payload.decode().splitlines() if line.startswith("data: {")]
    for event in events:
        components.ChatStreamChunk.model_validate(event)
    urls = [img["image_url"]["url"] for e in events for c in e["choices"] for img in c["delta"].get("images", [])]
    assert len(urls) == 1 and decode_image(urls[0]).format == "PNG"


def test_asking_a_text_model_for_images_fails_like_openrouter(simulator: RunningSimulator) -> None:
    status, payload = fetch(
        simulator, "/chat/completions", {"model": "openai/gpt-4o-mini", "modalities": ["image"], "messages": [{"role": "user", "content": "x"}]}
    )
    assert status == 404 and "output modalities" in json.loads(payload)["error"]["message"]


def test_streamed_audio_output_parses_and_decodes(simulator: RunningSimulator) -> None:
    body = {
        "model": "openai/gpt-4o-audio-preview",
        "stream": True,
        "modalities": ["text", "audio"],
        "audio": {"voice": "alloy", "format": "wav"},
        "messages": [{"role": "user", "content": "say good morning to everyone"}],
    }
    status, payload = fetch(simulator, "/chat/completions", body)
    assert status == 200
    chunks = [components.ChatStreamChunk.model_validate(json.loads(line[6:])) for line in payload.decode().splitlines() if line.startswith("data: {")]
    pieces = [c.choices[0].delta.audio for c in chunks if c.choices and c.choices[0].delta.audio is not None]
    assert len(pieces) > 1
    audio = base64.b64decode("".join(p.data or "" for p in pieces))
    fmt = sniff(audio[:64])
    assert fmt is not None and fmt.name == "wav"
    assert "good morning" in "".join(p.transcript or "" for p in pieces)
    status, payload = fetch(simulator, "/chat/completions", {**body, "stream": False})
    assert status == 400  # audio output needs a stream, as upstream


@pytest.mark.parametrize(("fmt", "mime", "magic"), [("mp3", "audio/mpeg", "mp3"), ("pcm", "audio/pcm;rate=24000;channels=1", None)])
def test_speech_endpoint_returns_audio_bytes_and_a_generation(simulator: RunningSimulator, fmt: str, mime: str, magic: str | None) -> None:
    status, headers, data = raw(
        simulator, "/audio/speech", {"model": "openai/gpt-4o-mini-tts", "input": "Hello there.", "voice": "alloy", "response_format": fmt}
    )
    assert status == 200 and headers["content-type"] == mime
    found = sniff(data[:64])
    assert (found.name if found else None) == magic
    gen_id = headers["x-generation-id"]
    assert gen_id.startswith("gen-tts-")
    status, payload = fetch(simulator, f"/generation?id={gen_id}")
    assert status == 200 and components.GenerationResponse.model_validate(json.loads(payload)).data.total_cost > 0
    status, _, payload = raw(simulator, "/audio/speech", {"model": "openai/gpt-4o-mini-tts", "input": "x", "voice": "nobody"})
    assert status == 400 and b"alloy" in payload


def test_video_jobs_progress_and_parse(simulator: RunningSimulator) -> None:
    status, payload = fetch(simulator, "/videos", {"model": "google/veo-3.1-fast", "prompt": "waves at dusk", "duration": 4, "resolution": "720p"})
    assert status == 202
    submitted = components.VideoGenerationResponse.model_validate(json.loads(payload))
    assert submitted.status == "pending" and submitted.id.startswith("gen-vid-")
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, payload = fetch(simulator, f"/videos/{submitted.id}")
        job = components.VideoGenerationResponse.model_validate(json.loads(payload))
        if not seen or seen[-1] != job.status:
            seen.append(job.status)
        if job.status == "completed":
            break
        time.sleep(0.1)
    assert seen == ["pending", "in_progress", "completed"]
    assert job.usage is not None and job.usage.cost == 1.2 and job.unsigned_urls
    status, headers, data = raw(simulator, f"/videos/{submitted.id}/content?index=0")
    assert status == 200 and headers["content-type"] == "video/mp4" and data[4:8] == b"ftyp"
    status, payload = fetch(simulator, f"/generation?id={submitted.id}")
    assert status == 200 and components.GenerationResponse.model_validate(json.loads(payload)).data.total_cost == 1.2


def test_video_fault_models(simulator: RunningSimulator) -> None:
    _, payload = fetch(simulator, "/videos", {"model": "sim/video-poll-error", "prompt": "x"})
    job_id = json.loads(payload)["id"]
    assert [fetch(simulator, f"/videos/{job_id}")[0] for _ in range(4)] == [500, 500, 500, 200]
    _, payload = fetch(simulator, "/videos", {"model": "sim/video-fail", "prompt": "x"})
    job_id = json.loads(payload)["id"]
    time.sleep(1.05)
    _, payload = fetch(simulator, f"/videos/{job_id}")
    failed = components.VideoGenerationResponse.model_validate(json.loads(payload))
    assert failed.status == "failed" and failed.error
    status, _ = fetch(simulator, "/videos", {"model": "openai/gpt-4o-mini", "prompt": "x"})
    assert status == 400


def test_body_reader_is_independent_of_chunk_boundaries() -> None:
    blob = base64.b64encode(bytes(range(256)) * 400).decode()
    body = json.dumps({"a": 'x\\"y', "media": "data:video/mp4;base64," + blob, "b": [1, "é"], "raw": blob}).encode()
    whole = BodyReader()
    whole.feed(body)
    for size in (1, 3, 7, 4096):
        reader = BodyReader()
        for i in range(0, len(body), size):
            reader.feed(body[i : i + size])
        assert reader.out == whole.out and reader.blobs == whole.blobs
    parsed = json.loads(bytes(whole.out))
    assert parsed["a"] == 'x\\"y' and parsed["b"] == [1, "é"]
    assert parsed["media"].startswith("data:video/mp4;base64,<sim-blob 102400 bytes sha256=")
    assert [b["bytes"] for b in whole.blobs] == [102400, 102400]
