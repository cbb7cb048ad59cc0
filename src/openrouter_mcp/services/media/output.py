"""Where generated media is saved: under the output folder only (a caller's `save_path` is resolved
there and refused if it leads outside), with the extension the bytes call for, and never over an
existing file. Each saved file has a `media://output/...` URI that the media toolset serves as a
resource.

Nothing paid for is lost to a name: `check_save_path` refuses, before anything is sent, a save_path
that could not be written (a name or path over the filesystem's limits with any extension the medium
may end up with, a folder that cannot be created). After paying, a name taken by another file is
numbered (`-2`, cut short to fit when it must), and when the requested name still cannot be written the
file goes under a fallback name in the medium's folder, with a note saying why."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePath, PurePosixPath

from ...config import Settings
from ...errors import ErrorCode, ToolFailure, invalid
from .formats import FORMATS, Format, Medium

URI_PREFIX = "media://output/"
_FOLDERS: dict[Medium, str] = {"image": "images", "audio": "audio", "video": "videos", "document": "documents"}
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
# The limits when the filesystem does not state its own: bytes in one file or folder name, and in a path.
NAME_MAX = 255
PATH_MAX = 4096


@dataclass(frozen=True, slots=True)
class SavedFile:
    path: Path
    uri: str
    mime: str
    size_bytes: int
    format: str
    note: str | None = None  # why the file is not where (or named as) save_path asked


def _root(settings: Settings) -> Path:
    root = Path(os.path.realpath(settings.output_dir))
    root.mkdir(parents=True, exist_ok=True)
    return root


def folder(settings: Settings, medium: Medium) -> Path:
    """The output folder's sub-folder for a medium (images, audio, videos, documents), created if missing."""
    path = _root(settings) / _FOLDERS[medium]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _unsafe(save_path: str, settings: Settings) -> ToolFailure:
    return ToolFailure(
        ErrorCode.UNSAFE_PATH,
        f"save_path: {save_path[:300]!r} is outside the output folder ({settings.output_dir}). Pass a path relative to it, or leave save_path out.",
        details={"field": "save_path", "output_dir": str(settings.output_dir)},
    )


def slug(text: str, limit: int = 40) -> str:
    return _SLUG_CHARS.sub("-", text.lower()).strip("-")[:limit].strip("-") or "output"


def _size(text: str | PurePath) -> int:
    """Bytes of a name or path as the filesystem stores it."""
    return len(os.fsencode(text))


def _short(text: str | PurePath, keep: int = 48) -> str:
    """A long name for a message: its start and its end."""
    text = str(text)
    return text if len(text) <= keep else f"{text[: keep - 14]}…{text[-12:]}"


