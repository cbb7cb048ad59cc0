"""The media input loader on its own: the sandbox for local paths, data URLs in linear time, formats from
magic bytes, size caps before reading, and image downscaling/previews."""

from __future__ import annotations

import base64
import io
import os
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from openrouter_mcp.config import Settings, load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.services.media import output as media_output
from openrouter_mcp.services.media.formats import BY_NAME, sniff
from openrouter_mcp.services.media.images import downscale, preview
from openrouter_mcp.services.media.inputs import load, open_inside, parse_data_url, roots_of
from openrouter_mcp.simulator.media import mp3_bytes, mp4_bytes, png_bytes, wav_bytes


def png(width: int = 32, height: int = 24, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 200, 30, 128) if mode == "RGBA" else (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 30)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Settings, Path, Path, Path]:
    inp, out, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    for d in (inp, out, outside):
        d.mkdir()
    settings = load_settings(
        {"OPENROUTER_INPUT_DIR": str(inp), "OPENROUTER_OUTPUT_DIR": str(out), "OPENROUTER_MCP_HOME": str(tmp_path / "home")}, simulate=True
    )
    return settings, inp, out, outside


async def failure_of(coro: object) -> ToolFailure:
    with pytest.raises(ToolFailure) as caught:
        await coro  # type: ignore[misc]
    return caught.value


# ---------- formats ----------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (png(), "png"),
        (jpeg(), "jpeg"),
        (b"GIF89a" + bytes(10), "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (wav_bytes(b"\0\0" * 10), "wav"),
        (mp3_bytes(0.1), "mp3"),
        (b"ID3\x04\x00" + bytes(10), "mp3"),
        (b"fLaC" + bytes(10), "flac"),
        (b"OggS" + bytes(10), "ogg"),
        (b"\x00\x00\x00\x20ftypM4A " + bytes(8), "m4a"),
        (b"\x00\x00\x00\x14ftypqt  " + bytes(8), "mov"),
        (mp4_bytes(1, 1), "mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm"),
        (b"%PDF-1.7\n", "pdf"),
        (b"FORM\x00\x00\x00\x00AIFF", "aiff"),
    ],
)
def test_formats_come_from_magic_bytes(data: bytes, name: str) -> None:
    found = sniff(data[:64])
    assert found is not None and found.name == name


