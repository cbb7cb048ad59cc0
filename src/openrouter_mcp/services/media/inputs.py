"""The one loader every media tool uses for its inputs. A source is a local path, an http(s) URL or a
`data:` URL:

- a local path must resolve (symlinks and `..` followed) inside the input folder or the output folder,
  and is opened again with that check, so a swapped symlink cannot redirect the read (UNSAFE_PATH);
- a URL is passed through to OpenRouter where it fetches URLs itself (images, PDFs, video) and fetched
  by us through the SSRF guard where it needs bytes (audio) (UNSAFE_URL);
- a data URL is split with `str.partition`, never a regular expression, and its size is checked before
  it is decoded.

Sizes are capped per medium before anything is read (TOO_LARGE); the format comes from the bytes, then
the extension (UNSUPPORTED_FORMAT lists what is accepted). All of it happens before any paid call."""

from __future__ import annotations

import base64
import binascii
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Literal
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from ...config import Settings
from ...errors import ErrorCode, ToolFailure, invalid, too_large
from .formats import SNIFF_BYTES, TEXT_DOCUMENTS, Format, Medium, by_extension, by_mime, is_utf8_text, sniff, supported

if TYPE_CHECKING:
    from ...upstream.safe_fetch import SafeFetcher
    from ...upstream.upload import Blob

SourceKind = Literal["path", "url", "data"]
# OpenRouter fetches URLs itself for these media; audio has to travel as base64.
PASS_THROUGH: frozenset[Medium] = frozenset({"image", "video", "document"})
_WHITESPACE = str.maketrans("", "", " \t\r\n\f\v")
_TEXT_SAMPLE_BYTES = 65_536


@dataclass(frozen=True, slots=True)
class MediaInput:
    """A checked source. Exactly one of `url` (passed through), `path` (read when sent) and `data`
    (in memory) is set."""

    field: str
    medium: Medium
    kind: SourceKind
    filename: str
    format: Format | None = None
    size: int | None = None
    url: str | None = None
    path: Path | None = None
    data: bytes | None = None
    roots: tuple[Path, ...] = ()

    @property
    def mime(self) -> str:
        return self.format.mime if self.format else "application/octet-stream"

    def open(self) -> BinaryIO:
        assert self.path is not None
        return open_inside(self.path, self.roots, self.field)

    def read(self) -> bytes:
        """The bytes, from memory or the file (only for sources already checked to be under their cap)."""
        if self.data is not None:
            return self.data
        with self.open() as f:
            return f.read()

    def blob(self) -> Blob:
        from ...upstream.upload import Blob

        if self.data is not None:
            return Blob(size=len(self.data), data=self.data)
        assert self.size is not None
        return Blob(size=self.size, open=self.open)


def cap_for(medium: Medium, settings: Settings) -> int:
    m = settings.media
    return {"image": m.max_image_bytes, "audio": m.max_audio_bytes, "video": m.max_video_bytes, "document": m.max_document_bytes}[medium]


def roots_of(settings: Settings) -> tuple[Path, ...]:
    return tuple(Path(os.path.realpath(p)) for p in (settings.input_dir, settings.output_dir))


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def unsafe_path(field: str, raw: str, settings: Settings) -> ToolFailure:
    return ToolFailure(
        ErrorCode.UNSAFE_PATH,
        f"{field}: {raw[:300]!r} is outside the folders this server may read. Put the file in the input folder "
        f"({settings.input_dir}) or the output folder ({settings.output_dir}) and pass its path (relative paths start in the input folder).",
        details={"field": field, "input_dir": str(settings.input_dir)},
    )


def resolve_input_path(raw: str, settings: Settings, field: str) -> Path:
    """The real path of a local source, which must lie inside the input or output folder after every
    symlink and `..` is followed. Relative paths start in the input folder."""
    if "\x00" in raw:
        raise unsafe_path(field, raw.replace("\x00", "\\0"), settings)
    given = Path(raw)
    candidate = given if given.is_absolute() else settings.input_dir / given
    real = Path(os.path.realpath(candidate))
    if not _inside(real, roots_of(settings)):
        raise unsafe_path(field, raw, settings)
    if not real.exists():
        raise invalid(field, f"{raw!r} does not exist", f"Put the file in {settings.input_dir} and pass its path")
    if not real.is_file():
        raise invalid(field, f"{raw!r} is not a file", "Pass the path of a file")
    return real


