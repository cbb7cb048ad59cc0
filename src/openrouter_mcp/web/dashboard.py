"""The web dashboard of `serve --http` at /dashboard, behind the same credentials as /mcp: a person signs
in with their bearer token (a team token, or an OAuth access token when OAuth is on), which becomes an
HttpOnly, SameSite=Strict session cookie. The cookie holds that token, encrypted and dated by this server,
and the token is checked again on every request exactly as /mcp checks it, so a rotated or removed token
ends the session on every replica at once. Pages load nothing from anywhere (a strict
Content-Security-Policy says so) and run no script. See docs/dashboard.md."""

from __future__ import annotations

import json
import logging
import os
from html import escape
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.identity import LOCAL_USER, USER_CLAIM, User
from ..errors import ToolFailure
from ..render import page
from ..services.team.keys import fernet_for
from .dashboard_oauth import OAuthSignIn
from .dashboard_pages import PAGES, benchmarks, calls, frame, jobs, read_query, report, spend
from .dashboard_pages import PATH as PATH

if TYPE_CHECKING:
    from ..app import App
    from .tokens import TeamTokenVerifier

log = logging.getLogger("openrouter_mcp")

COOKIE = "orm_dashboard"
SESSION_MAX_AGE_S = 12 * 3600  # a session ends this long after sign-in, or when the browser closes
MAX_FORM_BYTES = 8192
# Nothing is loaded from anywhere, no script runs, forms post only here, and no other site may frame it.
IN_PAGE_POLICY = page.csp(forms=True)
POLICY = IN_PAGE_POLICY + "; frame-ancestors 'none'"  # a browser reads frame-ancestors from the header only
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    # "same-origin", not "no-referrer": with no referrer a browser posts the sign-in form with `Origin: null`,
    # which the Origin check refuses.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
_HKDF_INFO = b"openrouter-mcp: dashboard session cookies"


