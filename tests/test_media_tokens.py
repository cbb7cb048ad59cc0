"""Budget estimates for media count what a source holds: a recording's duration, a video's length, a
document's pages, not one image's worth for everything."""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.services.media.formats import BY_NAME
from openrouter_mcp.services.media.inputs import MediaInput
from openrouter_mcp.services.media.tokens import AUDIO_TOKENS_PER_S, PAGE_TOKENS, VIDEO_MIN_BYTES_PER_S, VIDEO_TOKENS_PER_S, media_prompt_tokens
from openrouter_mcp.services.tokens import MEDIA_PART_TOKENS
from openrouter_mcp.simulator.media import mp4_bytes
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, SimLog
from .media_support import error_code, make_dirs, wav_file


def source(fmt: str, data: bytes) -> MediaInput:
    f = BY_NAME[fmt]
    return MediaInput(field="x", medium=f.medium, kind="data", filename=f"x.{f.ext}", format=f, size=len(data), data=data)


def box(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", 8 + len(data)) + kind + data


def mp4_with_duration(seconds: int, *, version: int = 0) -> bytes:
    if version == 0:
        mvhd = bytes([0, 0, 0, 0]) + struct.pack(">IIII", 0, 0, 1000, seconds * 1000)
    else:
        mvhd = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, 600, seconds * 600)
    return box(b"ftyp", b"isom\x00\x00\x02\x00isom") + box(b"mdat", b"\x00" * 4096) + box(b"moov", box(b"mvhd", mvhd + b"\x00" * 80))


def test_audio_counts_its_duration() -> None:
    assert media_prompt_tokens(source("wav", wav_file(300, rate=8_000))) == 300 * AUDIO_TOKENS_PER_S
    assert media_prompt_tokens(source("wav", wav_file(1.0))) == MEDIA_PART_TOKENS  # never below one part


def test_video_counts_its_duration_or_a_bound_from_its_size() -> None:
    assert media_prompt_tokens(source("mp4", mp4_with_duration(120))) == 120 * VIDEO_TOKENS_PER_S
    assert media_prompt_tokens(source("mp4", mp4_with_duration(45, version=1))) == 45 * VIDEO_TOKENS_PER_S
    clip = mp4_bytes(9, 40)  # no moov box: bounded by a low bitrate
    assert media_prompt_tokens(source("mp4", clip)) == max(MEDIA_PART_TOKENS, -(-len(clip) * VIDEO_TOKENS_PER_S // VIDEO_MIN_BYTES_PER_S))


def test_a_pdf_counts_its_pages() -> None:
    pages = b"".join(b"%d 0 obj<</Type /Page /Parent 2 0 R>>endobj\n" % i for i in range(3, 15))
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type /Pages /Count 12>>endobj\n" + pages + b"%%EOF\n"
    assert media_prompt_tokens(source("pdf", pdf)) == 12 * PAGE_TOKENS


def test_urls_and_images_count_one_part() -> None:
    f = BY_NAME["mp4"]
    assert media_prompt_tokens(MediaInput(field="x", medium="video", kind="url", filename="v.mp4", format=f, url="https://example.com/v.mp4")) == MEDIA_PART_TOKENS
    assert media_prompt_tokens(source("png", b"\x89PNG" + b"\x00" * 5_000_000)) == MEDIA_PART_TOKENS


async def test_a_long_recording_is_refused_by_the_budget_a_short_one_fits(simulator: RunningSimulator, sim_log: SimLog, tmp_path: Path) -> None:
    dirs = make_dirs(tmp_path)
    (dirs.input / "short.wav").write_bytes(wav_file(2, rate=2_000))
    (dirs.input / "hour.wav").write_bytes(wav_file(3_600, rate=2_000))  # 14.4 MB: under the 25 MB audio cap
    # An hour is 115,200 tokens, about $0.035 at the default audio model's price; two seconds fit easily.
    env = dirs.env(simulator, OPENROUTER_MAX_TOKENS="16", OPENROUTER_MCP_DAILY_BUDGET_USD="0.01")
    async with ClientHolder(StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)) as client:
        mark = sim_log.mark()
        short: Any = await client.call_tool("analyze_audio", {"audio_path": "short.wav"})
        assert not short.is_error, short.content[0].text
        assert len(sim_log.chats(mark)) == 1
        mark = sim_log.mark()
        hour: Any = await client.call_tool("analyze_audio", {"audio_path": "hour.wav"})
        assert error_code(hour) == "BUDGET_EXCEEDED", hour.content[0].text
        assert sim_log.chats(mark) == []
