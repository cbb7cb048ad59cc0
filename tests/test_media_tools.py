"""The media tools end to end: our server as a subprocess, driven by the real MCP client over stdio and
HTTP, against the simulator over a real socket. What reached "OpenRouter" is read from the simulator's
request log; what was billed, from the server's own ledger."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image

from openrouter_mcp.services.media.formats import sniff
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, HttpServer, SimLog
from .media_support import Dirs, dirs, error_code, http_server_for, ledger_rows, new_entries, stdio_client_for

__all__ = ["dirs"]


@pytest.fixture(scope="module")
async def stdio(simulator: RunningSimulator, dirs: Dirs) -> AsyncIterator[Client]:
    async for client in stdio_client_for(dirs.env(simulator)):
        yield client


@pytest.fixture(scope="module")
def http_server(simulator: RunningSimulator, dirs: Dirs) -> Iterator[HttpServer]:
    yield from http_server_for(dirs.env(simulator), dirs.home / "http.log")


@pytest.fixture(scope="module")
async def http(http_server: HttpServer) -> AsyncIterator[Client]:
    async with ClientHolder(http_server.url) as client:
        yield client


@pytest.fixture(params=["stdio", "http"])
def client(request: pytest.FixtureRequest) -> Client:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def last_part(sim_log: SimLog, mark: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The media part of the one chat request since `mark`, and that request's log entry."""
    (entry,) = sim_log.chats(mark)
    parts = entry["body"]["messages"][0]["content"]
    return parts[1], entry


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


async def call(client: Client, tool: str, args: dict[str, Any]) -> Any:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    return result


async def test_the_media_tools_and_resources_are_listed(stdio: Client) -> None:
    names = {t.name for t in (await stdio.list_tools()).tools}
    expected = {"analyze_image", "analyze_audio", "analyze_video", "analyze_document", "generate_image", "generate_audio", "generate_video", "get_video_status"}
    assert expected <= names
    templates = {t.uri_template for t in (await stdio.list_resource_templates()).resource_templates}
    assert {"media://output/{+path}.png", "media://output/{+path}.mp3", "media://output/{+path}.mp4"} <= templates


# ---------- analysis ----------


async def test_analyze_image_from_every_kind_of_source(client: Client, sim_log: SimLog, dirs: Dirs) -> None:
    photo = dirs.input / "photo.png"
    sources = {
        "relative path": ("photo.png", f"data:image/png;base64,{b64(photo)}"),
        "absolute path": (str(photo), f"data:image/png;base64,{b64(photo)}"),
        "data URL": (f"data:image/png;base64,{b64(photo)}", f"data:image/png;base64,{b64(photo)}"),
        "URL": ("https://example.com/images/cat.png?size=large", "https://example.com/images/cat.png?size=large"),
        "output folder": (None, None),
    }
    for label, (source, sent) in sources.items():
        if source is None:
            continue
        mark = sim_log.mark()
        result = await call(client, "analyze_image", {"image_path": source, "question": "What colour is it?"})
        out = result.structured_content
        part, entry = last_part(sim_log, mark)
        # Original quality: the bytes reach OpenRouter untouched (or the URL, for OpenRouter to fetch).
        assert part == {"type": "image_url", "image_url": {"url": sent}}, label
        assert entry["body"]["messages"][0]["content"][0]["text"] == "What colour is it?"
        assert out["model"] == "openai/gpt-4o-mini" and out["content_is_untrusted"] is True
        assert out["cost_usd"] > 0 and out["usage"]["total_tokens"] > 0 and out["generation_id"]
        assert out["source"]["sent_as"] == ("url" if label == "URL" else "inline")


