"""The server's log records (logger `openrouter_mcp`) sent to the MCP client as `notifications/message`, at or
above the level the client asked for, and never anything but JSON-RPC on stdout.

How a client asks (MCP "Logging", docs/specification/2025-11-25/server/utilities/logging.mdx and
2026-07-28/server/utilities/logging.mdx):
- handshake era (protocol versions up to 2025-11-25): `logging/setLevel` once per connection; from then on
  the records of that connection's requests, and the server's records outside any request, reach it;
- 2026-07-28: per request, the `io.modelcontextprotocol/logLevel` key of the request's `_meta`; only that
  request's records, on its own response stream. The same key is honoured on a handshake-era request too
  (stateless HTTP has no connection for `logging/setLevel` to outlive its request).
A client that asked for nothing gets nothing. The server's own level (OPENROUTER_MCP_LOG_LEVEL) is the floor:
a record below it is never made. Every message is redacted (the server's keys, anything shaped
like an OpenRouter key, bearer tokens), capped in size, and carries no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
import weakref
from collections import deque
from collections.abc import Mapping
from typing import Any

from mcp_types import LOG_LEVEL_META_KEY, EmptyResult, LoggingMessageNotification, LoggingMessageNotificationParams, SetLevelRequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..config import Settings

LOGGER_NAME = "openrouter_mcp"
# The simulator (serve --simulate) logs in this process too, but it plays OpenRouter, not this server.
SKIPPED_PREFIX = "openrouter_mcp.simulator"
MAX_MESSAGE_CHARS = 2000
FLUSH_TIMEOUT_S = 2.0
MAX_QUEUED = 500  # records waiting to be sent for one request

# The MCP (RFC 5424) levels and the Python level each starts at.
LEVELS: dict[str, int] = {"debug": 10, "info": 20, "notice": 25, "warning": 30, "error": 40, "critical": 50, "alert": 60, "emergency": 70}

_SECRETS: set[str] = set()
_KEY_SHAPE = re.compile(r"sk-or-[A-Za-z0-9_\-]{6,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]+")


def redact(text: str) -> str:
    """The text without the server's key, anything shaped like an OpenRouter key, or a bearer token."""
    for secret in _SECRETS:
        text = text.replace(secret, "[redacted]")
    return _BEARER.sub(r"\1[redacted]", _KEY_SHAPE.sub("[redacted]", text))


def mcp_level(levelno: int) -> str:
    """The MCP level of a Python level: the highest whose start it reaches (WARNING is "warning")."""
    found = "debug"
    for name, start in LEVELS.items():
        if levelno >= start:
            found = name
    return found


def message_of(record: logging.LogRecord) -> dict[str, Any]:
    try:
        text = record.getMessage()
    except Exception:  # a record whose arguments do not fit its format: its format alone
        text = str(record.msg)
    if record.exc_info and record.exc_info[0] is not None:
        text += f" ({record.exc_info[0].__name__})"  # the kind of failure, never the traceback
    text = redact(text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + "…"
    return {"level": mcp_level(record.levelno), "logger": record.name, "data": text}


class _RequestLog:
    """One request's log records, sent in order on its own stream before its response."""

    def __init__(self, session: Any, request_id: Any, threshold: int, loop: asyncio.AbstractEventLoop) -> None:
        self.session, self.request_id, self.threshold, self.loop = session, request_id, threshold, loop
        self.queue: deque[dict[str, Any]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.open = True

    def submit(self, params: dict[str, Any]) -> None:
        """From any thread."""
        try:
            same_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self.push(params)
        else:
            self.loop.call_soon_threadsafe(self.push, params)

    def push(self, params: dict[str, Any]) -> None:
        if not self.open:  # the request has answered: what it left running logs as the server does
            _to_connections(params)
            return
        if len(self.queue) >= MAX_QUEUED:  # a flood: the client gets the first ones, stderr has them all
            return
        self.queue.append(params)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._flush(), context=contextvars.Context())

    async def _flush(self) -> None:
        _SENDING.set(True)
        while self.queue:
            params = self.queue.popleft()
            try:
                notification = LoggingMessageNotification(params=LoggingMessageNotificationParams.model_validate(params))
                await self.session.send_notification(notification, related_request_id=self.request_id)
            except Exception:  # a closed stream: the client is gone, and so is its interest in logs
                self.queue.clear()

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.task), FLUSH_TIMEOUT_S)
        self.open = False


