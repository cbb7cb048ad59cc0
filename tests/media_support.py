"""Helpers for the media end-to-end tests: our server as a real subprocess (stdio or HTTP) with its own
input and output folders, the sample files those tests read, and ways to look inside what happened
(the simulator's request log, the SQLite ledger)."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import sys
import time
import wave
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from PIL import Image

from openrouter_mcp.simulator.media import mp3_bytes, mp4_bytes
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, HttpServer, SimLog, server_env

# Files over this are streamed from disk by the server under test (kept small so tests stay fast).
INLINE_MAX = 200_000


@dataclass
class Dirs:
    home: Path
    input: Path
    output: Path
    outside: Path

    def env(self, simulator: RunningSimulator, **extra: str) -> dict[str, str]:
        return server_env(
            simulator,
            self.home,
            OPENROUTER_INPUT_DIR=str(self.input),
            OPENROUTER_OUTPUT_DIR=str(self.output),
            OPENROUTER_MCP_VIDEO_POLL_INTERVAL_S="0.1",
            OPENROUTER_MCP_INLINE_UPLOAD_MAX_BYTES=str(INLINE_MAX),
            **extra,
        )


def make_dirs(root: Path) -> Dirs:
    dirs = Dirs(root / "home", root / "in", root / "out", root / "outside")
    for d in (dirs.home, dirs.input, dirs.output, dirs.outside):
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def image_bytes(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    image = Image.new(mode, size, (40, 120, 200, 160) if mode == "RGBA" else (40, 120, 200))
    image.save(out, format=fmt)
    return out.getvalue()


def wav_file(seconds: float, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(range(256)) * int(seconds * rate * 2 / 256))
    return out.getvalue()


def write_samples(d: Dirs) -> None:
    (d.input / "photo.png").write_bytes(image_bytes((64, 48)))
    (d.input / "png-named.jpg").write_bytes(image_bytes((40, 30)))
    (d.input / "photo.jpg").write_bytes(image_bytes((400, 300), "JPEG", "RGB"))
    (d.input / "wide.png").write_bytes(image_bytes((9000, 40), "PNG", "RGB"))
    (d.input / "hello.wav").write_bytes(wav_file(1.0))
    (d.input / "long.wav").write_bytes(wav_file(10.0))  # ~320 KB: streamed
    (d.input / "song.mp3").write_bytes(mp3_bytes(2.0))
    (d.input / "clip.mp4").write_bytes(mp4_bytes(9, 40))  # ~655 KB: streamed
    (d.input / "paper.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    (d.input / "notes.md").write_text("# Notes\n\nMeeting at 10:00 — bring the report.\n")
    (d.outside / "secret.png").write_bytes(image_bytes((8, 8)))
    (d.input / "escape.png").symlink_to(d.outside / "secret.png")
    with open(d.input / "huge.png", "wb") as f:
        f.truncate(20_000_001)  # sparse: over the 20 MB image cap without writing it


async def stdio_client_for(env: dict[str, str]) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)
    async with ClientHolder(params) as client:
        yield client


def http_server_for(env: dict[str, str], log: Path) -> Iterator[HttpServer]:
    server = HttpServer(env, log)
    yield server
    server.stop()


def new_entries(sim_log: SimLog, mark: int) -> list[dict[str, Any]]:
    """Requests since `mark`, leaving out the ledger's background cost look-ups (GET /generation)."""
    return [e for e in sim_log.entries()[mark:] if e["path"] != "/api/v1/generation"]


async def ledger_rows(home: Path, generation_ids: set[str], *, settled: bool = True, timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """The ledger rows of these generations, read from the server's SQLite file once all of them are
    there (the server writes its rows in the background, a few milliseconds after a call returns)."""
    deadline = time.monotonic() + timeout_s
    while True:
        db = sqlite3.connect(f"file:{home / 'openrouter-mcp.db'}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            marks = ",".join("?" * len(generation_ids))
            rows = [dict(r) for r in db.execute(f"SELECT * FROM ledger WHERE generation_id IN ({marks})", tuple(generation_ids))]
        finally:
            db.close()
        done = {r["generation_id"] for r in rows if not settled or r["cost_e10"] is not None}
        if done >= generation_ids or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)


def error_code(result: Any) -> str:
    assert result.is_error, result.structured_content
    code: str = result.structured_content["error"]["code"]
    return code


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> Dirs:
    d = make_dirs(tmp_path_factory.mktemp("media"))
    write_samples(d)
    return d
