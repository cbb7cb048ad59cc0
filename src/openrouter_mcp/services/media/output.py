"""Where generated media is saved: under the output folder only (a caller's `save_path` is resolved
there and refused if it leads outside), with the extension the bytes call for, and never over an
existing file. Each saved file has a `media://output/...` URI that the media toolset serves as a
resource."""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ...config import Settings
from ...errors import ErrorCode, ToolFailure
from .formats import Format, Medium

URI_PREFIX = "media://output/"
_FOLDERS: dict[Medium, str] = {"image": "images", "audio": "audio", "video": "videos", "document": "documents"}
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class SavedFile:
    path: Path
    uri: str
    mime: str
    size_bytes: int
    format: str


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


def check_save_path(save_path: str | None, settings: Settings) -> None:
    """Refuse a save_path that leads outside the output folder, before anything is paid for."""
    if save_path is not None:
        _target(save_path, settings, "", None)


def _target(save_path: str, settings: Settings, default_name: str, fmt: Format | None) -> tuple[Path, bool]:
    """The file a save_path names (inside the output folder), and whether it named a folder (the default
    file name is then used inside it)."""
    root = _root(settings)
    if "\x00" in save_path:
        raise _unsafe(save_path.replace("\x00", "\\0"), settings)
    given = Path(save_path)
    candidate = given if given.is_absolute() else root / given
    directory_wanted = save_path.endswith(("/", os.sep)) or (candidate.exists() and candidate.is_dir())
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


def _reserve(path: Path) -> Path:
    """Create the file exclusively, adding -2, -3... to the name if it exists; never follows a symlink."""
    stem, suffix = path.stem, path.suffix
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(f"{stem}-{n}{suffix}")
        try:
            os.close(os.open(candidate, flags, 0o644))
            return candidate
        except FileExistsError:
            continue
    raise ToolFailure(ErrorCode.INTERNAL, f"Could not find a free file name next to {path}.")


def target_path(settings: Settings, *, medium: Medium, fmt: Format, save_path: str | None, prompt: str, index: int | None = None) -> Path:
    """A reserved (created, empty) file for one output. `index` numbers the outputs of one call."""
    suffix = f"-{index}" if index is not None else ""
    default_name = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(prompt)}{suffix}.{fmt.ext}"
    if save_path is None:
        target = folder(settings, medium) / default_name
    else:
        target, in_folder = _target(save_path, settings, default_name, fmt)
        if not in_folder:
            target = target.with_name(f"{target.stem}{suffix}{target.suffix}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not Path(os.path.realpath(target.parent)).is_relative_to(_root(settings)):
            raise _unsafe(save_path, settings)
    return _reserve(target)


def describe(path: Path, settings: Settings, fmt: Format) -> SavedFile:
    rel = PurePosixPath(*path.relative_to(_root(settings)).parts)
    return SavedFile(path=path, uri=URI_PREFIX + str(rel), mime=fmt.mime, size_bytes=path.stat().st_size, format=fmt.name)


def write(settings: Settings, data: bytes, *, medium: Medium, fmt: Format, save_path: str | None, prompt: str, index: int | None = None) -> SavedFile:
    path = target_path(settings, medium=medium, fmt=fmt, save_path=save_path, prompt=prompt, index=index)
    try:
        with open(path, "wb") as f:
            f.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return describe(path, settings, fmt)


def resolve_uri_path(rel: str, settings: Settings) -> Path:
    """The file behind a `media://output/<rel>` URI, which must be inside the output folder."""
    root = _root(settings)
    real = Path(os.path.realpath(root / rel))
    if not real.is_relative_to(root) or "\x00" in rel:
        raise ToolFailure(ErrorCode.UNSAFE_PATH, f"{URI_PREFIX}{rel} is outside the output folder.")
    if not real.is_file():
        raise ToolFailure(ErrorCode.INVALID_INPUT, f"{URI_PREFIX}{rel} does not exist.")
    return real
