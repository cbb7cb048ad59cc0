"""The tools' argument schemas, kept between starts. A tool's schema is what the SDK generates from its
function's signature through a pydantic model (about 3 ms a tool); `tools/list` needs only the schema, and
a call needs the model. With the schemas of the last start at hand, a server lists its tools without
building any model, and builds a tool's model at that tool's first call (server.py, `_LazyTool`).

The schemas are reused only by the same code: the file names a fingerprint of every source file of this
package (path, size and modification time) and the versions of Python, pydantic and the MCP SDK, and any
difference builds and writes them anew. Several processes may start at once: the file is replaced whole,
never written in place."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger("openrouter_mcp")

FILE = "tool-schemas.json"
_PACKAGE = Path(__file__).resolve().parent.parent


def fingerprint() -> str:
    """What the schemas depend on: this package's source and the libraries that turn it into schemas."""
    digest = hashlib.sha256()
    for name in ("pydantic", "mcp"):
        digest.update(f"{name}={metadata.version(name)};".encode())
    digest.update(sys.version.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(_PACKAGE)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def key(fn: Any, name: str) -> str:
    """A tool's entry: the registered name and the function behind it (two functions may take one name in turn)."""
    return f"{name}={getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


class SchemaCache:
    """The schemas of one home folder's cache: `get` those of the last start of the same code; `put` the
    ones built now; `save` writes them if anything was built."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE
        self.fingerprint = fingerprint()
        self.schemas: dict[str, dict[str, Any]] = {}
        self.built = False
        try:
            stored = json.loads(self.path.read_text())
            if stored.get("fingerprint") == self.fingerprint and isinstance(stored.get("tools"), dict):
                self.schemas = stored["tools"]
        except (OSError, ValueError, AttributeError):
            pass  # none yet, or unreadable: built anew and written at the end of start-up

    def get(self, fn: Any, name: str) -> dict[str, Any] | None:
        found = self.schemas.get(key(fn, name))
        return found if isinstance(found, dict) else None

    def put(self, fn: Any, name: str, schema: dict[str, Any]) -> None:
        self.schemas[key(fn, name)] = schema
        self.built = True

    def save(self) -> None:
        if not self.built:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "tools": self.schemas}))
            os.replace(tmp, self.path)
            self.built = False
        except OSError as exc:  # a read-only home: every start builds the schemas, as before
            log.warning("could not save the tool schemas for the next start: %s", exc)
