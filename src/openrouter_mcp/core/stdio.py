"""The stdio transport, read and written by the event loop itself.

The SDK's `stdio_server` reads each line of stdin, and writes and flushes each answer to stdout, on a
worker thread: three trips between threads for every call, each a wake-up and a hand-over of the GIL
(about a tenth of a millisecond of the call's latency, and the writer, one answer at a time, holds every
finished call's state while hundreds wait for it). When stdin and stdout are pipes or sockets (how every
MCP client starts a server), this transport reads and writes them with asyncio's pipe transports instead,
on the loop. Everything else stays the SDK's: the same claim of descriptors 0 and 1 (stray output of
handlers and child processes goes to stderr, never onto the wire), the same message parsing and
serialization, the same streams to the server. Anywhere else (a terminal, a file, Windows, an SDK without
the claim helpers) it is the SDK's `stdio_server` unchanged."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
import mcp_types as types
from mcp.server import stdio as sdk_stdio
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

# The longest line read (one JSON-RPC message): the SDK's reader has no limit of its own.
LINE_LIMIT = 2**31


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def on_the_loop() -> bool:
    """Whether this process's stdin and stdout can be served by the loop (else: the SDK's threads)."""
    helpers = ("_claim_fd", "_open_stdin_diversion", "_open_stdout_diversion")
    return sys.platform != "win32" and all(hasattr(sdk_stdio, h) for h in helpers) and _is_pipe(0) and _is_pipe(1)


@asynccontextmanager
async def stdio_transport() -> AsyncIterator[tuple[Any, Any]]:
    """The (read stream, write stream) pair of `mcp.server.stdio.stdio_server`, for `Server.run`."""
    if not on_the_loop():
        async with sdk_stdio.stdio_server() as streams:
            yield streams
        return
    stdin_file, restore_stdin = sdk_stdio._claim_fd(0, sys.stdin, "rb", sdk_stdio._open_stdin_diversion)
    try:
        stdout_file, restore_stdout = sdk_stdio._claim_fd(1, sys.stdout, "wb", sdk_stdio._open_stdout_diversion)
    except BaseException:
        if restore_stdin is not None:
            restore_stdin()
        raise
    loop = asyncio.get_running_loop()
    wire = (stdin_file.fileno(), stdout_file.fileno())
    transports: list[asyncio.BaseTransport] = []
    try:
        # The transports own duplicates of the wire's descriptors (they close theirs): the claim's own
        # descriptors stay open until it restores 0 and 1 from them.
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(wire[0]), "rb", buffering=0))
        transports.append(read_transport)
        write_transport, write_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(os.dup(wire[1]), "wb", buffering=0))
        transports.append(write_transport)
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)

        read_stream_writer, read_stream = create_context_streams[SessionMessage | Exception](0)
        write_stream, write_stream_reader = create_context_streams[SessionMessage](0)

        async def stdin_reader() -> None:
            try:
                async with read_stream_writer:
                    while line := await reader.readline():
                        try:
                            # Decoded as the SDK's reader decodes: UTF-8, a bad byte replaced.
                            message = types.jsonrpc_message_adapter.validate_json(line.decode("utf-8", "replace"), by_name=False)
                        except Exception as exc:
                            await read_stream_writer.send(exc)
                            continue
                        await read_stream_writer.send(SessionMessage(message))
            except anyio.ClosedResourceError:
                await anyio.lowlevel.checkpoint()

        async def stdout_writer() -> None:
            try:
                async with write_stream_reader:
                    async for session_message in write_stream_reader:
                        data = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                        writer.write(data.encode() + b"\n")
                        await writer.drain()
            except anyio.ClosedResourceError:
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(stdin_reader)
            tg.start_soon(stdout_writer)
            yield read_stream, write_stream
    finally:
        for transport in transports:
            transport.close()
        for fd in wire:  # the loop made them non-blocking: whoever shares the pipe after us gets it back as it was
            with suppress(OSError):
                os.set_blocking(fd, True)
        if restore_stdout is not None:
            restore_stdout()
        if restore_stdin is not None:
            restore_stdin()


async def serve_stdio(server: Any) -> None:
    """Run an `MCPServer` over this transport (what `MCPServer.run_stdio_async` does over the SDK's)."""
    low = server._lowlevel_server
    async with stdio_transport() as (read_stream, write_stream):
        await low.run(read_stream, write_stream, low.create_initialization_options())
