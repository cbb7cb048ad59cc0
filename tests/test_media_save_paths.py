"""Nothing paid is lost to a save_path: every check that could fail after paying (name length with the
extension the bytes call for, the folder) is made before any request is sent, and a file that still
cannot be written under the requested name after paying (a -2 that does not fit, a permission, a race)
is saved under another name with a note. End to end through the real MCP client against the simulator,
plus the output module's last resorts, which no client can provoke on purpose."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from openrouter_mcp.config import Settings, load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.services.media import output
from openrouter_mcp.services.media.formats import BY_NAME
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, HttpServer, SimLog, error_of
from .media_support import Dirs, dirs, http_server_for, ledger_rows, new_entries, stdio_client_for

__all__ = ["dirs"]


@pytest.fixture(scope="module")
async def stdio(simulator: RunningSimulator, dirs: Dirs) -> AsyncIterator[Client]:
    async for client in stdio_client_for(dirs.env(simulator)):
        yield client


@pytest.fixture(scope="module")
def http_server(simulator: RunningSimulator, dirs: Dirs) -> Iterator[HttpServer]:
    yield from http_server_for(dirs.env(simulator), dirs.home / "http-save-paths.log")


@pytest.fixture(scope="module")
async def http(http_server: HttpServer) -> AsyncIterator[Client]:
    async with ClientHolder(http_server.url) as client:
        yield client


@pytest.fixture(params=["stdio", "http"])
def client(request: pytest.FixtureRequest) -> Client:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def long_name(length: int, ext: str = "") -> str:
    """A file name of exactly `length` characters (ASCII, so also bytes), unique to this call."""
    head = uuid.uuid4().hex[:8]
    return head + "n" * (length - len(head) - len(ext)) + ext


# What each generating tool is called with, the extension its simulated bytes get, and the name of the
# list (or single entry) in its result.
GENERATORS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "image": ("generate_image", {"prompt": "a lighthouse"}, ".png", "images"),
    "audio": ("generate_audio", {"prompt": "Good morning."}, ".mp3", "audio"),
    "video": ("generate_video", {"prompt": "waves on a beach", "wait_seconds": 20}, ".mp4", "videos"),
}


def saved_files(result: Any, key: str) -> list[dict[str, Any]]:
    assert not result.is_error, result.content[0].text
    entry = result.structured_content[key]
    return entry if isinstance(entry, list) else [entry]


async def reads_back(client: Client, result: Any, saved: dict[str, Any]) -> None:
    """The result links the file, and the link reads back as exactly the bytes on disk."""
    links = [c for c in result.content if c.type == "resource_link"]
    assert saved["uri"] in [link.uri for link in links]
    read = await client.read_resource(saved["uri"])
    assert base64.b64decode(read.contents[0].blob) == Path(saved["path"]).read_bytes()
    assert saved["size_bytes"] == Path(saved["path"]).stat().st_size > 0


@pytest.mark.parametrize("medium", ["image", "audio", "video"])
async def test_a_250_character_save_path_is_saved_and_again_when_it_is_taken(client: Client, dirs: Dirs, medium: str) -> None:
    tool, args, ext, key = GENERATORS[medium]
    name = long_name(250)  # the extension the bytes call for makes it 254 bytes; a -2 would make it 256
    result = await client.call_tool(tool, {**args, "save_path": name})
    (first,) = saved_files(result, key)
    assert Path(first["path"]) == dirs.output / f"{name}{ext}" and first.get("note") is None
    await reads_back(client, result, first)
    before = Path(first["path"]).read_bytes()

    # The same name again: the first file stays as it was, the new one is saved and linked, with a note.
    result = await client.call_tool(tool, {**args, "save_path": name})
    (second,) = saved_files(result, key)
    path = Path(second["path"])
    assert path != Path(first["path"]) and path.is_relative_to(dirs.output) and len(os.fsencode(path.name)) <= 255
    assert path.suffix == ext and second["note"] and "save_path" in second["note"]
    assert second["note"] in result.content[0].text
    await reads_back(client, result, second)
    assert Path(first["path"]).read_bytes() == before


@pytest.mark.parametrize(
    ("medium", "ext", "args"),
    [
        ("image", ".jpeg", {"model": "openai/gpt-5-image-mini"}),  # JPEG bytes: the .jpeg given stays
        ("audio", ".wave", {"format": "wav"}),  # WAV bytes: the .wave given stays
    ],
)
async def test_a_save_path_taken_by_a_255_character_file_is_saved_elsewhere_with_a_note(
    client: Client, dirs: Dirs, medium: str, ext: str, args: dict[str, Any]
) -> None:
    tool, base, _, key = GENERATORS[medium]
    existing = dirs.output / "taken" / long_name(255, ext)
    existing.parent.mkdir(exist_ok=True)
    existing.write_bytes(b"do not touch")
    result = await client.call_tool(tool, {**base, **args, "save_path": f"taken/{existing.name}"})
    (saved,) = saved_files(result, key)
    path = Path(saved["path"])
    assert path != existing and path.exists() and len(os.fsencode(path.name)) <= 255
    assert saved["note"] and existing.name[:8] in saved["note"] and saved["note"] in result.content[0].text
    await reads_back(client, result, saved)
    assert existing.read_bytes() == b"do not touch"
    # Billed once, and the ledger row holds it.
    generation_ids = set(result.structured_content.get("generation_ids") or [result.structured_content.get("generation_id")])
    rows = await ledger_rows(dirs.home, generation_ids)
    assert len(rows) == 1


def _unworkable(dirs: Dirs) -> list[str]:
    (dirs.output / "a-file").write_bytes(b"x")
    return [
        "r" * 300 + ".png",  # one component over 255 bytes
        "d" * 300 + "/x.png",  # a folder name over 255 bytes
        "r" * 253,  # fits as given, but not once the extension is added
        "é" * 126 + ".png",  # 256 bytes in 130 characters
        "a-file/x.png",  # a folder that cannot be created: a file is in the way
        "deep/" * 900 + "x.png",  # longer than a whole path may be
    ]


@pytest.mark.parametrize("medium", ["image", "audio", "video"])
async def test_a_save_path_that_cannot_work_is_refused_before_any_request(stdio: Client, dirs: Dirs, sim_log: SimLog, medium: str) -> None:
    tool, args, _, _ = GENERATORS[medium]
    for save_path in _unworkable(dirs):
        mark = sim_log.mark()
        result = await stdio.call_tool(tool, {**args, "save_path": save_path})
        error = error_of(result)
        assert error["code"] == "INVALID_INPUT", (save_path[:20], error)
        assert error["details"]["field"] == "save_path" and error["message"].startswith("save_path: ")
        assert new_entries(sim_log, mark) == [], save_path[:20]


async def test_get_video_status_refuses_an_unworkable_save_path_and_still_saves_later(stdio: Client, dirs: Dirs, sim_log: SimLog) -> None:
    result = await stdio.call_tool("generate_video", {"prompt": "a paper boat", "wait_seconds": 0})
    video_id = error_of(result)["details"]["video_id"]
    mark = sim_log.mark()
    result = await stdio.call_tool("get_video_status", {"video_id": video_id, "save_path": "v" * 300, "wait_seconds": 20})
    error = error_of(result)
    assert error["code"] == "INVALID_INPUT" and error["details"]["field"] == "save_path"
    assert not [e for e in sim_log.entries()[mark:] if e["path"].endswith("/content")]  # nothing downloaded
    name = long_name(250)
    result = await stdio.call_tool("get_video_status", {"video_id": video_id, "save_path": name, "wait_seconds": 20})
    (saved,) = saved_files(result, "videos")
    assert Path(saved["path"]) == dirs.output / f"{name}.mp4"
    await reads_back(stdio, result, saved)


async def test_benchmark_exports_check_the_name_and_write_long_ones(stdio: Client, dirs: Dirs) -> None:
    run = await stdio.call_tool("benchmark_models", {"models": ["bench/swift", "bench/steady"], "prompts": ["Say hi."], "runs": 1, "warmup": 0})
    assert not run.is_error, run.content[0].text
    benchmark_id = run.structured_content["benchmark_id"]
    name = long_name(250)  # 255 bytes with .html: only a temporary name longer than that could fail
    result = await stdio.call_tool("export_benchmark_report", {"benchmark_id": benchmark_id, "format": "html", "save_path": name})
    assert not result.is_error, result.content[0].text
    path = Path(result.structured_content["path"])
    assert path == dirs.output / f"{name}.html" and path.read_text().startswith("<!doctype html>")
    assert [p for p in dirs.output.iterdir() if p.name.endswith(".tmp")] == []
    for save_path in ("r" * 252, "d" * 300 + "/x.html", "a-file/x.html"):
        (dirs.output / "a-file").write_bytes(b"x")
        error = error_of(await stdio.call_tool("export_benchmark_report", {"benchmark_id": benchmark_id, "save_path": save_path}))
        assert error["code"] == "INVALID_INPUT" and error["details"]["field"] == "save_path", (save_path[:20], error)


# ---------- the last resorts, below the tools ----------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "out").mkdir()
    env = {"OPENROUTER_INPUT_DIR": str(tmp_path), "OPENROUTER_OUTPUT_DIR": str(tmp_path / "out"), "OPENROUTER_MCP_HOME": str(tmp_path / "home")}
    return load_settings(env, simulate=True)


def png() -> bytes:
    from .media_support import image_bytes

    return image_bytes((8, 8))


def test_a_write_that_fails_under_the_requested_name_falls_back_with_a_note(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def refuse_the_requested_name(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path).name.startswith("cat"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(output.os, "open", refuse_the_requested_name)
    saved = output.write(settings, png(), medium="image", fmt=BY_NAME["png"], save_path="art/cat.png", prompt="cat")
    assert saved.path.parent == Path(os.path.realpath(settings.output_dir)) / "images"
    assert saved.path.name.startswith("image-") and saved.path.suffix == ".png" and saved.path.read_bytes() == png()
    assert saved.note is not None and "art/cat.png" in saved.note and "Permission denied" in saved.note
    assert saved.uri == f"media://output/images/{saved.path.name}"


def test_when_even_the_fallback_fails_the_error_says_where_the_bytes_are_and_what_was_billed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_room(path: Any, *args: Any, **kwargs: Any) -> int:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(output.os, "open", no_room)
    with pytest.raises(ToolFailure) as caught:
        output.write(settings, png(), medium="image", fmt=BY_NAME["png"], save_path="cat.png", prompt="cat", billed="$0.04 (generation gen-1)")
    failure = caught.value
    assert failure.code is not ErrorCode.INTERNAL
    assert "$0.04" in failure.message and "No space left on device" in failure.message
    kept = failure.details and failure.details.get("saved_to")
    if kept:  # the system's temporary folder took the bytes
        assert Path(kept).read_bytes() == png() and kept in failure.message
        Path(kept).unlink()
    else:
        assert "lost" in failure.message
