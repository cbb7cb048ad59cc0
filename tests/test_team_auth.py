"""Who may call the team server over real HTTP: `orm_` bearer tokens read from the database on every
request (on SQLite and PostgreSQL, across two replicas), an open loopback server that closes when the
first user is added, and OAuth access tokens from a test-local identity provider, with their metadata."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from openrouter_mcp.app import App
from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.core.identity import ADMIN_SCOPE, USER_CLAIM, User
from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.web.oauth import JWKS_MIN_REFRESH_S, JwtVerifier
from openrouter_mcp.web.tokens import TeamTokenVerifier

from .conftest import HttpServer, SimLog, free_port, send_json, server_env

TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
CHAT_ARGS = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi."}]}
CHAT_CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "chat_completion", "arguments": CHAT_ARGS}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
AUDIENCE = "https://mcp.example.com/mcp"
PUBLIC_URL = "https://mcp.example.com"


# --- helpers shared with test_team_edges ---------------------------------------------------------------


def users_cli(env: dict[str, str], *args: str) -> str:
    """`openrouter-mcp users ...` as an operator runs it; its stdout."""
    run = subprocess.run([sys.executable, "-m", "openrouter_mcp", "users", *args], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def add_user(env: dict[str, str], name: str, *extra: str) -> str:
    """A new user's bearer token (the last line `users add` prints)."""
    return users_cli(env, "add", name, *extra).strip().splitlines()[-1]


async def post(url: str, body: dict[str, Any] = TOOLS_LIST, *, token: str | None = None, headers: dict[str, str] | None = None) -> httpx2.Response:
    sent = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    async with httpx2.AsyncClient(timeout=60) as http:
        return await http.post(url, json=body, headers=sent)


@asynccontextmanager
async def connected(url: str, token: str | None = None, **headers: str) -> AsyncIterator[Client]:
    """The official MCP client, sending a bearer token (and any other header) on every request."""
    sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **headers}
    async with create_mcp_http_client(headers=sent) as http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client:
        yield client


def stopped_log(server: HttpServer) -> str:
    """The server's whole log once it has stopped; no bearer token or API key ever appears in it."""
    server.stop()
    text = server.log_path.read_text()
    assert "orm_" not in text and SIMULATOR_KEY not in text, "a secret reached the server log"
    return text