_CURRENT: contextvars.ContextVar[_RequestLog | None] = contextvars.ContextVar("openrouter_mcp_client_log", default=None)
_SENDING: contextvars.ContextVar[bool] = contextvars.ContextVar("openrouter_mcp_client_log_sending", default=False)
# Handshake-era connections that asked with logging/setLevel: their threshold and event loop.
_SENDS: set[asyncio.Task[None]] = set()
_CONNECTIONS: weakref.WeakKeyDictionary[Any, tuple[int, asyncio.AbstractEventLoop]] = weakref.WeakKeyDictionary()


def _to_connections(params: dict[str, Any]) -> None:
    level = LEVELS[params["level"]]
    for connection, (threshold, loop) in list(_CONNECTIONS.items()):
        if level >= threshold and not loop.is_closed():
            loop.call_soon_threadsafe(_send_on_connection, connection, params)


def _send_on_connection(connection: Any, params: dict[str, Any]) -> None:
    async def send() -> None:
        _SENDING.set(True)
        with contextlib.suppress(Exception):  # best effort: a closed connection drops it
            await connection.notify("notifications/message", params)

    task = asyncio.get_running_loop().create_task(send(), context=contextvars.Context())
    _SENDS.add(task)  # held until done (the loop keeps only a weak reference)
    task.add_done_callback(_SENDS.discard)


class ClientLogHandler(logging.Handler):
    """Hands each record of the `openrouter_mcp` logger to the client(s) that asked for it."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(SKIPPED_PREFIX) or _SENDING.get():
            return
        try:
            target = _CURRENT.get()
            if target is not None:
                if target.open and record.levelno < target.threshold:
                    return
                target.submit(message_of(record))
            elif _CONNECTIONS:
                _to_connections(message_of(record))
        except RuntimeError:  # a loop closed under us, or the connections changed meanwhile: this one is lost
            pass


def _connection_of(ctx: Any) -> Any:
    # The SDK builds a session per request around the connection; the connection is what lives on.
    return getattr(ctx.session, "_connection", None)


def _threshold(ctx: Any) -> int | None:
    params = ctx.params if isinstance(ctx.params, Mapping) else {}
    meta = params.get("_meta")
    asked = meta.get(LOG_LEVEL_META_KEY) if isinstance(meta, Mapping) else None
    if asked in LEVELS:
        return LEVELS[asked]
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return None
    connection = _connection_of(ctx)
    found = _CONNECTIONS.get(connection) if connection is not None else None
    return found[0] if found else None


async def _middleware(ctx: Any, call_next: Any) -> Any:
    if ctx.request_id is None or ctx.method in ("initialize", "logging/setLevel"):
        return await call_next(ctx)
    threshold = _threshold(ctx)
    if threshold is None:
        return await call_next(ctx)
    request = _RequestLog(ctx.session, ctx.request_id, threshold, asyncio.get_running_loop())
    token = _CURRENT.set(request)
    try:
        return await call_next(ctx)
    finally:
        _CURRENT.reset(token)
        await request.close()


async def _set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
    connection = _connection_of(ctx)
    if connection is not None:
        _CONNECTIONS[connection] = (LEVELS[params.level], asyncio.get_running_loop())
    return EmptyResult()


def install(server: Any, settings: Settings) -> None:
    """Give `server` (an MCPServer) the logging capability: `logging/setLevel`, and the records of the
    `openrouter_mcp` logger sent to the clients that asked. The server's keys are never sent."""
    for secret in (settings.api_key, settings.team.secret_key, settings.team.provisioning_key):
        if secret is not None and len(secret.get()) >= 8:
            _SECRETS.add(secret.get())
    server._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, _set_level)
    server.middleware.append(_middleware)
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, ClientLogHandler) for h in logger.handlers):
        logger.addHandler(ClientLogHandler())