def _limits(existing: Path) -> tuple[int, int]:
    """The filesystem's longest file name and path, in bytes, where the folder `existing` is."""
    try:
        name_max, path_max = os.pathconf(existing, "PC_NAME_MAX"), os.pathconf(existing, "PC_PATH_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or a filesystem that does not say
        return NAME_MAX, PATH_MAX
    return (name_max if name_max > 0 else NAME_MAX), (path_max if path_max > 0 else PATH_MAX)


def output_limits(settings: Settings) -> tuple[int, int]:
    """The longest file name and path, in bytes, in the output folder's filesystem."""
    return _limits(_root(settings))


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long to look up is not a folder
        return False


def check_path(path: Path, field: str, limits: tuple[int, int]) -> None:
    """INVALID_INPUT naming `field` unless `path` (absolute, symlinks resolved) can be created as it is: no
    name over the filesystem's limit, the whole path under its limit, and a folder that exists or can
    be made (no file in the way, writable)."""
    name_max, path_max = limits
    for part in path.parts[1:]:
        if _size(part) > name_max:
            raise invalid(
                field,
                f"the name {_short(part)!r} would be {_size(part)} bytes; file and folder names may have at most {name_max}",
                f"Shorten it by {_size(part) - name_max} byte{'s' if _size(part) - name_max > 1 else ''} or more, or leave {field} out",
            )
    if _size(path) >= path_max:
        raise invalid(field, f"the path would be {_size(path)} bytes long, over the {path_max - 1}-byte limit", f"Use a shorter path, or leave {field} out")
    existing = path.parent
    while not os.path.lexists(existing):
        existing = existing.parent
    if not existing.is_dir():
        raise invalid(field, f"{existing} is a file, so the folder {_short(path.parent, 120)} cannot be made", f"Pick another folder, or leave {field} out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise invalid(field, f"the folder {existing} cannot be written to", f"Pick a writable folder, or leave {field} out")


def _default_name(prompt: str, fmt: Format, index: int | None) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(prompt)}{'' if index is None else f'-{index}'}.{fmt.ext}"


def check_save_path(save_path: str | None, settings: Settings, *, medium: Medium | None = None, count: int = 1) -> None:
    """Refuse, before anything is paid for, a save_path that leads outside the output folder (UNSAFE_PATH)
    or that could not be written (INVALID_INPUT): the name is checked as it will be written, with the
    longest extension the medium (any, when None) may end up with and the numbering of `count` outputs."""
    if save_path is None:
        return
    root = _root(settings)
    limits = _limits(root)
    for part in PurePath(save_path).parts:
        if _size(part) > limits[0]:  # before any look-up, which such a name would fail
            check_path(Path("/", part), "save_path", limits)
    formats = [f for f in FORMATS if f.medium == medium] if medium is not None else [f for f in FORMATS if f.medium != "document"]
    index = count if count > 1 else None
    worst = max((_requested(save_path, settings, f, _default_name("x" * 40, f, index), index) for f in formats), key=_size)
    check_path(worst, "save_path", limits)


def _target(save_path: str, settings: Settings, default_name: str, fmt: Format | None) -> tuple[Path, bool]:
    """The file a save_path names (inside the output folder), and whether it named a folder (the default
    file name is then used inside it)."""
    root = _root(settings)
    if "\x00" in save_path:
        raise _unsafe(save_path.replace("\x00", "\\0"), settings)
    given = Path(save_path)
    candidate = given if given.is_absolute() else root / given
    directory_wanted = save_path.endswith(("/", os.sep)) or _is_dir(candidate)
    if directory_wanted:
        candidate = candidate / (default_name or "x")
    real_parent = Path(os.path.realpath(candidate.parent))
    if not (real_parent == root or real_parent.is_relative_to(root)):
        raise _unsafe(save_path, settings)
    name = candidate.name
    if name in ("", ".", ".."):
        raise _unsafe(save_path, settings)
    if fmt is not None:
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem or ext.lower() not in (fmt.ext, *fmt.aliases):
            # The bytes decide the extension: a WAV saved as .mp3 would not play.
            name = f"{stem if dot and stem else name}.{fmt.ext}"
    return real_parent / name, directory_wanted


def _requested(save_path: str, settings: Settings, fmt: Format, default_name: str, index: int | None) -> Path:
    """The file a save_path asks for, numbered `-index` when it names a file and the call makes several."""
    target, in_folder = _target(save_path, settings, default_name, fmt)
    return target if in_folder or index is None else target.with_name(f"{target.stem}-{index}{target.suffix}")


def _fit(stem: str, tail: str, limit: int) -> str:
    """stem + tail, the stem cut short (never to nothing) when the name would be over `limit` bytes."""
    while len(stem) > 1 and _size(stem + tail) > limit:
        stem = stem[:-1]
    return stem + tail


def _reserve(path: Path) -> tuple[Path, str | None]:
    """Create the file exclusively (never following a symlink), adding -2, -3... to the name if it exists,
    the name cut short when the number would not fit; returns the file and, when cut, a note."""
    name_max, path_max = _limits(path.parent)
    limit = min(name_max, path_max - 1 - _size(path.parent) - 1)
    stem, suffix = path.stem, path.suffix
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(_fit(stem, f"-{n}{suffix}", limit))
        try:
            os.close(os.open(candidate, flags, 0o644))
        except FileExistsError:
            continue
        cut = n > 1 and not candidate.name.startswith(f"{stem}-{n}")
        return candidate, (f"{_short(path.name)} exists and a -{n} would make the name too long, so it was cut short" if cut else None)
    raise ToolFailure(ErrorCode.INTERNAL, f"Could not find a free file name next to {path}.")


def target_path(settings: Settings, *, medium: Medium, fmt: Format, save_path: str | None, prompt: str, index: int | None = None) -> tuple[Path, str | None]:
    """A reserved (created, empty) file for one output, and a note when its name had to be cut short.
    `index` numbers the outputs of one call."""
    note = None
    if save_path is None:
        target = folder(settings, medium) / _default_name(prompt, fmt, index)
    else:
        target = _requested(save_path, settings, fmt, _default_name(prompt, fmt, index), index)
        name_max = _limits(_root(settings))[0]
        if _size(target.name) > name_max:  # numbered past what was checked before paying
            note = f"{_short(target.name)} would be over {name_max} bytes, so it was cut short"
            target = target.with_name(_fit(target.stem, target.suffix, name_max))
        target.parent.mkdir(parents=True, exist_ok=True)
        if not Path(os.path.realpath(target.parent)).is_relative_to(_root(settings)):
            raise _unsafe(save_path, settings)
    path, cut = _reserve(target)
    return path, note or cut


def describe(path: Path, settings: Settings, fmt: Format, note: str | None = None) -> SavedFile:
    rel = PurePosixPath(*path.relative_to(_root(settings)).parts)
    return SavedFile(path=path, uri=URI_PREFIX + str(rel), mime=fmt.mime, size_bytes=path.stat().st_size, format=fmt.name, note=note)


def billed_text(cost_usd: Decimal | None, generation_id: str | None) -> str:
    """What a paid call cost, for a message about its output."""
    cost = f"${cost_usd:.6f}" if cost_usd is not None else "the cost get_usage shows"
    return f"{cost}, generation {generation_id}" if generation_id else cost


def _why(exc: BaseException) -> str:
    if isinstance(exc, ToolFailure):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


class NotSaved(Exception):
    """Neither the requested name nor the fallback name could be written; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _place(settings: Settings, put: Callable[[Path], None], *, medium: Medium, fmt: Format, save_path: str | None, prompt: str, index: int | None) -> SavedFile:
    """Reserve the requested file and `put` the output there. When that fails for any reason (a name too
    long after all, a permission, a race), the output goes under `<medium>-<time>-<id>.<ext>` in the
    medium's folder instead, with a note saying why; NotSaved when even that fails."""
    try:
        path, note = target_path(settings, medium=medium, fmt=fmt, save_path=save_path, prompt=prompt, index=index)
    except (OSError, ToolFailure) as exc:
        first = _why(exc)
    else:
        try:
            put(path)
        except OSError as exc:
            first = _why(exc)
            _discard(path)
        else:
            return describe(path, settings, fmt, None if note is None else f"save_path: {note}; saved as {_short(path.name)}.")
    fallback: Path | None = None
    try:
        fallback, _ = _reserve(folder(settings, medium) / f"{medium}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.{fmt.ext}")
        put(fallback)
    except (OSError, ToolFailure) as exc:
        _discard(fallback)
        raise NotSaved(f"{first}; then in {_FOLDERS[medium]}/: {_why(exc)}") from None
    asked = f"save_path {_short(save_path)!r}" if save_path is not None else "the default name"
    return describe(fallback, settings, fmt, f"{asked} could not be used ({first}); saved as {fallback.relative_to(_root(settings)).as_posix()} instead.")


def _discard(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _put_bytes(data: bytes) -> Callable[[Path], None]:
    def put(path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "wb") as f:
            f.write(data)

    return put


def write(
    settings: Settings,
    data: bytes,
    *,
    medium: Medium,
    fmt: Format,
    save_path: str | None,
    prompt: str,
    index: int | None = None,
    billed: str = "the cost get_usage shows",
) -> SavedFile:
    """Save paid-for bytes: under the requested name, else under a fallback name (with a note), else in the
    system's temporary folder, which the JOB_FAILED error names along with what the call cost."""
    try:
        return _place(settings, _put_bytes(data), medium=medium, fmt=fmt, save_path=save_path, prompt=prompt, index=index)
    except NotSaved as failure:
        reason = failure.reason
    message = f"The {medium} was generated and billed ({billed}) but could not be saved in the output folder ({reason})."
    try:
        fd, kept = tempfile.mkstemp(prefix=f"openrouter-mcp-{medium}-", suffix=f".{fmt.ext}")
        with open(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise ToolFailure(ErrorCode.JOB_FAILED, f"{message} Nor in the temporary folder ({_why(exc)}): the {medium} is lost.", retryable=False) from None
    raise ToolFailure(ErrorCode.JOB_FAILED, f"{message} It was kept at {kept}; move it where you want it.", retryable=False, details={"saved_to": kept})


def move_into_place(
    settings: Settings, source: Path, *, medium: Medium, fmt: Format, save_path: str | None, prompt: str, index: int | None = None
) -> SavedFile:
    """Move a finished file (a download written under a temporary name in the medium's folder) to where
    save_path asks, else to a fallback name with a note; NotSaved when neither works (`source` stays)."""

    def put(path: Path) -> None:
        os.replace(source, path)

    return _place(settings, put, medium=medium, fmt=fmt, save_path=save_path, prompt=prompt, index=index)


def resolve_uri_path(rel: str, settings: Settings) -> Path:
    """The file behind a `media://output/<rel>` URI, which must be inside the output folder."""
    root = _root(settings)
    real = Path(os.path.realpath(root / rel))
    if not real.is_relative_to(root) or "\x00" in rel:
        raise ToolFailure(ErrorCode.UNSAFE_PATH, f"{URI_PREFIX}{rel} is outside the output folder.")
    if not real.is_file():
        raise ToolFailure(ErrorCode.INVALID_INPUT, f"{URI_PREFIX}{rel} does not exist.")
    return real