class Dashboard:
    """Answers /dashboard and the paths below it; passes every other request on unchanged."""

    def __init__(self, app: ASGIApp, *, core: App, verifier: TeamTokenVerifier, open_when_empty: bool) -> None:
        self.app = app
        self.core = core
        self.verifier = verifier
        self.open_when_empty = open_when_empty
        team = core.settings.team
        # Every replica derives the same cookie key from a secret they share (so a session works on any of
        # them); a server with neither secret makes one that lasts as long as the process.
        shared = team.secret_key or core.settings.api_key
        self.sessions = fernet_for(shared.get().encode("utf-8") if shared else os.urandom(32), _HKDF_INFO)
        self.secure = bool(team.public_url and team.public_url.startswith("https://"))
        self.oauth = OAuthSignIn(team, self.sessions, path=PATH, secure=self.secure) if team.oauth_issuer and team.oauth_client_id else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PATH and not path.startswith(PATH + "/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.handle(request, path[len(PATH) :].rstrip("/"))
        except Exception:  # the database or the identity provider: say so, never a traceback
            log.exception("the dashboard could not answer %s", path[:200])
            response = self.html("Unavailable", "<h1>Unavailable</h1><p>The server cannot answer right now; retry shortly.</p>", 503)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        await response(scope, receive, send)

    # ---------- sessions ----------

    def cookie_for(self, token: str) -> str:
        return self.sessions.encrypt(json.dumps({"t": token}).encode("utf-8")).decode("ascii")

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(COOKIE, value, path=PATH, httponly=True, samesite="strict", secure=self.secure)

    async def user(self, request: Request) -> User | None:
        """Who the request is from: the session's user, LOCAL_USER on a server still open to everyone, or None."""
        from cryptography.fernet import InvalidToken

        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                token = json.loads(self.sessions.decrypt(raw.encode("ascii"), ttl=SESSION_MAX_AGE_S))["t"]
            except (InvalidToken, ValueError, KeyError, TypeError, UnicodeError):
                token = None
            if isinstance(token, str):
                found = await self.verifier.verify_token(token)
                user = (found.claims or {}).get(USER_CLAIM) if found else None
                if isinstance(user, User):
                    return user
        if self.open_when_empty and not await (await self.core.storage()).has_users():
            return LOCAL_USER
        return None

    # ---------- pages ----------

    def html(self, title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(page.document(f"{title} · openrouter-mcp", body, policy=IN_PAGE_POLICY), status_code=status)

    def sign_in(self, error: str | None = None, status: int = 200) -> HTMLResponse:
        oauth = " or an OAuth access token from this server's identity provider" if self.core.settings.team.oauth_issuer else ""
        note = f'<p class="err" id="sign-in-error">{escape(error)}</p>' if error else ""
        body = (
            f'<div class="card"><h1>openrouter-mcp dashboard</h1>{note}'
            f'<form method="post" action="{PATH}/login"><label for="token">Your token (the <code>orm_…</code> token your admin gave you{oauth})</label>'
            '<input type="password" id="token" name="token" autocomplete="current-password" required>'
            '<button type="submit" id="sign-in">Sign in</button></form>'
            '<p class="note">The same token an MCP client sends to /mcp. It is kept in an encrypted, HttpOnly cookie until you sign out or close the browser.</p>'
            + (f'<p><a id="oauth-sign-in" href="{PATH}/oauth/start">Sign in with your identity provider</a></p>' if self.oauth else "")
            + "</div>"
        )
        return self.html("Sign in", body, status)

    async def handle(self, request: Request, sub: str) -> Response:
        if sub == "/login" and request.method == "POST":
            return await self.login(request)
        if sub == "/logout" and request.method == "POST":
            response = Response(status_code=303, headers={"Location": PATH})
            response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict", secure=self.secure)
            return response
        if request.method != "GET":
            return self.html("Not allowed", "<h1>Not allowed</h1>", 405)
        if self.oauth is not None and sub == "/oauth/start":
            return await self.oauth.start()
        if self.oauth is not None and sub == "/oauth/callback":
            return await self.oauth_callback(self.oauth, request)
        me = await self.user(request)
        if me is None:
            return self.sign_in(status=401 if request.cookies.get(COOKIE) or sub else 200)
        return await self.view(request, me, sub)

    async def oauth_callback(self, oauth: OAuthSignIn, request: Request) -> Response:
        token, why = await oauth.finish(request)
        found = await self.verifier.verify_token(token) if token else None
        if token and found is None:
            why = "The identity provider's token is not valid for this server (its audience or issuer differ); ask your admin."
        if found is None or token is None:
            log.info("refused a dashboard OAuth sign-in: %s", why)
            response: Response = self.sign_in(why, 401)
        else:
            # A page that moves on by itself, not a redirect: the browser arrived from the issuer's site, and a
            # SameSite=Strict cookie set in that chain would not be sent with its next request.
            response = self.html("Signed in", f'<meta http-equiv="refresh" content="0;url={PATH}"><p><a href="{PATH}">Continue to the dashboard</a></p>')
            self.set_cookie(response, self.cookie_for(token))
        oauth.forget(response)
        return response

    async def login(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return self.sign_in("That is not a token.", 400)
        form = await request.form()
        token = str(form.get("token") or "").strip()
        found = await self.verifier.verify_token(token) if token else None
        if found is None:
            log.info("refused a dashboard sign-in")
            return self.sign_in("That token is not valid here. Check it with your admin (`openrouter-mcp users rotate NAME` makes a new one).", 401)
        response = Response(status_code=303, headers={"Location": PATH})
        self.set_cookie(response, self.cookie_for(token))
        return response

    async def view(self, request: Request, me: User, sub: str) -> Response:
        storage = await self.core.storage()
        params = {k: v[:200] for k, v in request.query_params.items()}
        if sub.startswith("/benchmarks/"):
            page_html = await report(storage, me, sub.removeprefix("/benchmarks/"))
            if page_html is None:
                return self.html("Not found", frame(me, "benchmarks", "<h1>No such benchmark run</h1>"), 404)
            return HTMLResponse(page_html)
        current = sub.lstrip("/") or "spend"
        if current not in dict(PAGES):
            return self.html("Not found", frame(me, "", "<h1>No such page</h1>"), 404)
        try:
            q = read_query(me, params)
        except ToolFailure as failure:
            status = 403 if (failure.details or {}).get("field") == "user" else 400
            return self.html("Refused", frame(me, current, f'<h1>Refused</h1><p class="err" id="refused">{escape(failure.message)}</p>'), status)
        users: list[str] | None = None
        if current == "spend":
            body, users = await spend(self.core, storage, me, q)
        elif current == "jobs":
            body = await jobs(storage, me, q)
        elif current == "benchmarks":
            body = await benchmarks(storage, me, q)
        else:
            body = await calls(self.core, storage, me, q)
        if users is None and me.admin:
            users = [row.name for row in await storage.list_users()]
        title = dict(PAGES)[current]
        return self.html(title, frame(me, current, body, users=users, q=q))