async def test_bytes_win_over_the_extension(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings, inp, _, _ = dirs
    (inp / "photo.jpg").write_bytes(png())
    loaded = await load("photo.jpg", "image", settings, field="image_path")
    assert loaded.format is BY_NAME["png"] and loaded.mime == "image/png"


async def test_unsupported_formats_list_the_supported_ones(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings, inp, _, _ = dirs
    (inp / "notes.txt").write_text("hello")
    failure = await failure_of(load("notes.txt", "image", settings, field="image_path"))
    assert failure.code is ErrorCode.UNSUPPORTED_FORMAT and "png, jpeg, webp, gif" in failure.message
    (inp / "song.wav").write_bytes(png())
    failure = await failure_of(load("song.wav", "audio", settings, field="audio_path"))
    assert failure.code is ErrorCode.UNSUPPORTED_FORMAT and "PNG" in failure.message and "wav, mp3" in failure.message
    (inp / "binary.txt").write_bytes(bytes(range(256)) * 4)
    failure = await failure_of(load("binary.txt", "document", settings, field="document_path"))
    assert failure.code is ErrorCode.UNSUPPORTED_FORMAT and "UTF-8" in failure.message
    (inp / "readme.md").write_text("# Title\n\nSome text — with UTF-8.\n")
    assert (await load("readme.md", "document", settings, field="document_path")).format is BY_NAME["md"]


# ---------- sandbox ----------


async def test_paths_inside_the_input_and_output_folders_load(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings, inp, out, _ = dirs
    (inp / "sub").mkdir()
    (inp / "sub" / "a.png").write_bytes(png())
    (out / "b.png").write_bytes(png())
    (inp / "link.png").symlink_to(inp / "sub" / "a.png")
    for source in ("sub/a.png", str(inp / "sub" / "a.png"), str(out / "b.png"), "link.png", "sub/../sub/a.png"):
        assert (await load(source, "image", settings, field="image_path")).kind == "path"


async def test_escapes_are_unsafe_paths(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings, inp, _, outside = dirs
    (outside / "secret.png").write_bytes(png())
    (inp / "escape.png").symlink_to(outside / "secret.png")
    (inp / "dirlink").symlink_to(outside)
    for source in ("../outside/secret.png", str(outside / "secret.png"), "escape.png", "dirlink/secret.png", "/etc/passwd", "a\x00b.png"):
        failure = await failure_of(load(source, "image", settings, field="image_path"))
        assert failure.code is ErrorCode.UNSAFE_PATH, source
        assert str(settings.input_dir) in failure.message


def test_a_symlink_swapped_in_after_the_check_is_refused_on_open(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings, inp, _, outside = dirs
    (outside / "secret.png").write_bytes(png())
    checked = inp / "a.png"
    checked.symlink_to(outside / "secret.png")
    with pytest.raises(ToolFailure) as caught:
        open_inside(checked, roots_of(settings), "image_path")
    assert caught.value.code is ErrorCode.UNSAFE_PATH


async def test_size_is_capped_before_reading(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings, inp, _, _ = dirs
    big = inp / "huge.mp4"
    with open(big, "wb") as f:  # sparse: nothing is written, the size is all there is
        f.truncate(settings.media.max_video_bytes + 1)
    (inp / "tiny.mp4").write_bytes(mp4_bytes(1, 1))
    await load("tiny.mp4", "video", settings, field="video_path")  # what the first load imports is not timed
    started = time.thread_time()  # CPU time of this thread: what the check costs, whatever else loads the machine
    failure = await failure_of(load("huge.mp4", "video", settings, field="video_path"))
    assert failure.code is ErrorCode.TOO_LARGE and failure.details == {"field": "video_path", "cap_bytes": settings.media.max_video_bytes}
    assert "100 MB" in failure.message
    assert time.thread_time() - started < 0.05


def test_save_paths_stay_in_the_output_folder(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings, _, out, outside = dirs
    (out / "linkout").symlink_to(outside)
    for bad in ("../x.png", str(outside / "x.png"), "linkout/x.png", "/tmp/x.png"):
        with pytest.raises(ToolFailure) as caught:
            media_output.check_save_path(bad, settings)
        assert caught.value.code is ErrorCode.UNSAFE_PATH, bad
    saved = media_output.write(settings, png(), medium="image", fmt=BY_NAME["png"], save_path="art/cat.jpg", prompt="cat")
    assert saved.path == out / "art" / "cat.png" and saved.uri == "media://output/art/cat.png"
    again = media_output.write(settings, png(), medium="image", fmt=BY_NAME["png"], save_path="art/cat.jpg", prompt="cat")
    assert again.path == out / "art" / "cat-2.png"  # never over an existing file


# ---------- data URLs ----------


PATHOLOGICAL = [
    "data:" + ";" * 200_000,
    "data:image/png" + ";base64" * 40_000 + "x",
    "data:" + "a" * 300_000,
    "data:image/png;base64," + "A" * 100_001 + "!",
    "data:image/png;base64," + "=" * 200_000,
    "data:image/png;charset=" + "\t" * 100_000 + ",AAAA",
    "data:image/png;base64," + "AAAA\n" * 60_000,
]


@pytest.mark.parametrize("url", PATHOLOGICAL, ids=range(len(PATHOLOGICAL)))
async def test_pathological_data_urls_are_answered_fast(url: str, dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings = dirs[0]
    # CPU time of this thread, not the wall clock: a backtracking parser burns CPU, while a loaded machine only
    # makes the wall clock slow.
    started = time.thread_time()
    with pytest.raises(ToolFailure) as caught:
        await load(url, "image", settings, field="image_path")
    assert time.thread_time() - started < 0.05
    assert caught.value.code in (ErrorCode.INVALID_INPUT, ErrorCode.UNSUPPORTED_FORMAT)


async def test_data_urls_decode_and_take_their_format_from_the_bytes(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings = dirs[0]
    data = png()
    loaded = await load("data:image/jpeg;base64," + base64.b64encode(data).decode(), "image", settings, field="image_path")
    assert loaded.data == data and loaded.format is BY_NAME["png"]
    mime, raw = parse_data_url("data:text/plain,hello%20world", "document_path", 1000)
    assert (mime, raw) == ("text/plain", b"hello world")
    failure = await failure_of(load("data:image/png;base64,%%%%", "image", settings, field="image_path"))
    assert failure.code is ErrorCode.INVALID_INPUT and "base64" in failure.message


def test_an_oversized_data_url_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "data:image/png;base64," + "A" * 28_000_000
    decoded: list[int] = []
    real = base64.b64decode

    def watched(data: Any, *args: Any, **kwargs: Any) -> bytes:
        decoded.append(len(data))
        return real(data, *args, **kwargs)

    # Checked by what runs, not by a stopwatch (a loaded machine makes any time limit flaky): the 28 MB of
    # base64 is never handed to the decoder.
    monkeypatch.setattr(base64, "b64decode", watched)
    with pytest.raises(ToolFailure) as caught:
        parse_data_url(url, "image_path", 20_000_000)
    assert caught.value.code is ErrorCode.TOO_LARGE
    assert decoded == []
    parse_data_url("data:image/png;base64,QUJD", "image_path", 20_000_000)
    assert decoded == [4]  # the decoder is watched: a small data URL does reach it


# ---------- images ----------


def test_images_within_limits_are_sent_unchanged() -> None:
    for data, fmt in ((png(300, 200), BY_NAME["png"]), (jpeg(300, 200), BY_NAME["jpeg"])):
        assert downscale(data, fmt, 8000, "image_path") is None


def test_downscaling_keeps_png_for_png_and_transparency() -> None:
    wide = png(9000, 40)
    result = downscale(wide, BY_NAME["png"], 8000, "image_path")
    assert result is not None
    data, fmt = result
    assert fmt.name == "png" and Image.open(io.BytesIO(data)).size == (8000, 36)
    result = downscale(png(400, 300, "RGBA"), BY_NAME["png"], 100, "image_path")
    assert result is not None and result[1].name == "png" and Image.open(io.BytesIO(result[0])).mode == "RGBA"
    result = downscale(jpeg(400, 300), BY_NAME["jpeg"], 100, "image_path")
    assert result is not None and result[1].name == "jpeg" and Image.open(io.BytesIO(result[0])).size == (100, 75)


def test_previews_fit_100_kb() -> None:
    big = png_bytes(1024, 1024, 7)
    assert len(big) > 100_000
    data, mime = preview(big, BY_NAME["png"], 100_000)
    assert len(data) <= 100_000 and mime == "image/jpeg"
    small = png()
    assert preview(small, BY_NAME["png"], 100_000) == (small, "image/png")


def test_decompression_bombs_are_too_large() -> None:
    # A PNG header that claims 100000 x 100000 pixels.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    with pytest.raises(ToolFailure) as caught:
        downscale(bomb, BY_NAME["png"], 8000, "image_path")
    assert caught.value.code is ErrorCode.TOO_LARGE


def test_the_sandbox_roots_are_real_paths(dirs: tuple[Settings, Path, Path, Path]) -> None:
    settings = dirs[0]
    assert all(os.path.realpath(r) == str(r) for r in roots_of(settings))