async def test_the_bytes_decide_the_image_type_and_large_images_are_downscaled(stdio: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    await call(stdio, "analyze_image", {"image_path": "png-named.jpg"})
    part, _ = last_part(sim_log, mark)
    assert part["image_url"]["url"].startswith("data:image/png;base64,")

    mark = sim_log.mark()
    result = await call(stdio, "analyze_image", {"image_path": "wide.png"})
    part, _ = last_part(sim_log, mark)
    sent = Image.open(io.BytesIO(base64.b64decode(part["image_url"]["url"].partition(",")[2])))
    assert sent.format == "PNG" and sent.size == (8000, 36)
    assert "downscaled" in result.structured_content["source"]["note"]

    mark = sim_log.mark()
    await call(stdio, "analyze_image", {"image_path": "photo.jpg", "max_dimension": 100})
    part, _ = last_part(sim_log, mark)
    sent = Image.open(io.BytesIO(base64.b64decode(part["image_url"]["url"].partition(",")[2])))
    assert sent.format == "JPEG" and sent.size == (100, 75)


async def test_analyze_audio_inline_streamed_and_data_url(client: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    result = await call(client, "analyze_audio", {"audio_path": "hello.wav"})
    part, _ = last_part(sim_log, mark)
    assert part == {"type": "input_audio", "input_audio": {"data": b64(dirs.input / "hello.wav"), "format": "wav"}}
    assert "Transcribe" in sim_log.chats(mark)[0]["body"]["messages"][0]["content"][0]["text"]
    assert result.structured_content["model"] == "google/gemini-2.5-flash"

    mark = sim_log.mark()
    result = await call(client, "analyze_audio", {"audio_path": "long.wav"})
    _, entry = last_part(sim_log, mark)
    data = (dirs.input / "long.wav").read_bytes()
    assert result.structured_content["source"]["sent_as"] == "streamed"
    assert entry["media"] == [{"prefix": "", "base64_chars": len(base64.b64encode(data)), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}]

    mark = sim_log.mark()
    await call(client, "analyze_audio", {"audio_path": f"data:audio/wav;base64,{b64(dirs.input / 'song.mp3')}"})
    part, _ = last_part(sim_log, mark)
    assert part["input_audio"]["format"] == "mp3"


async def test_analyze_video_streams_a_large_file_and_passes_urls(client: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    result = await call(client, "analyze_video", {"video_path": "clip.mp4", "question": "What happens?"})
    part, entry = last_part(sim_log, mark)
    data = (dirs.input / "clip.mp4").read_bytes()
    assert result.structured_content["source"] == {"kind": "path", "format": "mp4", "size_bytes": len(data), "sent_as": "streamed", "note": None}
    assert part["type"] == "video_url" and part["video_url"]["url"].startswith("data:video/mp4;base64,<sim-blob")
    assert entry["media"][0]["sha256"] == hashlib.sha256(data).hexdigest()

    mark = sim_log.mark()
    await call(client, "analyze_video", {"video_path": "https://videos.example.com/clip.mp4"})
    part, _ = last_part(sim_log, mark)
    assert part == {"type": "video_url", "video_url": {"url": "https://videos.example.com/clip.mp4"}}


async def test_analyze_document_pdf_text_and_url(client: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    await call(client, "analyze_document", {"document_path": "paper.pdf", "pdf_engine": "mistral-ocr"})
    part, entry = last_part(sim_log, mark)
    assert part == {"type": "file", "file": {"filename": "paper.pdf", "file_data": f"data:application/pdf;base64,{b64(dirs.input / 'paper.pdf')}"}}
    assert entry["body"]["plugins"] == [{"id": "file-parser", "pdf": {"engine": "mistral-ocr"}}]

    mark = sim_log.mark()
    await call(client, "analyze_document", {"document_path": "notes.md", "question": "When is the meeting?"})
    part, _ = last_part(sim_log, mark)
    assert part["file"]["file_data"].startswith("data:text/markdown;base64,")

    mark = sim_log.mark()
    await call(client, "analyze_document", {"document_path": "https://example.com/papers/attention.pdf"})
    part, _ = last_part(sim_log, mark)
    assert part == {"type": "file", "file": {"filename": "attention.pdf", "file_data": "https://example.com/papers/attention.pdf"}}

    result = await client.call_tool("analyze_document", {"document_path": "paper.pdf", "pdf_engine": "magic"})
    assert error_code(result) == "INVALID_INPUT" and "mistral-ocr" in result.content[0].text


async def test_a_model_that_cannot_take_the_medium_is_refused_with_suggestions(stdio: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool("analyze_audio", {"audio_path": "hello.wav", "model": "openai/gpt-4o-mini"})
    assert error_code(result) == "INVALID_INPUT"
    assert result.structured_content["error"]["suggestions"]
    assert sim_log.chats(mark) == []


# ---------- refusals before any request ----------


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("analyze_image", {"image_path": "../outside/secret.png"}),
        ("analyze_image", {"image_path": "escape.png"}),  # a symlink inside the input folder that points out
        ("analyze_image", {"image_path": "/etc/passwd"}),
        ("analyze_video", {"video_path": "../../../../../../etc/hostname"}),
        ("analyze_document", {"document_path": "escape.png"}),
        ("generate_image", {"prompt": "x", "input_images": ["../outside/secret.png"]}),
        ("generate_image", {"prompt": "x", "save_path": "../escaped.png"}),
        ("generate_audio", {"prompt": "x", "save_path": "/tmp/escaped.mp3"}),
        ("generate_video", {"prompt": "x", "first_frame_image": "escape.png"}),
        ("generate_video", {"prompt": "x", "save_path": "../../escaped.mp4"}),
    ],
)
async def test_sandbox_escapes_are_refused_before_any_request(stdio: Client, sim_log: SimLog, dirs: Dirs, tool: str, args: dict[str, Any]) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool(tool, args)
    assert error_code(result) == "UNSAFE_PATH"
    assert new_entries(sim_log, mark) == []
    if args.get("image_path") == "escape.png":
        assert str(dirs.input) in result.content[0].text


SSRF = [
    "http://127.0.0.1/a.wav",
    "http://[::1]/a.wav",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.8/a.wav",
    "http://100.64.1.1/a.wav",
    "http://224.0.0.251/a.wav",
    "http://240.1.2.3/a.wav",
    "http://[::ffff:127.0.0.1]/a.wav",
    "http://[64:ff9b::7f00:1]/a.wav",
    "http://localhost:8080/a.wav",  # a name: refused for what it resolves to
    "http://user:pw@example.com/a.wav",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", SSRF)
async def test_ssrf_attempts_are_refused(stdio: Client, sim_log: SimLog, url: str) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool("analyze_audio", {"audio_path": url})
    assert error_code(result) == "UNSAFE_URL"
    assert new_entries(sim_log, mark) == []


async def test_private_addresses_are_refused_even_for_urls_openrouter_would_fetch(stdio: Client) -> None:
    for tool, field in (("analyze_image", "image_path"), ("analyze_video", "video_path"), ("analyze_document", "document_path")):
        result = await stdio.call_tool(tool, {field: "http://169.254.169.254/latest/meta-data/iam"})
        assert error_code(result) == "UNSAFE_URL"


async def test_a_pathological_data_url_is_answered_in_under_50_ms(stdio: Client) -> None:
    url = "data:image/png" + ";base64" * 20_000 + "," + "A" * 30_001 + "!"
    await stdio.call_tool("analyze_image", {"image_path": "data:,"})  # warm the path
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = await stdio.call_tool("analyze_image", {"image_path": url})
        timings.append(time.perf_counter() - started)
        assert error_code(result) == "INVALID_INPUT"
    assert min(timings) < 0.05, timings


async def test_files_over_the_cap_are_too_large_without_being_read(stdio: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool("analyze_image", {"image_path": "huge.png"})
    assert error_code(result) == "TOO_LARGE"
    assert result.structured_content["error"]["details"]["cap_bytes"] == 20_000_000
    assert new_entries(sim_log, mark) == []


async def test_unsupported_formats_name_the_supported_ones(stdio: Client) -> None:
    result = await stdio.call_tool("analyze_audio", {"audio_path": "photo.png"})
    assert error_code(result) == "UNSUPPORTED_FORMAT"
    assert result.structured_content["error"]["details"]["supported"][:3] == ["wav", "mp3", "flac"]


# ---------- generation ----------


async def test_generate_image_saves_files_links_them_and_previews_one(client: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    result = await call(client, "generate_image", {"prompt": "a lighthouse at dawn", "n": 2, "aspect_ratio": "16:9", "input_images": ["photo.png"], "seed": 7})
    out = result.structured_content
    chats = sim_log.chats(mark)
    assert len(chats) == 2
    body = chats[0]["body"]
    assert body["modalities"] == ["image", "text"] and body["image_config"] == {"aspect_ratio": "16:9"} and body["seed"] == 7
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    kinds = [c.type for c in result.content]
    assert kinds == ["text", "image", "resource_link", "resource_link"]
    preview = base64.b64decode(result.content[1].data)
    assert len(preview) <= 100_000
    assert len(out["images"]) == 2 and len(out["generation_ids"]) == 2 and out["cost_usd"] > 0
    for saved, link in zip(out["images"], result.content[2:], strict=True):
        path = Path(saved["path"])
        assert path.parent == dirs.output / "images" and path.suffix == ".png"
        assert saved["size_bytes"] == path.stat().st_size and saved["mime_type"] == "image/png"
        assert link.uri == saved["uri"] and link.mime_type == "image/png"
        read = await client.read_resource(saved["uri"])
        assert base64.b64decode(read.contents[0].blob) == path.read_bytes()


async def test_generated_images_take_their_extension_from_the_bytes(stdio: Client, dirs: Dirs) -> None:
    result = await call(stdio, "generate_image", {"prompt": "a cat", "save_path": "art/cat.jpg"})
    assert result.structured_content["images"][0]["path"] == str(dirs.output / "art" / "cat.png")
    result = await call(stdio, "generate_image", {"prompt": "a cat", "model": "openai/gpt-5-image-mini", "save_path": "art/"})
    saved = Path(result.structured_content["images"][0]["path"])
    assert saved.parent == dirs.output / "art" and saved.suffix == ".jpg" and sniff(saved.read_bytes()[:64]).name == "jpeg"  # type: ignore[union-attr]


async def test_generate_image_refusals_cost_nothing(stdio: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool("generate_image", {"prompt": "x", "model": "openai/gpt-4o-mini"})
    assert error_code(result) == "INVALID_INPUT"
    result = await stdio.call_tool("generate_image", {"prompt": "x", "n": 4, "max_cost_usd": 0.0001})
    assert error_code(result) == "BUDGET_EXCEEDED"
    assert sim_log.chats(mark) == []


async def test_generate_audio_speech_and_chat_models(client: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    result = await call(client, "generate_audio", {"prompt": "Good morning, everyone.", "voice": "nova"})
    out = result.structured_content
    path = Path(out["audio"]["path"])
    assert path.suffix == ".mp3" and sniff(path.read_bytes()[:64]).name == "mp3"  # type: ignore[union-attr]
    assert out["cost_usd"] > 0 and out["generation_id"].startswith("gen-tts-")
    assert [c.type for c in result.content] == ["text", "resource_link"]
    (speech,) = [e for e in sim_log.entries()[mark:] if e["path"].endswith("/audio/speech")]
    assert speech["body"]["voice"] == "nova" and speech["body"]["response_format"] == "mp3"

    # WAV asked for: raw PCM comes back and is wrapped; the wrong extension is corrected.
    result = await call(client, "generate_audio", {"prompt": "Good night.", "format": "wav", "save_path": "speech.mp3"})
    path = Path(result.structured_content["audio"]["path"])
    assert path.parent == dirs.output and path.stem.startswith("speech") and path.suffix == ".wav" and path.read_bytes()[:4] == b"RIFF"

    result = await call(client, "generate_audio", {"prompt": "Say hello to the team", "model": "openai/gpt-4o-audio-preview"})
    out = result.structured_content
    assert Path(out["audio"]["path"]).read_bytes()[8:12] == b"WAVE"
    assert "hello" in (out["transcript"] or "") and out["usage"]["completion_tokens"] > 0

    result = await client.call_tool("generate_audio", {"prompt": "x", "voice": "Darth"})
    assert error_code(result) == "INVALID_INPUT" and "alloy" in result.content[0].text


async def test_resource_reads_stay_in_the_output_folder(stdio: Client) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own error type for a refused read
        await stdio.read_resource("media://output/../outside/secret.png")
    with pytest.raises(Exception):  # noqa: B017
        await stdio.read_resource("media://output/nothing-here.png")


async def test_every_paid_media_call_is_in_the_ledger_once_with_its_cost(stdio: Client, dirs: Dirs) -> None:
    gens = set()
    for tool, args in (
        ("analyze_image", {"image_path": "photo.png"}),
        ("analyze_video", {"video_path": "clip.mp4"}),
        ("generate_audio", {"prompt": "Ledger test."}),
    ):
        result = await call(stdio, tool, args)
        gens.add(result.structured_content["generation_id"])
    rows = await ledger_rows(dirs.home, gens)
    assert len(rows) == 3
    assert all(r["status"] == "ok" and r["cost_e10"] and r["cost_e10"] > 0 for r in rows)
