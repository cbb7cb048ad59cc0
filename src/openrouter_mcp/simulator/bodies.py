"""Request-body reading for the simulator's routes: a streaming JSON reader that keeps huge uploads out of
memory and the request log by replacing every JSON string over 64 KiB with a summary (size, SHA-256 of the
decoded base64)."""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

COMPACT_MIN_CHARS = 64 * 1024


@dataclass
class _Blob:
    prefix: bytearray
    chars: int = 0
    carry: bytes = b""
    decoded: int = 0
    valid: bool = True
    digest: Any = field(default_factory=hashlib.sha256)

    def feed(self, piece: bytes) -> None:
        self.chars += len(piece)
        if not self.valid:
            return
        data = self.carry + piece
        cut = len(data) - len(data) % 4
        self.carry = data[cut:]
        try:
            raw = binascii.a2b_base64(data[:cut], strict_mode=True) if cut else b""
        except binascii.Error:
            self.valid = False
            return
        self.decoded += len(raw)
        self.digest.update(raw)

    def summary(self) -> dict[str, Any]:
        if self.carry:
            self.valid = False
        return {
            "prefix": self.prefix.decode("utf-8", "replace"),
            "base64_chars": self.chars,
            "bytes": self.decoded if self.valid else None,
            "sha256": self.digest.hexdigest() if self.valid else None,
        }


class BodyReader:
    """Reads a JSON body chunk by chunk, copying it except for long string values, which are hashed
    and replaced by `<prefix><sim-blob N bytes sha256=...>`. Linear in the body's size, with `bytes.find`
    doing the scanning."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.blobs: list[dict[str, Any]] = []
        self.size = 0
        self._in_string = False
        self._escape = False
        self._buf = bytearray()
        self._blob: _Blob | None = None

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        i, n = 0, len(chunk)
        while i < n:
            if not self._in_string:
                j = chunk.find(b'"', i)
                if j < 0:
                    self.out += chunk[i:]
                    return
                self.out += chunk[i : j + 1]
                self._in_string, self._buf, self._blob = True, bytearray(), None
                i = j + 1
                continue
            if self._escape:
                self._escape = False
                self._take(b"/" if chunk[i : i + 1] == b"/" and self._blob is not None else b"\\" + chunk[i : i + 1])
                i += 1
                continue
            q = chunk.find(b'"', i)
            b = chunk.find(b"\\", i)
            k = min(x for x in (q, b) if x >= 0) if max(q, b) >= 0 else -1
            if k < 0:
                self._take(chunk[i:])
                return
            self._take(chunk[i:k])
            if chunk[k] == 0x5C:  # backslash: the escaped character may be in the next chunk
                self._escape = True
                i = k + 1
                continue
            self._end_string()
            i = k + 1

    def _take(self, piece: bytes) -> None:
        if self._blob is not None:
            self._blob.feed(piece)
            return
        self._buf += piece
        if len(self._buf) > COMPACT_MIN_CHARS:
            comma = self._buf.find(b",") if self._buf.startswith(b"data:") else -1
            self._blob = _Blob(prefix=self._buf[: comma + 1])
            self._blob.feed(bytes(self._buf[comma + 1 :]))
            self._buf = bytearray()

    def _end_string(self) -> None:
        self._in_string = False
        if self._blob is None:
            self.out += self._buf + b'"'
            return
        summary = self._blob.summary()
        self.blobs.append(summary)
        self.out += self._blob.prefix + f"<sim-blob {summary['bytes']} bytes sha256={summary['sha256']}>".encode() + b'"'


async def read_body(request: Request) -> tuple[bytes, list[dict[str, Any]]]:
    """The request body with long strings summarised, and the summaries (for the request log)."""
    reader = BodyReader()
    async for chunk in request.stream():
        reader.feed(chunk)
    return bytes(reader.out), reader.blobs
