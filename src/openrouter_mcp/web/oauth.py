"""The OAuth resource server: JWT access tokens from one identity provider, checked against its published
keys (JWKS), and the protected resource metadata (RFC 9728) that tells MCP clients where to get them.
The only code that speaks HTTP to the identity provider."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2
from pydantic import AnyHttpUrl
from starlette.routing import Route

from ..core.identity import ADMIN_SCOPE

log = logging.getLogger("openrouter_mcp")

# Signatures with a public key only: a shared-secret (HS*) or unsigned (`none`) token proves nothing here,
# since the JWKS is public.
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
CLOCK_LEEWAY_S = 30.0  # clock skew allowed on exp and nbf
JWKS_MAX_AGE_S = 600.0  # how long a fetched JWKS is used before it is fetched again (a removed key stops working)
JWKS_MIN_REFRESH_S = 5.0  # a token naming an unknown key fetches the JWKS again at most this often
FETCH_TIMEOUT_S = 10.0
METADATA_PATH = "/.well-known/oauth-protected-resource"


class IssuerUnreachable(Exception):
    """The identity provider's metadata or keys could not be read, so no token can be checked now."""


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order the MCP authorization spec has clients try them
    (basic/authorization, "Authorization Server Metadata Discovery"): RFC 8414 and OpenID Connect
    Discovery, the well-known path inserted before the issuer's path, then OIDC's appended after it."""
    parts = urlsplit(issuer)
    root = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if not path:
        return [f"{root}/.well-known/oauth-authorization-server", f"{root}/.well-known/openid-configuration"]
    return [
        f"{root}/.well-known/oauth-authorization-server{path}",
        f"{root}/.well-known/openid-configuration{path}",
        f"{root}{path}/.well-known/openid-configuration",
    ]


def _same_issuer(a: str, b: str) -> bool:
    # config.py keeps URLs without a trailing slash; some providers put one in `iss`.
    return a.rstrip("/") == b.rstrip("/")


async def _get_json(client: httpx2.AsyncClient, url: str) -> Any:
    """The JSON at `url`, None when it is not there (a 4xx); IssuerUnreachable when it cannot be read."""
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx2.HTTPError as exc:
        raise IssuerUnreachable(f"{url}: {type(exc).__name__}: {exc}") from None
    if 400 <= response.status_code < 500:
        return None
    if response.status_code != 200:
        raise IssuerUnreachable(f"{url}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise IssuerUnreachable(f"{url}: not JSON") from None


class JwtVerifier:
    """Checks a JWT access token: signature against the issuer's JWKS (fetched on first use, fetched
    again when stale or when a token names a key it does not hold, so a key rotation needs no restart),
    an asymmetric algorithm, `iss`, `aud`, `exp`, `nbf` and a `sub`."""

    def __init__(self, *, issuer: str, audience: str, jwks_url: str | None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._keys: list[dict[str, Any]] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> dict[str, Any] | None:
        """The token's claims, or None when it is not a valid access token for this server."""
        # Imported here, not with the module: PyJWT brings in the part of `cryptography` the MCP SDK does not
        # load itself (about 2 MB of a server's memory), which a server that takes no OAuth tokens never needs.
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        algorithm = header.get("alg")
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            log.info("refused a JWT signed with %r (allowed: %s)", str(algorithm)[:20], ", ".join(sorted(ASYMMETRIC_ALGORITHMS)))
            return None
        jwk = await self._key(header.get("kid"))
        if jwk is None:
            log.info("refused a JWT whose key (kid %r) the issuer does not publish", str(header.get("kid"))[:80])
            return None
        try:
            # A key that names its algorithm is used with that one only (PyJWT refuses a token claiming another).
            key = jwt.PyJWK(jwk, algorithm=None if jwk.get("alg") else algorithm)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=(self.issuer, self.issuer + "/"),
                leeway=CLOCK_LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            log.info("refused a JWT: %s", exc)
            return None
        return claims

    async def _key(self, kid: object) -> dict[str, Any] | None:
        key = _pick(await self._jwks(refresh=False), kid)
        if key is None:
            key = _pick(await self._jwks(refresh=True), kid)
        return key

    async def _jwks(self, *, refresh: bool) -> list[dict[str, Any]]:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._keys is not None and (age < JWKS_MIN_REFRESH_S or (not refresh and age < JWKS_MAX_AGE_S)):
                return self._keys
            try:
                self._keys = await self._fetch()
            except IssuerUnreachable as exc:
                if self._keys is None:
                    raise
                # The keys we hold stay good until the provider answers again; ask again soon, not per request.
                log.warning("could not refresh the identity provider's keys (%s); using the ones fetched before", exc)
            self._fetched_at = time.monotonic()
            return self._keys

    async def _fetch(self) -> list[dict[str, Any]]:
        async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client:
            if self._jwks_url is None:
                self._jwks_url = await self._discover(client)
            document = await _get_json(client, self._jwks_url)
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise IssuerUnreachable(f"{self._jwks_url}: not a JWK set (no `keys` list)")
        return [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]

    async def _discover(self, client: httpx2.AsyncClient) -> str:
        """The issuer's `jwks_uri`, from the first metadata document whose `issuer` is ours (RFC 8414 §3.3:
        a document naming another issuer must not be used)."""
        for url in metadata_urls(self.issuer):
            document = await _get_json(client, url)
            if not isinstance(document, dict):
                continue
            if not _same_issuer(str(document.get("issuer", "")), self.issuer):
                log.warning("ignoring %s: it describes issuer %r, not %r", url, document.get("issuer"), self.issuer)
                continue
            jwks_uri = document.get("jwks_uri")
            if isinstance(jwks_uri, str) and jwks_uri.startswith(("https://", "http://")):
                return jwks_uri
        raise IssuerUnreachable(
            f"no metadata with a jwks_uri for issuer {self.issuer} at {', '.join(metadata_urls(self.issuer))}; set OPENROUTER_MCP_OAUTH_JWKS_URL"
        )


