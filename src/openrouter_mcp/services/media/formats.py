"""Media formats: which formats each medium accepts, what a file is from its first bytes (magic numbers),
and the MIME types and extensions that go with each. The bytes decide; the extension is only a fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Medium = Literal["image", "audio", "video", "document"]

# Bytes needed to recognise every format below.
SNIFF_BYTES = 64


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    medium: Medium
    mime: str
    ext: str
    aliases: tuple[str, ...] = ()


FORMATS: tuple[Format, ...] = (
    Format("png", "image", "image/png", "png"),
    Format("jpeg", "image", "image/jpeg", "jpg", ("jpeg", "jpe")),
    Format("webp", "image", "image/webp", "webp"),
    Format("gif", "image", "image/gif", "gif"),
    Format("wav", "audio", "audio/wav", "wav", ("wave",)),
    Format("mp3", "audio", "audio/mpeg", "mp3"),
    Format("flac", "audio", "audio/flac", "flac"),
    Format("ogg", "audio", "audio/ogg", "ogg", ("oga", "opus")),
    Format("m4a", "audio", "audio/mp4", "m4a"),
    Format("aac", "audio", "audio/aac", "aac"),
    Format("aiff", "audio", "audio/aiff", "aiff", ("aif",)),
    Format("mp4", "video", "video/mp4", "mp4", ("m4v",)),
    Format("mov", "video", "video/quicktime", "mov", ("qt",)),
    Format("webm", "video", "video/webm", "webm"),
    Format("mpeg", "video", "video/mpeg", "mpeg", ("mpg",)),
    Format("pdf", "document", "application/pdf", "pdf"),
    Format("txt", "document", "text/plain", "txt", ("text", "log")),
    Format("md", "document", "text/markdown", "md", ("markdown",)),
    Format("csv", "document", "text/csv", "csv"),
    Format("json", "document", "application/json", "json"),
    Format("html", "document", "text/html", "html", ("htm",)),
    Format("xml", "document", "application/xml", "xml"),
)
BY_NAME = {f.name: f for f in FORMATS}
_BY_EXT = {ext: f for f in FORMATS for ext in (f.ext, *f.aliases)}
_BY_MIME = {f.mime: f for f in FORMATS} | {
    "image/jpg": BY_NAME["jpeg"],
    "audio/mp3": BY_NAME["mp3"],
    "audio/x-wav": BY_NAME["wav"],
    "audio/wave": BY_NAME["wav"],
}
# Documents that are text: recognised by extension, accepted only when the bytes are UTF-8 text.
TEXT_DOCUMENTS = frozenset({"txt", "md", "csv", "json", "html", "xml"})


def supported(medium: Medium) -> list[str]:
    return [f.name for f in FORMATS if f.medium == medium]


def by_extension(name: str) -> Format | None:
    _, dot, ext = name.rpartition(".")
    return _BY_EXT.get(ext.lower()) if dot else None


def by_mime(mime: str) -> Format | None:
    return _BY_MIME.get(mime.split(";", 1)[0].strip().lower())


def _ftyp(head: bytes) -> Format | None:
    """ISO base media (MP4, MOV, M4A): `....ftyp<brand>` at offset 4."""
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        return BY_NAME["m4a"]
    if brand == b"qt  ":
        return BY_NAME["mov"]
    return BY_NAME["mp4"]


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version/layer, bitrate and sample rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0 and bitrate not in (0, 0b1111) and rate != 0b11


def sniff(head: bytes) -> Format | None:
    """The format the first bytes of a file declare, or None when no magic number matches."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return BY_NAME["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return BY_NAME["jpeg"]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return BY_NAME["gif"]
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return BY_NAME["webp"]
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return BY_NAME["wav"]
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return BY_NAME["aiff"]
    if head.startswith(b"fLaC"):
        return BY_NAME["flac"]
    if head.startswith(b"OggS"):
        return BY_NAME["ogg"]
    if head.startswith(b"%PDF-"):
        return BY_NAME["pdf"]
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: WebM and Matroska share the container; we accept WebM only.
        return BY_NAME["webm"] if b"webm" in head[:SNIFF_BYTES] else None
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return BY_NAME["mpeg"]
    if (fmt := _ftyp(head)) is not None:
        return fmt
    if head.startswith(b"ID3") or _mp3_frame(head):
        return BY_NAME["mp3"]
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return BY_NAME["aac"]  # ADTS
    return None


def is_utf8_text(sample: bytes) -> bool:
    """True when a sample decodes as UTF-8 without control characters other than whitespace (the sample
    may end mid-character)."""
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            return False
        text = sample[: exc.start].decode("utf-8")
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)
