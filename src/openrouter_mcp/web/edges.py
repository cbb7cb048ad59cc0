"""The outermost check of every HTTP request, before authentication: the Host and Origin headers against
the names this server answers to (DNS rebinding), and the client's address after trusted proxies."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import TeamSettings
from ..core.identity import PEER_SCOPE_KEY
from .answers import refusal

log = logging.getLogger("openrouter_mcp")

# The names of this machine a local client uses, on any port; a browser page on another site that
# rebinds its own name to 127.0.0.1 still sends its own name, and is refused.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def split_host(value: str) -> tuple[str, str | None]:
    """A Host header (or an allowed-host entry) as (name, port or None), lower case, IPv6 in brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") and len(rest) > 1 else None
    name, _, port = value.partition(":")
    return name, port or None


def _url_host(url: str) -> str:
    name = (urlsplit(url).hostname or "").lower()
    return f"[{name}]" if ":" in name else name


def _origin(value: str) -> tuple[str, str, str] | None:
    """An origin as (scheme, host, port), the scheme's default port filled in; None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, _url_host(value), str(port) if port is not None else _DEFAULT_PORTS[parts.scheme]


@dataclass(frozen=True, slots=True)
class Edges:
    """What this server answers to, and which peers' X-Forwarded-For it believes."""

    any_port_hosts: frozenset[str]
    exact_hosts: frozenset[tuple[str, str]]
    origins: frozenset[tuple[str, str, str]]
    trusted_proxies: tuple[Network, ...]

    @classmethod
    def from_settings(cls, team: TeamSettings) -> Edges:
        any_port = set(LOOPBACK_HOSTS)
        exact: set[tuple[str, str]] = set()
        for entry in team.allowed_hosts:
            name, port = split_host(entry)
            if port is None:
                any_port.add(name)
            else:
                exact.add((name, port))
        origins = {o for o in (_origin(x) for x in team.allowed_origins) if o is not None}
        if team.public_url:
            any_port.add(_url_host(team.public_url))
            if public := _origin(team.public_url):
                origins.add(public)
        proxies = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in team.trusted_proxies)
        return cls(frozenset(any_port), frozenset(exact), frozenset(origins), proxies)

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return False
        name, port = split_host(host)
        return name in self.any_port_hosts or (port is not None and (name, port) in self.exact_hosts)

    def origin_allowed(self, origin: str | None) -> bool:
        """No Origin header (every non-browser client) is fine; a browser's must be one of ours."""
        if origin is None:
            return True
        parsed = _origin(origin)
        return parsed is not None and (parsed[1] in LOOPBACK_HOSTS or parsed in self.origins)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)

    def peer(self, direct: str, forwarded_for: Iterable[str]) -> str:
        """The client's address: the direct peer, unless that is a trusted proxy; then the right-most
        X-Forwarded-For hop that is not a trusted proxy (each proxy appends the address it saw, so only the
        hops our own proxies appended can be believed, and anything left of them may be forged)."""
        if not self.trusted_proxies or not self._trusted(direct):
            return direct
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        peer = direct
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break  # not an address: whatever is left of it was not written by our proxies
            peer = hop
            if not self._trusted(hop):
                break
        return peer


class EdgeMiddleware:
    """Refuses a foreign Host with 421 and a foreign Origin with 403 on every path, then records the
    client's address in scope[PEER_SCOPE_KEY] for the ledger."""

    def __init__(self, app: ASGIApp, edges: Edges) -> None:
        self.app = app
        self.edges = edges

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan; this server has no websocket routes
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.edges.host_allowed(host):
            log.warning("refused a request for Host %r (add it to OPENROUTER_MCP_ALLOWED_HOSTS if it is this server's name)", (host or "")[:100])
            answer = refusal(
                421, "misdirected_request", "This server does not answer to this Host name; its operator can add it to OPENROUTER_MCP_ALLOWED_HOSTS."
            )
            await answer(scope, receive, send)
            return
        origin = headers.get("origin")
        if not self.edges.origin_allowed(origin):
            log.warning("refused a request from Origin %r (add it to OPENROUTER_MCP_ALLOWED_ORIGINS if it is trusted)", (origin or "")[:100])
            answer = refusal(403, "forbidden_origin", "Requests from this web origin are refused; its operator can add it to OPENROUTER_MCP_ALLOWED_ORIGINS.")
            await answer(scope, receive, send)
            return
        client = scope.get("client")
        peer = self.edges.peer(client[0] if client else "", headers.getlist("x-forwarded-for"))
        await self.app({**scope, PEER_SCOPE_KEY: peer}, receive, send)
