"""Signing in to the dashboard through the OAuth issuer, when OPENROUTER_MCP_OAUTH_CLIENT_ID names a public
client registered there: the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636 S256, `state`
against forgery, RFC 8707 `resource` so the token is for this server). The access token that comes back is
checked exactly as /mcp checks one, then becomes the same session cookie a pasted token does."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from .oauth import issuer_metadata, redeem_code, resource_url

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from ..config import TeamSettings

FLOW_COOKIE = "orm_dashboard_oauth"
FLOW_MAX_AGE_S = 600  # from leaving for the identity provider to coming back


class OAuthSignIn:
    def __init__(self, team: TeamSettings, sealer: Fernet, *, path: str, secure: bool) -> None:
        assert team.oauth_issuer and team.oauth_client_id and team.public_url
        self.issuer = team.oauth_issuer
        self.client_id = team.oauth_client_id
        self.resource = str(resource_url(team.public_url))
        self.redirect_uri = f"{team.public_url}{path}/oauth/callback"
        self.cookie_path = f"{path}/oauth"
        self.sealer = sealer
        self.secure = secure

    async def start(self) -> Response:
        """Send the browser to the issuer, keeping the state and the PKCE verifier in a short-lived cookie."""
        endpoint = (await issuer_metadata(self.issuer)).get("authorization_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise ValueError(f"the metadata of {self.issuer} names no authorization_endpoint")
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": self.resource,
        }
        response = Response(status_code=303, headers={"Location": f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"})
        sealed = self.sealer.encrypt(json.dumps({"s": state, "v": verifier}).encode("utf-8")).decode("ascii")
        # Lax, not Strict: the browser comes back to the callback from the issuer's site.
        response.set_cookie(FLOW_COOKIE, sealed, max_age=FLOW_MAX_AGE_S, path=self.cookie_path, httponly=True, samesite="lax", secure=self.secure)
        return response

    async def finish(self, request: Request) -> tuple[str | None, str]:
        """(the access token, "") for a callback of the flow this browser started; (None, why) otherwise."""
        from cryptography.fernet import InvalidToken

        if error := request.query_params.get("error"):
            return None, f"The identity provider said: {error[:100]}."
        try:
            flow = json.loads(self.sealer.decrypt(request.cookies.get(FLOW_COOKIE, "").encode("ascii"), ttl=FLOW_MAX_AGE_S))
        except (InvalidToken, ValueError, UnicodeError):
            return None, "This sign-in was not started here, or took longer than ten minutes. Start it again."
        if not isinstance(flow, dict) or not secrets.compare_digest(str(flow.get("s")), request.query_params.get("state", "")):
            return None, "This sign-in does not match the one this browser started. Start it again."
        code = request.query_params.get("code", "")
        if not code:
            return None, "The identity provider sent no code. Start again."
        endpoint = (await issuer_metadata(self.issuer)).get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return None, "The identity provider publishes no token endpoint."
        form = {
            "grant_type": "authorization_code",
            "code": code[:2000],
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": str(flow.get("v")),
            "resource": self.resource,
        }
        token = await redeem_code(endpoint, form)
        return (token, "") if token else (None, "The identity provider did not give an access token for that code. Start again.")

    def forget(self, response: Response) -> None:
        response.delete_cookie(FLOW_COOKIE, path=self.cookie_path, httponly=True, samesite="lax", secure=self.secure)
