"""A cap on the GET event streams one user holds open on this replica, so one client cannot tie up the
process with streams that carry nothing.

In stateless mode the SDK answers a GET of /mcp with a text/event-stream that stays open, carrying
nothing, until the client hangs up: those are counted while open, and a GET that would open one more than
`max_streams_per_user` is answered 429. A POSTed call's answer is an event stream too, but it lasts only as
long as the call and is bounded by it (and by the user's budget): capping those would cap how many calls
one user may have in flight, which the team server does not do."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.identity import LOCAL_USER_NAME, user_of_scope
from .answers import refusal

EVENT_STREAM = "text/event-stream"


class StreamCap:
    def __init__(self, app: ASGIApp, max_per_user: int) -> None:
        self.app = app
        self.max_per_user = max_per_user
        self.open: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Only a GET that accepts an event stream can be given a standing one.
        if scope["type"] != "http" or scope.get("method") != "GET" or EVENT_STREAM not in Headers(scope=scope).get("accept", ""):
            await self.app(scope, receive, send)
            return
        user = user_of_scope(scope)
        name = user.name if user else LOCAL_USER_NAME
        if self.open.get(name, 0) >= self.max_per_user:
            answer = refusal(
                429,
                "too_many_streams",
                f"{name} already has {self.max_per_user} streams open on this server, the most one user may hold "
                "(OPENROUTER_MCP_MAX_STREAMS_PER_USER). Close one of the idle GET /mcp streams, then retry.",
                {"Retry-After": "5"},
            )
            await answer(scope, receive, send)
            return
        self.open[name] = self.open.get(name, 0) + 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.open[name] -= 1
                if not self.open[name]:
                    del self.open[name]

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and not Headers(raw=message.get("headers", [])).get("content-type", "").startswith(EVENT_STREAM):
                release()  # a plain answer (202, JSON, an error): not a stream after all
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            release()
