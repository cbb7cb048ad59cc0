"""How many prompt tokens a media source may cost, for budget checks made before it is sent. The figures
bound common providers from above (Gemini counts 32 tokens a second of audio and about 300 a second of
video; a PDF page sent as an image is up to about 1,600 tokens). A long recording or a thick document
therefore counts for what it is, not as one image would."""

from __future__ import annotations

import math
import re
import struct
import wave
from collections.abc import Callable
from typing import BinaryIO

from ..tokens import MEDIA_PART_TOKENS
from .inputs import MediaInput

AUDIO_TOKENS_PER_S = 32
VIDEO_TOKENS_PER_S = 300
PAGE_TOKENS = 1_600
# When a file's duration cannot be read, it is bounded by a bitrate below what such files are stored at.
AUDIO_MIN_BYTES_PER_S = 4_000  # 32 kbit/s
VIDEO_MIN_BYTES_PER_S = 62_500  # 500 kbit/s
PDF_MIN_BYTES_PER_PAGE = 10_000  # when no page objects can be counted (compressed object streams)
SCAN_BYTES = 64 * 1024 * 1024  # the most of a document read to count its pages
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def media_prompt_tokens(inp: MediaInput) -> int:
    """A generous bound on the prompt tokens `inp` adds. A URL's size is not known before it is fetched by
    the provider, so it counts as one image does."""
    size = inp.size
    if inp.url is not None or not size or inp.medium == "image":
        return MEDIA_PART_TOKENS
    name = inp.format.name if inp.format else ""
    if inp.medium == "audio":
        seconds = _opened(inp, _wav_seconds) if name == "wav" else None
        return max(MEDIA_PART_TOKENS, math.ceil((seconds if seconds is not None else size / AUDIO_MIN_BYTES_PER_S) * AUDIO_TOKENS_PER_S))
    if inp.medium == "video":
        seconds = _opened(inp, _mp4_seconds) if name in ("mp4", "mov") else None
        return max(MEDIA_PART_TOKENS, math.ceil((seconds if seconds is not None else size / VIDEO_MIN_BYTES_PER_S) * VIDEO_TOKENS_PER_S))
    if name == "pdf":
        pages = _opened(inp, _pdf_pages) or math.ceil(size / PDF_MIN_BYTES_PER_PAGE)
        return max(MEDIA_PART_TOKENS, math.ceil(pages) * PAGE_TOKENS)
    return max(MEDIA_PART_TOKENS, math.ceil(size / 3))  # text: about 3 bytes a token, as estimate_text_tokens counts


def _opened(inp: MediaInput, read: Callable[[BinaryIO], float | None]) -> float | None:
    """`read` applied to the source's bytes (from memory or the checked file); None when it cannot tell."""
    import io

    try:
        if inp.data is not None:
            return read(io.BytesIO(inp.data))
        with inp.open() as f:
            return read(f)
    except (OSError, EOFError, ValueError, struct.error, wave.Error):
        return None


def _wav_seconds(f: BinaryIO) -> float | None:
    with wave.open(f, "rb") as w:
        rate = w.getframerate()
        return w.getnframes() / rate if rate else None


def _mp4_seconds(f: BinaryIO) -> float | None:
    """The movie's duration from its `mvhd` box (inside `moov`, which may sit at either end of the file)."""
    end = f.seek(0, 2)
    pos = 0
    while pos + 8 <= end:
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", f.read(8))[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return None
        if kind == b"moov":
            inner, stop = pos + header, pos + size
            while inner + 8 <= stop:
                f.seek(inner)
                box, name = struct.unpack(">I4s", f.read(8))
                if name == b"mvhd":
                    version = f.read(4)[0]
                    if version == 1:
                        f.read(16)
                        timescale, duration = struct.unpack(">IQ", f.read(12))
                    else:
                        f.read(8)
                        timescale, duration = struct.unpack(">II", f.read(8))
                    return duration / timescale if timescale else None
                if box < 8:
                    return None
                inner += box
            return None
        pos += size
    return None


def _pdf_pages(f: BinaryIO) -> float | None:
    pages = len(_PAGE.findall(f.read(SCAN_BYTES)))
    return pages or None
