"""The current user's saved files (generated media, exported benchmark reports) as the resources that read
them: the files in their own output folder, and on PostgreSQL those another replica saved for them. The
local user's folder holds the team users' folders (`users/`): those are left out."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.identity import current_user
from .bench.report import FORMATS as REPORT_FORMATS
from .bench.report import URI_PREFIX as REPORT_PREFIX
from .media.formats import by_extension
from .media.output import URI_PREFIX as MEDIA_PREFIX

if TYPE_CHECKING:
    from ..core.context import Core

MAX_LISTED = 200
# A folder with more entries than this is not walked further: listing must stay quick.
MAX_SCANNED = 20_000
REPORT_EXTS = frozenset(REPORT_FORMATS.values())


@dataclass(frozen=True, slots=True)
class Listed:
    uri: str
    name: str
    mime_type: str
    size_bytes: int
    modified: float


def _uri_of(rel: str) -> tuple[str, str] | None:
    """The resource URI and MIME type that serve a file at `rel` under the output folder, if any does."""
    fmt = by_extension(rel)
    if fmt is None:
        return None
    if fmt.medium != "document":
        return MEDIA_PREFIX + rel, fmt.mime
    if rel.rpartition(".")[2].lower() in REPORT_EXTS:
        return REPORT_PREFIX + rel, fmt.mime
    return None


def _scan(root: Path, skip_users: bool) -> list[Listed]:
    found: list[Listed] = []
    scanned = 0
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if skip_users and here == root and "users" in dirs:
            dirs.remove("users")
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            scanned += 1
            if scanned > MAX_SCANNED:
                return found
            if name.startswith("."):
                continue
            rel = (here / name).relative_to(root).as_posix()
            served = _uri_of(rel)
            if served is None:
                continue
            try:
                st = (here / name).stat()
            except OSError:
                continue
            found.append(Listed(served[0], name, served[1], st.st_size, st.st_mtime))
    return found


async def saved_files(core: Core, limit: int = MAX_LISTED) -> list[Listed]:
    """The current user's saved files, newest first, at most `limit`."""
    user = current_user()
    root = Path(os.path.realpath(core.settings.output_dir))
    on_disk = await asyncio.to_thread(_scan, root, not user.team) if root.is_dir() else []
    by_uri = {f.uri: f for f in on_disk}
    # Only PostgreSQL, which replicas share, records saved files (services/files.py); SQLite is not even opened.
    if core.settings.database_url.startswith(("postgresql:", "postgres:")):
        storage = await core.storage()
        for uri, mime, size in await storage.list_files(user_name=user.name, limit=limit):
            if uri not in by_uri:
                by_uri[uri] = Listed(uri, uri.rpartition("/")[2], mime or "application/octet-stream", size, 0.0)
    return sorted(by_uri.values(), key=lambda f: (-f.modified, f.uri))[:limit]
