"""Bearer tokens into users: `orm_` tokens looked up in the database on every request (so a rotated or
removed token fails on every replica at once), and, with OAuth configured, JWT access tokens whose `sub`
names the user. Implements the MCP SDK's `TokenVerifier`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mcp.server.auth.provider import AccessToken

from ..config import Secret
from ..core.identity import ADMIN_SCOPE, LOCAL_USER_NAME, TOKEN_PREFIX, USER_CLAIM, User
from ..services.team import user_from_row
from .oauth import JwtVerifier, token_scopes

if TYPE_CHECKING:
    from ..app import App


class TeamTokenVerifier:
    def __init__(self, app: App, oauth: JwtVerifier | None) -> None:
        self.app = app
        self.oauth = oauth

    async def verify_token(self, token: str) -> AccessToken | None:
        if token.startswith(TOKEN_PREFIX):
            return await self._stored(token)
        if self.oauth is not None:
            return await self._oauth(self.oauth, token)
        return None

    async def _stored(self, token: str) -> AccessToken | None:
        row = await (await self.app.storage()).user_by_token(token)
        if row is None:
            return None
        user = user_from_row(row, self.app.settings.team)
        return _access(token, user, client_id=user.name, scopes=[ADMIN_SCOPE] if user.admin else [], claims={})

    async def _oauth(self, oauth: JwtVerifier, token: str) -> AccessToken | None:
        claims = await oauth.verify(token)
        if claims is None:
            return None
        subject = claims["sub"]
        # "local" is the name under which everything made on an open server is kept: no token may claim it.
        if not isinstance(subject, str) or not subject or subject == LOCAL_USER_NAME:
            return None
        scopes = token_scopes(claims)
        row = await (await self.app.storage()).get_user(subject)
        admin = ADMIN_SCOPE in scopes or (row is not None and row.admin)
        # A stored user of that name brings their budgets and own OpenRouter key.
        user = dataclasses.replace(user_from_row(row, self.app.settings.team), admin=admin) if row else User(subject, admin=admin)
        client_id = claims.get("client_id") or claims.get("azp") or subject
        # No expires_at: `exp` is checked already, with the clock leeway the SDK's own check would not allow.
        return _access(token, user, client_id=str(client_id), scopes=scopes, claims=claims)


def _access(token: str, user: User, *, client_id: str, scopes: list[str], claims: dict[str, object]) -> AccessToken:
    # The token itself stays out of what the request carries on: only its last characters, as in the logs.
    return AccessToken(
        token=Secret(token).masked(),
        client_id=client_id,
        scopes=scopes,
        subject=user.name,
        claims={**claims, USER_CLAIM: user},
    )
