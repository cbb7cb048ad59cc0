"""Families of resource templates that differ only in their extension (and so their MIME type): the saved
media outputs (`…/{+path}.png`, `.jpg`, …) and the benchmark reports. The SDK's decorator builds an argument
model, its JSON schema and a validating wrapper for every template it registers, about 3 ms each; a family
of 24 would cost 70 ms of every start-up, before the first request. Here the first template of a family is
built by the SDK and the others are copies of it with their own URI, name, MIME type and reader: the same
templates in resources/templates/list, built in a fraction of the time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.uri_template import UriTemplate

Reader = Callable[[str, str], Awaitable[Any]]  # (path without its extension, extension) -> the resource's content


def add_templates_by_extension(server: MCPServer[Any], *, uri_prefix: str, kinds: Iterable[tuple[str, str]], name: str, description: str, read: Reader) -> None:
    """One template `<uri_prefix>{+path}.<ext>` per (ext, mime) in `kinds`, read by `read(path, ext)`; `name` and
    `description` may name `{ext}`."""
    manager = server._resource_manager
    first = None
    for ext, mime in kinds:
        uri = f"{uri_prefix}{{+path}}.{ext}"
        fn = _reader_for(read, ext)
        if first is None:
            first = manager.add_template(fn, uri, name=name.format(ext=ext), description=description.format(ext=ext), mime_type=mime)
        else:
            update = {"uri_template": uri, "name": name.format(ext=ext), "description": description.format(ext=ext), "mime_type": mime}
            manager._templates[uri] = first.model_copy(update={**update, "fn": fn, "parsed_template": UriTemplate.parse(uri)})


def _reader_for(read: Reader, ext: str) -> Callable[[str], Awaitable[Any]]:
    async def read_resource(path: str) -> Any:
        return await read(path, ext)

    return read_resource
