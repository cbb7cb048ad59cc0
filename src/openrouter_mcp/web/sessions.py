"""Session ids for handshake-era clients, with no session state.

The server speaks stateless Streamable HTTP, so that any replica answers any request (every piece of state a
call needs is in the database). The 2025-11-25 transport lets a server assign a session id in its answer to
`initialize` (the client then sends it on every request) but does not require one; some clients and the
official conformance suite's multiple-streams scenario still expect one. So the answer to a handshake-era
`initialize` carries a fresh random `Mcp-Session-Id`, and every answer to a request that names one echoes it:
the id is never stored, any replica accepts it, and a restarted server does not forget it
(modelcontextprotocol specification 2025-11-25, basic/transports.mdx, "Session Management": "A server using
the Streamable HTTP transport MAY assign a session ID at initialization time").

A handshake-era `initialize` is the one POST that carries neither `Mcp-Protocol-Version` (not negotiated yet)
nor `Mcp-Method` (which every 2026-07-28 POST carries, an era with no sessions); such a request that is not an
`initialize` gets an id it may ignore.
"""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"mcp-session-id"
MAX_ID_CHARS = 128


class StatelessSessions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        given = headers.get(HEADER)
        if given is not None:
            session = given if len(given) <= MAX_ID_CHARS and given.isascii() and given.decode("ascii").isprintable() else None
        elif b"mcp-protocol-version" not in headers and b"mcp-method" not in headers:
            session = secrets.token_urlsafe(16).encode()
        else:
            session = None
        if session is None:
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                out = list(message.get("headers") or ())
                if not any(name.lower() == HEADER for name, _ in out):
                    message = {**message, "headers": [*out, (HEADER, session)]}
            await send(message)

        await self.app(scope, receive, send_with_id)
