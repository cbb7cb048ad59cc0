"""Request bodies produced in chunks, so a large file travels to OpenRouter without ever being held in
memory whole: the JSON before the file, the file's base64 encoded block by block as it is read, and the
JSON after it. The length is known in advance (base64 is 4 bytes per 3), so the request carries a
Content-Length and no chunked encoding. See docs/decisions/0003-streamed-uploads.md."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..errors import ErrorCode, ToolFailure

# A multiple of 3, so that each block encodes to base64 without padding in the middle of the stream.
BLOCK_BYTES = 3 * 256 * 1024

UploadProgress = Callable[[int, int], Awaitable[None]]


def base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


@dataclass(frozen=True, slots=True)
class Blob:
    """The bytes to embed: `open()` returns a fresh binary file (checked against the sandbox again by the
    caller) holding exactly `size` bytes, or `data` holds them in memory."""

    size: int
    open: Callable[[], BinaryIO] | None = None
    data: bytes | None = None


class StreamedBody:
    """A JSON request body with one string value that is a file's base64. Build the body as a dict with
    `StreamedBody.MARK` where the base64 goes (e.g. `"data:video/mp4;base64," + MARK`); the body can
    be produced any number of times (each `chunks()` call reads the file again)."""

    MARK = f"@@openrouter-mcp-blob-{uuid.uuid4().hex}@@"

    def __init__(self, body: dict[str, Any], blob: Blob, *, on_progress: UploadProgress | None = None) -> None:
        encoded = json.dumps(body, separators=(",", ":")).encode()
        prefix, sep, suffix = encoded.partition(self.MARK.encode())
        if not sep or self.MARK.encode() in suffix:
            raise ValueError("the body must hold StreamedBody.MARK exactly once")
        self.prefix = prefix
        self.suffix = suffix
        self.blob = blob
        self.length = len(prefix) + base64_length(blob.size) + len(suffix)
        self.on_progress = on_progress

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.prefix
        sent = 0
        if self.blob.data is not None:
            view = memoryview(self.blob.data)
            for start in range(0, len(view), BLOCK_BYTES):
                piece = view[start : start + BLOCK_BYTES]
                yield base64.b64encode(piece)
                sent += len(piece)
                await self._progress(sent)
        else:
            assert self.blob.open is not None
            file = await asyncio.to_thread(self.blob.open)
            try:
                while sent < self.blob.size:
                    block: bytes = await asyncio.to_thread(file.read, min(BLOCK_BYTES, self.blob.size - sent))
                    if not block:
                        break
                    yield base64.b64encode(block)
                    sent += len(block)
                    await self._progress(sent)
            finally:
                await asyncio.to_thread(file.close)
        if sent != self.blob.size:
            raise ToolFailure(
                ErrorCode.INVALID_INPUT,
                f"The file changed while it was being sent ({sent} of {self.blob.size} bytes read). Leave it unchanged and try again.",
            )
        yield self.suffix

    async def _progress(self, sent: int) -> None:
        if self.on_progress is not None:
            await self.on_progress(sent, self.blob.size)
