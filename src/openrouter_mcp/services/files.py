"""Saved outputs across replicas. Every user saves into a folder of their own (see `App.settings`), so a
link names a file only its maker can reach. On PostgreSQL, which replicas share, a saved file's bytes are
also kept in the database (up to OPENROUTER_MCP_MAX_STORED_FILE_BYTES), so a `resources/read` that reaches
another replica than the one that saved the file still returns it. With a folder every replica mounts as
OPENROUTER_OUTPUT_DIR, set that cap to 0 and the bytes stay on disk only."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.identity import current_user

if TYPE_CHECKING:
    from ..core.context import Core

log = logging.getLogger("openrouter_mcp.files")


async def keep(core: Core, uri: str, path: str | Path, mime_type: str | None) -> None:
    """Keep a just-saved file where every replica can read it (PostgreSQL only, within the cap). A file
    that cannot be kept stays readable on this replica; the failure is logged, never raised."""
    cap = core.settings.team.max_stored_file_bytes
    if cap <= 0 or not core.settings.database_url.startswith(("postgresql://", "postgres://")):
        return
    try:
        file = Path(path)
        size = file.stat().st_size
        if size > cap:
            log.info("%s is %d bytes, over the %d-byte cap for keeping files in the database; other replicas cannot serve it", uri, size, cap)
            return
        content = await asyncio.to_thread(file.read_bytes)
        storage = await core.storage()
        await storage.put_file(user_name=current_user().name, uri=uri, mime_type=mime_type, size_bytes=len(content), content=content)
    except Exception as exc:
        log.warning("could not keep %s in the database for other replicas: %s", uri, exc)


async def read(core: Core, uri: str) -> bytes | None:
    """The bytes another replica kept for the current user's `uri`, or None."""
    if not core.settings.database_url.startswith(("postgresql://", "postgres://")):
        return None
    stored = await (await core.storage()).get_file(user_name=current_user().name, uri=uri)
    return None if stored is None else stored.content