def _pick(keys: list[dict[str, Any]], kid: object) -> dict[str, Any] | None:
    if kid is None:  # a token without `kid` is only unambiguous when the issuer publishes a single key
        return keys[0] if len(keys) == 1 else None
    return next((k for k in keys if k.get("kid") == kid), None)


def token_scopes(claims: dict[str, Any]) -> list[str]:
    """The scopes a token grants: RFC 8693/9068 `scope` (space-separated) or the `scp` list some providers use."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found += value.split()
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
    return list(dict.fromkeys(found))


def resource_url(public_url: str) -> AnyHttpUrl:
    """This server's resource identifier: the URL clients use for /mcp (RFC 9728 §1.2, RFC 8707)."""
    return AnyHttpUrl(f"{public_url}/mcp")


def protected_resource_routes(resource: AnyHttpUrl, issuer: str) -> list[Route]:
    """GET /.well-known/oauth-protected-resource/mcp (RFC 9728 §3.1: the well-known path inserted before
    the resource's path) and the same document at the bare well-known path, which clients of the
    2025-03-26 revision and some gateways ask for."""
    from mcp.server.auth.routes import create_protected_resource_routes

    # A regular user needs no scope; the admin scope is the one this resource understands.
    routes = create_protected_resource_routes(resource, [AnyHttpUrl(issuer)], scopes_supported=[ADMIN_SCOPE], resource_name="openrouter-mcp")
    (suffixed,) = routes
    if suffixed.path == METADATA_PATH:
        return routes
    return [suffixed, Route(METADATA_PATH, endpoint=suffixed.endpoint, methods=["GET", "OPTIONS"])]


async def issuer_metadata(issuer: str) -> dict[str, Any]:
    """The first metadata document of `issuer` that names it (RFC 8414 §3.3), for its authorization and
    token endpoints; IssuerUnreachable when there is none."""
    async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client:
        for url in metadata_urls(issuer):
            document = await _get_json(client, url)
            if isinstance(document, dict) and _same_issuer(str(document.get("issuer", "")), issuer):
                return document
    raise IssuerUnreachable(f"no metadata for issuer {issuer} at {', '.join(metadata_urls(issuer))}")


async def redeem_code(token_endpoint: str, form: dict[str, str]) -> str | None:
    """The access token a token endpoint gives for an authorization code (RFC 6749 §4.1.3, with PKCE's
    code_verifier), or None when it refuses the code."""
    async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client:
        try:
            response = await client.post(token_endpoint, data=form, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise IssuerUnreachable(f"{token_endpoint}: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        log.info("the identity provider refused a dashboard sign-in code (HTTP %s)", response.status_code)
        return None
    try:
        token = response.json().get("access_token")
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None