def assert_challenged(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer "), response.headers
    assert "jsonrpc" not in response.text  # refused before anything ran: no JSON-RPC answer at all


# --- orm_ tokens ---------------------------------------------------------------------------------------


async def test_a_loopback_server_is_open_until_the_first_user_is_added(simulator: RunningSimulator, sim_log: SimLog, database_url: str, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path / "home", OPENROUTER_MCP_DATABASE_URL=database_url)
    server = HttpServer(env, tmp_path / "server.log")
    try:
        assert (await post(server.url)).status_code == 200  # no users, no OAuth, loopback: open

        token = add_user(env, "alice")
        mark = sim_log.mark()
        assert_challenged(await post(server.url, CHAT_CALL))  # closed at once, without a restart
        assert_challenged(await post(server.url, CHAT_CALL, token="orm_" + "A" * 43))
        assert_challenged(await post(server.url, CHAT_CALL, token=token[:-1]))
        assert_challenged(await post(server.url, CHAT_CALL, headers={"Authorization": token}))  # not a Bearer header
        assert sim_log.chats(mark) == [], "a refused request reached OpenRouter"

        async with connected(server.url, token) as client:
            assert "chat_completion" in {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool("chat_completion", CHAT_ARGS)
            assert not result.is_error, result.structured_content
            assert result.structured_content is not None and result.structured_content["text"]
    finally:
        log = stopped_log(server)
    assert "no users and no OAuth" in log.split("Streamable HTTP on")[0]  # the one-line warning at start


async def test_a_rotated_token_is_refused_at_once_by_every_replica(simulator: RunningSimulator, database_url: str, tmp_path: Path) -> None:
    env = server_env(simulator, tmp_path / "home", OPENROUTER_MCP_DATABASE_URL=database_url)
    old = add_user(env, "bob")
    replicas = [HttpServer(env, tmp_path / f"replica{i}.log") for i in range(2)]
    try:
        for replica in replicas:
            assert (await post(replica.url, token=old)).status_code == 200

        new = users_cli(env, "rotate", "bob").strip().splitlines()[-1]
        assert new.startswith("orm_") and new != old
        for replica in replicas:
            assert_challenged(await post(replica.url, token=old))
            async with connected(replica.url, new) as client:
                assert (await client.list_tools()).tools

        users_cli(env, "remove", "bob")
        for replica in replicas:
            assert_challenged(await post(replica.url, token=new))
    finally:
        for replica in replicas:
            stopped_log(replica)


# --- OAuth ---------------------------------------------------------------------------------------------


class Issuer:
    """A test-local identity provider: OpenID Connect discovery and a JWKS over real HTTP, keys made here."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.jwks: list[dict[str, Any]] = [{**json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key())), "kid": "rsa-1", "use": "sig"}]
        self.jwks_fetches = 0
        self.last_jwks_fetch = 0.0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":  # no RFC 8414 document: discovery falls back to OIDC
                    body: Any = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    issuer.last_jwks_fetch = time.monotonic()
                    body = {"keys": issuer.jwks}
                else:
                    self.send_error(404)
                    return
                send_json(self, 200, body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    def publish_ec_key(self) -> None:
        self.jwks.append({**json.loads(ECAlgorithm.to_jwk(self.ec.public_key())), "kid": "ec-1", "use": "sig"})

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": "carol", "iat": now, "nbf": now - 5, "exp": now + 600, "scope": "openid"}
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, kid: str = "rsa-1", key: Any = None, algorithm: str = "RS256", **changes: Any) -> str:
        return jwt.encode(self.claims(**changes), key or self.rsa, algorithm=algorithm, headers={"kid": kid})

    def unsigned(self, algorithm: str, secret: bytes = b"") -> str:
        """A token PyJWT would not make: `none`, or HS256 keyed with the public key (algorithm confusion)."""

        def part(obj: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        signing_input = f"{part({'alg': algorithm, 'typ': 'JWT', 'kid': 'rsa-1'})}.{part(self.claims())}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
        return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    yield running
    running.stop()


def oauth_env(simulator: RunningSimulator, home: Path, issuer: Issuer) -> dict[str, str]:
    return server_env(
        simulator,
        home,
        OPENROUTER_MCP_OAUTH_ISSUER=issuer.url,
        OPENROUTER_MCP_OAUTH_AUDIENCE=AUDIENCE,
        OPENROUTER_MCP_PUBLIC_URL=PUBLIC_URL,
    )


@pytest.fixture(scope="module")
def oauth_server(simulator: RunningSimulator, issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    home = tmp_path_factory.mktemp("oauth")
    server = HttpServer(oauth_env(simulator, home / "home", issuer), home / "server.log")
    yield server
    stopped_log(server)


async def test_oauth_401_points_to_the_protected_resource_metadata(oauth_server: HttpServer, issuer: Issuer) -> None:
    refused = await post(oauth_server.url)
    assert_challenged(refused)
    assert f'resource_metadata="{PUBLIC_URL}/.well-known/oauth-protected-resource/mcp"' in refused.headers["www-authenticate"]
    async with httpx2.AsyncClient() as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            # Served without a token, also under the public name the proxy forwards.
            for host in (None, "mcp.example.com"):
                answer = await http.get(oauth_server.url.removesuffix("/mcp") + path, headers={"Host": host} if host else {})
                assert answer.status_code == 200, (path, answer.text)
                metadata = answer.json()
                assert metadata["resource"] == f"{PUBLIC_URL}/mcp"
                assert [s.rstrip("/") for s in metadata["authorization_servers"]] == [issuer.url]
                assert ADMIN_SCOPE in metadata["scopes_supported"] and metadata["bearer_methods_supported"] == ["header"]


async def test_a_good_access_token_works_and_its_admin_scope_is_seen(oauth_server: HttpServer, issuer: Issuer) -> None:
    async with connected(oauth_server.url, issuer.token()) as client:
        assert (await client.list_tools()).tools
        result = await client.call_tool("chat_completion", CHAT_ARGS)
        assert not result.is_error, result.structured_content
        mine = await client.call_tool("get_usage_stats", {"user": "dave"})
        assert mine.is_error  # carol is no admin: another user's usage is refused
    async with connected(oauth_server.url, issuer.token(sub="erin", scope=f"openid {ADMIN_SCOPE}")) as client:
        theirs = await client.call_tool("get_usage_stats", {"user": "carol"})
        assert not theirs.is_error, theirs.structured_content
        assert theirs.structured_content is not None and theirs.structured_content["summary"]["total_requests"] >= 1


@pytest.mark.parametrize(
    "case",
    [
        "wrong audience",
        "wrong issuer",
        "expired",
        "not yet valid",
        "no subject",
        "foreign key",
        "unknown key",
        "alg none",
        "HS256 with the public key",
        "local",
    ],
)
async def test_a_bad_access_token_gets_401(oauth_server: HttpServer, issuer: Issuer, case: str) -> None:
    now = int(time.time())
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "wrong audience": lambda: issuer.token(aud="https://other.example.com/mcp"),
        "wrong issuer": lambda: issuer.token(iss="https://evil.example.com"),
        "expired": lambda: issuer.token(exp=now - 3600, iat=now - 7200, nbf=now - 7200),
        "not yet valid": lambda: issuer.token(nbf=now + 3600),
        "no subject": lambda: issuer.token(sub=None),
        "foreign key": lambda: issuer.token(key=foreign),  # same kid, another key: a forgery
        "unknown key": lambda: issuer.token(key=foreign, kid="rsa-unknown"),
        "alg none": lambda: issuer.unsigned("none"),
        "HS256 with the public key": lambda: issuer.unsigned("HS256", issuer.public_pem()),
        "local": lambda: issuer.token(sub="local"),  # the name of everything made on an open server
    }[case]()
    assert_challenged(await post(oauth_server.url, CHAT_CALL, token=token))


async def test_orm_tokens_keep_working_alongside_oauth(oauth_server: HttpServer, simulator: RunningSimulator, issuer: Issuer, tmp_path: Path) -> None:
    home = Path(oauth_server.log_path).parent / "home"
    token = add_user(oauth_env(simulator, home, issuer), "frank")
    async with connected(oauth_server.url, token) as client:
        assert (await client.list_tools()).tools


async def test_a_new_signing_key_is_fetched_without_a_restart(oauth_server: HttpServer, issuer: Issuer) -> None:
    assert (await post(oauth_server.url, token=issuer.token())).status_code == 200  # the JWKS is fetched by now
    issuer.publish_ec_key()
    await asyncio.sleep(max(0.0, issuer.last_jwks_fetch + JWKS_MIN_REFRESH_S + 0.5 - time.monotonic()))
    before = issuer.jwks_fetches
    assert (await post(oauth_server.url, token=issuer.token(kid="ec-1", key=issuer.ec, algorithm="ES256"))).status_code == 200
    assert issuer.jwks_fetches == before + 1


async def test_an_unreachable_identity_provider_gets_503_not_500(simulator: RunningSimulator, issuer: Issuer, tmp_path: Path) -> None:
    env = oauth_env(simulator, tmp_path / "home", issuer)
    env["OPENROUTER_MCP_OAUTH_JWKS_URL"] = f"http://127.0.0.1:{free_port()}/jwks"  # nothing listens there
    server = HttpServer(env, tmp_path / "server.log")
    try:
        answer = await post(server.url, CHAT_CALL, token=issuer.token())
        assert answer.status_code == 503 and answer.headers["retry-after"], answer.text
        assert answer.json()["error"] == "temporarily_unavailable"
    finally:
        log = stopped_log(server)
    assert "identity provider is unreachable" in log and "Traceback" not in log


async def test_a_stored_user_brings_budgets_and_the_admin_scope_makes_an_admin(issuer: Issuer, tmp_path: Path) -> None:
    settings = load_settings(
        {
            "OPENROUTER_MCP_HOME": str(tmp_path),
            "OPENROUTER_MCP_OAUTH_ISSUER": issuer.url,
            "OPENROUTER_MCP_OAUTH_AUDIENCE": AUDIENCE,
            "OPENROUTER_MCP_PUBLIC_URL": PUBLIC_URL,
        },
        require_key=False,
    )
    app = App(settings)
    try:
        await (await app.storage()).add_user("grace", token="orm_grace", daily_budget_usd=Decimal(2))
        verifier = TeamTokenVerifier(app, JwtVerifier(issuer=issuer.url, audience=AUDIENCE, jwks_url=None))

        async def user_of(token: str) -> User:
            access = await verifier.verify_token(token)
            assert access is not None and access.claims is not None
            assert "orm_" not in access.token
            user = access.claims[USER_CLAIM]
            assert isinstance(user, User)
            return user

        grace = await user_of(issuer.token(sub="grace"))
        assert (grace.name, grace.admin, grace.daily_budget_usd) == ("grace", False, Decimal(2))
        assert (await user_of(issuer.token(sub="heidi", scope=None, scp=["openid", ADMIN_SCOPE]))).admin
        assert (await user_of(issuer.token(sub="ivan", scope=f"openid {ADMIN_SCOPE}"))).admin
        assert not (await user_of(issuer.token(sub="judy", scope="openid profile"))).admin
        assert (await user_of("orm_grace")).name == "grace"
    finally:
        await app.aclose()
