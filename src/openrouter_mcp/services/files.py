"""Saved outputs across replicas. Every user saves into a folder of their own (see `App.settings`), so a
link names a file only its maker can reach. On PostgreSQL, which replicas share, each saved file is also
recorded in the database under its URI, with its bytes up to OPENROUTER_MCP_MAX_STORED_FILE_BYTES, so a
`resources/read` that reaches another replica than the one that saved the file still returns it. With a
folder every replica mounts as OPENROUTER_OUTPUT_DIR, set that cap to 0 and the bytes stay on disk only.

Replicas with output folders of their own can pick the same name for two files (the same prompt in the
same second, or the same save_path): the database holds one file per URI, so the second is renamed
(`-r2`, `-r3`, ...) before its link is given out, and no link ever names two different files."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.identity import current_user

if TYPE_CHECKING:
    from ..core.context import Core
    from ..storage import Storage
    from .media.output import SavedFile

log = logging.getLogger("openrouter_mcp.files")
MAX_RENAMES = 20


async def _shared(core: Core) -> Storage | None:
    """The database, when replicas share it (PostgreSQL); None on SQLite, which one machine's replicas
    use with one output folder."""
    storage = await core.storage()
    return storage if storage.dialect.name == "postgresql" else None


async def _content(core: Core, path: Path, uri: str) -> tuple[int, bytes | None]:
    size = path.stat().st_size
    cap = core.settings.team.max_stored_file_bytes
    if size > cap:
        if cap > 0:
            log.info("%s is %d bytes, over the %d-byte cap for keeping files in the database; other replicas cannot serve it", uri, size, cap)
        return size, None
    return size, await asyncio.to_thread(path.read_bytes)


async def claim(core: Core, saved: SavedFile) -> SavedFile:
    """Record a just-saved media file as the current user's, where every replica can read it, and return
    it (renamed, with a note, if another replica already gave out its link). Off PostgreSQL, or if the
    database cannot be written, the file is returned as it is: it stays readable through this replica."""
    try:
        if (storage := await _shared(core)) is None:
            return saved
        size, content = await _content(core, saved.path, saved.uri)
        user = current_user().name
        current = saved
        for n in range(2, MAX_RENAMES + 2):
            if await storage.claim_file(user_name=user, uri=current.uri, mime_type=current.mime, size_bytes=size, content=content):
                return current
            current = await asyncio.to_thread(_renamed, current, saved, n)
        log.warning("no free name for %s after %d tries; it is served by this replica only", saved.uri, MAX_RENAMES)
        return current
    except Exception as exc:
        log.warning("could not record %s in the database for other replicas: %s", saved.uri, exc)
        return saved


def _renamed(current: SavedFile, first: SavedFile, n: int) -> SavedFile:
    """`current` moved to `<first's stem>-r<n>` (or the next free number) in the same folder."""
    while os.path.lexists(target := first.path.with_name(f"{first.path.stem}-r{n}{first.path.suffix}")):
        n += 1
    os.rename(current.path, target)
    note = f"another server of this team had saved a file as {first.path.name}, so this one is {target.name}."
    return dataclasses.replace(
        current,
        path=target,
        uri=f"{first.uri.rsplit('/', 1)[0]}/{target.name}",
        note=f"{first.note} {note[0].upper()}{note[1:]}" if first.note else note[0].upper() + note[1:],
    )


async def keep(core: Core, uri: str, path: str | Path, mime_type: str | None) -> None:
    """Keep a file that is rewritten in place under a fixed name (a benchmark report exported again) where
    every replica can read it: the newest version wins. Failures are logged, never raised."""
    try:
        if (storage := await _shared(core)) is None:
            return
        size, content = await _content(core, Path(path), uri)
        await storage.put_file(user_name=current_user().name, uri=uri, mime_type=mime_type, size_bytes=size, content=content)
    except Exception as exc:
        log.warning("could not keep %s in the database for other replicas: %s", uri, exc)


async def read(core: Core, uri: str) -> bytes | None:
    """The bytes another replica kept for the current user's `uri`, or None."""
    if (storage := await _shared(core)) is None:
        return None
    stored = await storage.get_file(user_name=current_user().name, uri=uri)
    return None if stored is None else stored.content
