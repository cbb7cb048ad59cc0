"""Saved outputs (media, benchmark reports) as the database knows them: whose each link is, and, where the
database is shared by replicas (PostgreSQL), the bytes themselves up to a cap, so a link made on one
replica can be read through any other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .sql import SQLBase


@dataclass(frozen=True, slots=True)
class StoredFile:
    uri: str
    user_name: str
    mime_type: str | None
    size_bytes: int
    content: bytes | None


_INSERT = "INSERT INTO files (user_name, uri, mime_type, size_bytes, content, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_name, uri) DO "
_REPLACE = "UPDATE SET mime_type = excluded.mime_type, size_bytes = excluded.size_bytes, content = excluded.content, created_at = excluded.created_at"


class FileQueries(SQLBase):
    async def put_file(self, *, user_name: str, uri: str, mime_type: str | None, size_bytes: int, content: bytes | None) -> None:
        """Record (or replace) a user's saved file under its URI, with its bytes when `content` is given."""
        await self._insert_file(_REPLACE, user_name, uri, mime_type, size_bytes, content)

    async def claim_file(self, *, user_name: str, uri: str, mime_type: str | None, size_bytes: int, content: bytes | None) -> bool:
        """Record a user's saved file under its URI unless that URI is taken (by a file another replica
        saved under the same name): True if this one now holds it."""
        return await self._insert_file("NOTHING", user_name, uri, mime_type, size_bytes, content) == 1

    async def _insert_file(self, on_conflict: str, user_name: str, uri: str, mime_type: str | None, size_bytes: int, content: bytes | None) -> int:
        async with self.connection() as conn:
            return await conn.execute(_INSERT + on_conflict, user_name, uri, mime_type, size_bytes, content, self.dialect.encode_ts(datetime.now(UTC)))

    async def get_file(self, *, user_name: str, uri: str) -> StoredFile | None:
        """A user's saved file by URI; None if that user has none there."""
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT uri, user_name, mime_type, size_bytes, content FROM files WHERE user_name = $1 AND uri = $2", user_name, uri)
        if not rows:
            return None
        row = rows[0]
        content = row["content"]
        return StoredFile(row["uri"], row["user_name"], row["mime_type"], int(row["size_bytes"]), None if content is None else bytes(content))

    async def list_files(self, *, user_name: str, limit: int) -> list[tuple[str, str | None, int]]:
        """A user's saved files as (uri, mime type, size in bytes), newest first, at most `limit`."""
        async with self.connection() as conn:
            rows = await conn.fetch(
                "SELECT uri, mime_type, size_bytes FROM files WHERE user_name = $1 ORDER BY created_at DESC, uri LIMIT $2", user_name, limit
            )
        return [(row["uri"], row["mime_type"], int(row["size_bytes"])) for row in rows]
