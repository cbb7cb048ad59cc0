"""Signing in to the dashboard through the OAuth issuer (OPENROUTER_MCP_OAUTH_CLIENT_ID): Chromium follows
the authorization code flow with PKCE to a real identity provider on loopback (metadata, JWKS, an
/authorize that approves at once, a /token that checks the code, the verifier, the client and the
redirect URI) and comes back signed in as the token's subject; a callback this browser did not start, or
with a forged state, signs nobody in."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from openrouter_mcp.simulator.server import RunningSimulator

from . import conftest
from .conftest import HttpServer, send_json, server_env
from .test_dashboard_chromium import Browser, artifacts_dir, need_chromium

pytestmark = pytest.mark.timeout(300)

AUDIENCE = "openrouter-mcp-dashboard-test"
CLIENT_ID = "dashboard-test-client"


class Provider:
    """An identity provider that approves every authorization request for `subject`."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict[str, str]] = {}
        self.redeemed: list[dict[str, str]] = []
        self.hold = False  # True: /authorize answers a page instead of approving (a person still deciding)
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/oauth-authorization-server":
                    self.reply(
                        200,
                        {
                            "issuer": provider.url,
                            "jwks_uri": provider.url + "/jwks",
                            "authorization_endpoint": provider.url + "/authorize",
                            "token_endpoint": provider.url + "/token",
                        },
                    )
                elif url.path == "/jwks":
                    self.reply(200, {"keys": [{**json.loads(RSAAlgorithm.to_jwk(provider.key.public_key())), "kid": "k1", "use": "sig"}]})
                elif url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID and query["code_challenge_method"] == "S256"
                    if provider.hold:
                        self.reply(200, {"deciding": True})
                        return
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = query
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")
                    self.end_headers()
                else:
                    self.reply(404, {})

            def do_POST(self) -> None:
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                provider.redeemed.append(form)
                asked = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if (
                    asked is None
                    or challenge != asked["code_challenge"]
                    or form.get("redirect_uri") != asked["redirect_uri"]
                    or form.get("client_id") != CLIENT_ID
                ):
                    self.reply(400, {"error": "invalid_grant"})
                    return
                now = int(time.time())
                claims = {"iss": provider.url, "aud": AUDIENCE, "sub": provider.subject, "iat": now, "exp": now + 600, "scope": "openid"}
                self.reply(200, {"access_token": jwt.encode(claims, provider.key, algorithm="RS256", headers={"kid": "k1"}), "token_type": "Bearer"})

            def reply(self, status: int, body: Any) -> None:
                send_json(self, status, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider("erin@example.com")
    yield p
    p.stop()


@pytest.fixture
def oauth_server(simulator: RunningSimulator, provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpServer]:
    need_chromium()
    port = conftest.free_port()
    monkeypatch.setattr(conftest, "free_port", lambda: port)  # the public URL must name the port the server gets
    env = server_env(
        simulator,
        tmp_path / "home",
        OPENROUTER_MCP_OAUTH_ISSUER=provider.url,
        OPENROUTER_MCP_OAUTH_AUDIENCE=AUDIENCE,
        OPENROUTER_MCP_OAUTH_CLIENT_ID=CLIENT_ID,
        OPENROUTER_MCP_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    server = HttpServer(env, tmp_path / "server.log")
    yield server
    server.stop()


def test_a_person_signs_in_through_the_identity_provider(
    oauth_server: HttpServer, provider: Provider, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = artifacts_dir(tmp_path_factory, "dashboard-oauth")
    origin = f"http://127.0.0.1:{oauth_server.port}"
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(f"{origin}/dashboard")
        browser.screenshot(shots / "01-sign-in-oauth.png")
        browser.js("document.getElementById('oauth-sign-in').click()")
        for _ in range(100):
            if browser.js("location.pathname") == "/dashboard" and browser.text("#signed-in"):
                break
            time.sleep(0.1)
        assert browser.text("#signed-in") == "erin@example.com", browser.text("body")
        (redeemed,) = provider.redeemed
        assert redeemed["grant_type"] == "authorization_code" and redeemed["resource"] == f"{origin}/mcp"
        assert browser.text("#total-requests b") == "0"
        browser.screenshot(shots / "02-signed-in-oauth.png")
        (session,) = [c for c in browser.cookies() if c["name"] == "orm_dashboard"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert not [c for c in browser.cookies() if c["name"] == "orm_dashboard_oauth"]  # the flow's cookie is gone

        # A callback this browser did not start (or with a forged state) signs nobody in.
        other = Browser(tmp_path / "profile-2")
        try:
            other.open(f"{origin}/dashboard/oauth/callback?code=stolen&state=forged")
            assert "not started here" in (other.text("#sign-in-error") or "")
            assert not [c for c in other.cookies() if c["name"] == "orm_dashboard"]
        finally:
            other.close()
        provider.hold = True
        browser.open(f"{origin}/dashboard/oauth/start")  # a new flow in the same browser, then a forged state
        browser.open(f"{origin}/dashboard/oauth/callback?code=x&state=forged")
        assert "does not match" in (browser.text("#sign-in-error") or "")
    finally:
        browser.close()
