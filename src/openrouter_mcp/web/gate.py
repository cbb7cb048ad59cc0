"""Who may call: every request but the public OAuth metadata shows a valid bearer token, except on a
server that may stay open (see `access`) while the database holds no user. A missing or wrong token is
answered 401 with a `WWW-Authenticate: Bearer` challenge before anything runs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from pydantic import AnyHttpUrl
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.identity import PEER_SCOPE_KEY
from .answers import refusal
from .oauth import METADATA_PATH, IssuerUnreachable
from .tokens import TeamTokenVerifier

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("openrouter_mcp")


class AuthGate:
    def __init__(self, app: ASGIApp, *, core: App, verifier: TeamTokenVerifier, open_when_empty: bool, resource_metadata_url: AnyHttpUrl | None) -> None:
        self.app = app
        self.core = core
        self.backend = BearerAuthBackend(verifier)
        self.open_when_empty = open_when_empty
        # The SDK's answers: the user in a context variable for `get_access_token()`, and the 401 challenge
        # (RFC 6750 §3, with RFC 9728 §5.1's resource_metadata when OAuth is on).
        self.authenticated = AuthContextMiddleware(app)
        self.challenge = RequireAuthMiddleware(app, [], resource_metadata_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(METADATA_PATH):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        presented = "authorization" in conn.headers
        try:
            found = await self.backend.authenticate(conn) if presented else None
            # Asked on every request, never cached: the first `users add` closes every replica at once.
            open_now = not presented and self.open_when_empty and not await (await self.core.storage()).has_users()
        except Exception as exc:  # the database or the identity provider: the caller may retry, never a 500
            if isinstance(exc, IssuerUnreachable):
                log.warning("cannot check an OAuth token: the identity provider is unreachable (%s)", exc)
            else:
                log.exception("cannot check a request's credentials")
            answer = refusal(503, "temporarily_unavailable", "The server cannot check credentials right now; retry shortly.", {"Retry-After": "5"})
            await answer(scope, receive, send)
            return
        if found is not None:
            credentials, user = found
            await self.authenticated({**scope, "auth": credentials, "user": user}, receive, send)
        elif open_now:
            await self.app(scope, receive, send)
        else:
            if presented:
                log.info("refused a bearer token from %s", scope.get(PEER_SCOPE_KEY, "?"))
            await self.challenge(scope, receive, send)
