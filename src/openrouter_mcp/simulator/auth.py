"""The simulator's OAuth PKCE flow: `GET /auth`, the page where a person approves an app, and
`POST /api/v1/auth/keys`, which exchanges the code that page handed out for a new API key.

The flow, as https://openrouter.ai/docs/guides/overview/auth/oauth describes it: the app sends the person to
`/auth?callback_url=...&code_challenge=...&code_challenge_method=S256`; once approved, they are sent back to
`callback_url?code=...`; the app POSTs `{code, code_verifier, code_challenge_method}` to `/api/v1/auth/keys` and
gets `{"key": "sk-or-v1-...", "user_id": ...}`. Shapes as the `openrouter` SDK types them
(`operations.exchangeauthcodeforapikey`: the body `ExchangeAuthCodeForAPIKeyRequestBody`, the answer
`ExchangeAuthCodeForAPIKeyResponse`, errors 400 and 403 as `{"error": {...}}`). A callback URL is https, or
http on localhost or 127.0.0.1 at any port (`operations.createauthkeyscode`'s `callback_url`).

Here the page has one button (or approves at once with `?auto=1`), every code works once, and the keys it
makes are ordinary keys to every other route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .responses import error, json_object
from .state import Simulator

CODE_CHALLENGE_METHODS = ("S256", "plain")
SIMULATED_USER_ID = "user_simulated"
REFUSED_CODE = "Invalid code or code_verifier"


@dataclass
class _Grant:
    """An approved request, waiting for its code to be exchanged."""

    challenge: str | None
    method: str


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier: base64url of its SHA-256, without padding (RFC 7636)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class AuthRoutes:
    """`GET /auth` and `POST /api/v1/auth/keys`, and the codes handed out between them."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.grants: dict[str, _Grant] = {}

    def routes(self) -> list[Route]:
        return [Route("/auth", self.page), Route("/api/v1/auth/keys", self.exchange, methods=["POST"])]

    async def page(self, request: Request) -> Response:
        self.sim.state.log(request)
        params = request.query_params
        callback_url = params.get("callback_url", "")
        if not _callback_allowed(callback_url):
            return _page(400, "<p>callback_url must be an https URL, or http on localhost or 127.0.0.1.</p>")
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or "plain"  # RFC 7636's default
        if method not in CODE_CHALLENGE_METHODS:
            return _page(400, f"<p>code_challenge_method must be one of {', '.join(CODE_CHALLENGE_METHODS)}.</p>")
        if params.get("auto") != "1":
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.multi_items() if k != "auto")
            return _page(
                200,
                f"<p>An app at <code>{html.escape(callback_url)}</code> asks for an API key to the simulated OpenRouter account.</p>"
                f'<form method="get" action="/auth">{hidden}<button name="auto" value="1">Authorize</button></form>',
            )
        code = "sim-auth-" + secrets.token_urlsafe(24)
        with self.lock:
            self.grants[code] = _Grant(challenge, method)
        return RedirectResponse(_with_query(callback_url, code=code), status_code=302)

    async def exchange(self, request: Request) -> Response:
        self.sim.state.log(request)
        body = await json_object(request)
        if isinstance(body, Response):
            return body
        if not isinstance(body.get("code"), str) or not body["code"]:
            return error(400, "code: expected the authorization code from the callback")
        method = body.get("code_challenge_method")
        if method is not None and method not in CODE_CHALLENGE_METHODS:
            return error(400, f"code_challenge_method: expected one of {', '.join(CODE_CHALLENGE_METHODS)}")
        verifier = body.get("code_verifier")
        with self.lock:
            # A code is spent by its first exchange, right or wrong, so a verifier cannot be guessed at.
            grant = self.grants.pop(body["code"], None)
        if grant is None or not _verified(grant, method, verifier):
            return error(403, REFUSED_CODE)
        return JSONResponse({"key": "sk-or-v1-" + secrets.token_hex(32), "user_id": SIMULATED_USER_ID})


def _verified(grant: _Grant, method: object, verifier: object) -> bool:
    if grant.challenge is None:
        return True
    if not isinstance(verifier, str) or method not in (None, grant.method):
        return False
    expected = s256(verifier) if grant.method == "S256" else verifier
    return hmac.compare_digest(expected, grant.challenge)


def _callback_allowed(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) and (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")))


def _with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query, keep_blank_values=True), *extra.items()])))


def _page(status: int, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>OpenRouter (simulated)</title><h1>Authorize an app</h1>{body}", status_code=status)