def open_inside(real: Path, roots: tuple[Path, ...], field: str) -> BinaryIO:
    """Open a checked path, refusing it if what was opened is no longer inside the roots (a symlink
    swapped in after the check)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise ToolFailure(
            ErrorCode.UNSAFE_PATH if exc.errno == 40 else ErrorCode.INVALID_INPUT, f"{field}: could not open the file ({exc.strerror})."
        ) from None
    if sys.platform.startswith("linux"):
        opened = Path(os.path.realpath(f"/proc/self/fd/{fd}"))
        if not _inside(opened, roots):
            os.close(fd)
            raise ToolFailure(ErrorCode.UNSAFE_PATH, f"{field}: the file moved outside the allowed folders while it was being opened.")
    return os.fdopen(fd, "rb")


def unsupported(field: str, medium: Medium, what: str) -> ToolFailure:
    names = supported(medium)
    return ToolFailure(
        ErrorCode.UNSUPPORTED_FORMAT,
        f"{field}: {what}. Supported {medium} formats: {', '.join(names)}.",
        details={"field": field, "supported": names},
    )


def detect_format(head: bytes, name: str, medium: Medium, field: str, *, declared_mime: str | None = None, sample: bytes | None = None) -> Format:
    """The format from the bytes first; then the declared MIME type or the extension (for formats without
    a magic number, such as text documents)."""
    found = sniff(head)
    if found is not None:
        if found.medium != medium:
            raise unsupported(field, medium, f"the file is {found.name.upper()} ({found.medium}), not {medium}")
        return found
    guess = (by_mime(declared_mime) if declared_mime else None) or by_extension(name)
    if guess is None or guess.medium != medium:
        raise unsupported(field, medium, "the format could not be recognised from the file's content or name")
    # Every binary format has a magic number; only text documents are recognised by name alone.
    if guess.name not in TEXT_DOCUMENTS:
        raise unsupported(field, medium, f"the content does not look like {guess.name.upper()}")
    if not is_utf8_text(sample if sample is not None else head):
        raise unsupported(field, medium, f"the file is named as {guess.name.upper()} but is not UTF-8 text")
    return guess


def parse_data_url(raw: str, field: str, cap: int) -> tuple[str, bytes]:
    """(declared MIME type, bytes) of a `data:` URL, in time linear in its length: `str.partition` and
    `str.translate`, never a regular expression. The size is checked before decoding."""
    header, comma, payload = raw[5:].partition(",")
    if not comma:
        raise invalid(field, "is a data URL without a comma before its data", "Use data:<mime>;base64,<data>")
    if len(header) > 256:
        raise invalid(field, "has a data URL header longer than 256 characters", "Use data:<mime>;base64,<data>")
    params = [p.strip().lower() for p in header.split(";")]
    mime = params[0] or "text/plain"
    if "base64" in params[1:]:
        compact = payload.translate(_WHITESPACE)
        # Every 4 base64 characters carry 3 bytes: refuse before decoding anything too big.
        if len(compact) > (cap // 3 + 1) * 4:
            raise too_large(field, len(compact) // 4 * 3, cap)
        try:
            data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(field, "has data that is not valid base64", "Encode the file with standard base64 (A-Z a-z 0-9 + /, padded with =)") from None
    else:
        if len(payload) > cap * 3:
            raise too_large(field, len(payload) // 3, cap)
        data = unquote_to_bytes(payload)
    if len(data) > cap:
        raise too_large(field, len(data), cap)
    if not data:
        raise invalid(field, "is an empty data URL", "Put the file's bytes after the comma")
    return mime, data


def _url_filename(url: str, fallback: str) -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name or fallback


async def load(raw: str, medium: Medium, settings: Settings, *, field: str, fetcher: SafeFetcher | None = None, need_bytes: bool = False) -> MediaInput:
    """Check one source and describe it; nothing is sent anywhere except the guarded fetch of a URL whose
    bytes we need (audio, or `need_bytes`)."""
    if not isinstance(raw, str) or not raw.strip():
        raise invalid(field, "is empty", "Pass a local path, an http(s) URL or a data: URL")
    source = raw.strip()
    cap = cap_for(medium, settings)
    lowered = source[:8].lower()
    if lowered.startswith("data:"):
        declared, data = parse_data_url(source, field, cap)
        fmt = detect_format(data[:SNIFF_BYTES], "", medium, field, declared_mime=declared, sample=data[:_TEXT_SAMPLE_BYTES])
        return MediaInput(field=field, medium=medium, kind="data", filename=f"{medium}.{fmt.ext}", format=fmt, size=len(data), data=data)
    if lowered.startswith(("http://", "https://")) or "://" in source[:16]:
        from ...upstream.safe_fetch import check_url, unsafe_url

        checked = check_url(source, field)
        name = _url_filename(source, f"{medium}")
        named = by_extension(name)
        # OpenRouter fetches PDFs by URL, not other documents: those we fetch.
        passes = medium in PASS_THROUGH and not (medium == "document" and named is not None and named.name != "pdf")
        if passes and not need_bytes:
            # OpenRouter fetches this one; a name for this machine can only be a mistake.
            if checked.host == "localhost" or checked.host.endswith(".localhost"):
                raise unsafe_url(field, source, f"{checked.host} names this machine")
            return MediaInput(field=field, medium=medium, kind="url", filename=name, format=named, url=source)
        if fetcher is None:
            from ...upstream.safe_fetch import SafeFetcher

            fetcher = SafeFetcher(timeout_s=settings.media.fetch_timeout_s, connect_timeout_s=settings.connect_timeout_s)
        fetched = await fetcher.fetch(source, field=field, max_bytes=cap)
        fmt = detect_format(fetched.data[:SNIFF_BYTES], name, medium, field, declared_mime=fetched.content_type, sample=fetched.data[:_TEXT_SAMPLE_BYTES])
        return MediaInput(field=field, medium=medium, kind="data", filename=name, format=fmt, size=len(fetched.data), data=fetched.data)
    real = resolve_input_path(source, settings, field)
    size = real.stat().st_size
    if size > cap:
        raise too_large(field, size, cap)
    if size == 0:
        raise invalid(field, f"{source!r} is empty", "Pass a file with content")
    roots = roots_of(settings)
    with open_inside(real, roots, field) as f:
        sample = f.read(_TEXT_SAMPLE_BYTES)
    fmt = detect_format(sample[:SNIFF_BYTES], real.name, medium, field, sample=sample)
    return MediaInput(field=field, medium=medium, kind="path", filename=real.name, format=fmt, size=size, path=real, roots=roots)


def with_data(inp: MediaInput, data: bytes, fmt: Format) -> MediaInput:
    """The same source, now held as (re-encoded) bytes in memory."""
    stem = inp.filename.rsplit(".", 1)[0] if "." in inp.filename else inp.filename
    return replace(inp, kind="data", data=data, format=fmt, size=len(data), url=None, path=None, filename=f"{stem}.{fmt.ext}")
