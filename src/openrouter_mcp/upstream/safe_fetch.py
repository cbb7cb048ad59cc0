"""Fetching a caller's URL without letting it reach our own network (the SSRF guard).

Only http and https, no credentials in the URL. The host name is resolved once per hop and the
connection goes to that address (the request keeps the original Host header and TLS server name), so
a second DNS answer cannot swap in a private address between the check and the connection. Every
address must be public: loopback, private, link-local, CGNAT, multicast, reserved, documentation,
benchmarking and the IPv6 ranges that embed or tunnel IPv4 (mapped, compatible, NAT64, 6to4, Teredo)
are refused. Every redirect hop is checked the same way (at most 5), and the body is capped in size
and the whole fetch in time. Refusals are UNSAFE_URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx2

from ..errors import ErrorCode, ToolFailure, invalid, too_large

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

# IANA special-purpose registries (RFC 6890 and successors), with the reason a user sees.
_BLOCKED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "a 'this network' address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address (cloud metadata lives here)"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("::ffff:0:0/96", "an IPv4-mapped address"),
    ("::/96", "an IPv4-compatible address"),
    ("64:ff9b::/96", "a NAT64 address"),
    ("64:ff9b:1::/48", "a local NAT64 address"),
    ("100::/64", "a discard-only address"),
    ("2001::/32", "a Teredo address"),
    ("2001::/23", "an IETF protocol address"),
    ("2001:db8::/32", "a documentation address"),
    ("2002::/16", "a 6to4 address"),
    ("3fff::/20", "a documentation address"),
    ("5f00::/16", "a segment-routing address"),
    ("fc00::/7", "a unique-local (private) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
BLOCKED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = tuple((ipaddress.ip_network(net), why) for net, why in _BLOCKED)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


def parse_ip(host: str) -> IPAddress | None:
    """The address a host names literally, including the legacy IPv4 spellings (`127.1`, `0x7f000001`,
    `2130706433`) that resolvers accept; None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def address_refusal(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why this address may not be fetched, or None when it is a public unicast address."""
    if any(ip in net for net in allowed):
        return None
    for net, why in BLOCKED_NETWORKS:
        if ip.version == net.version and ip in net:
            return why
    if ip.version == 6 and ip not in _GLOBAL_UNICAST_V6:
        return "a reserved address"
    if not ip.is_global:
        return "a reserved address"
    return None


def unsafe_url(field: str, url: str, why: str) -> ToolFailure:
    shown = url if len(url) <= 200 else url[:200] + "…"
    return ToolFailure(
        ErrorCode.UNSAFE_URL,
        f"{field}: {shown} is refused: {why}. Use a public http(s) URL, or put the file in the input folder and pass its path.",
        details={"field": field},
    )


@dataclass(frozen=True, slots=True)
class CheckedURL:
    url: str
    scheme: str
    host: str
    port: int
    ip: IPAddress | None


def check_url(url: str, field: str, allowed: Sequence[IPNetwork] = ()) -> CheckedURL:
    """The checks every URL passes before anything is sent anywhere: http(s) only, a host, no credentials,
    and a literal address must be public. Host names are checked when resolved (`SafeFetcher`)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise invalid(field, f"is not a valid URL ({exc})", "Use a URL such as https://example.com/file.mp3") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise unsafe_url(field, url, f"the scheme {scheme or '(none)'!r} is not allowed (only http and https)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise unsafe_url(field, url, "URLs with credentials are not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise unsafe_url(field, url, "it has no host")
    ip = parse_ip(host)
    if ip is not None and (why := address_refusal(ip, allowed)):
        raise unsafe_url(field, url, f"{host} is {why}")
    return CheckedURL(url=url, scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), ip=ip)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    content_type: str | None
    url: str


class SafeFetcher:
    """Fetches public URLs only. `resolver` and `allowed` exist for tests (a fake DNS answer, a loopback
    test server); production uses the system resolver and allows nothing extra."""

    def __init__(self, *, timeout_s: float, connect_timeout_s: float = 10.0, resolver: Resolver = system_resolver, allowed: Sequence[IPNetwork] = ()) -> None:
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._resolve = resolver
        self._allowed = tuple(allowed)

    async def _pin(self, checked: CheckedURL, field: str) -> IPAddress:
        """Resolve once and check every answer: a name with any private answer is refused."""
        if checked.ip is not None:
            return checked.ip
        try:
            answers = await self._resolve(checked.host, checked.port)
        except (OSError, UnicodeError) as exc:
            raise invalid(field, f"the host {checked.host} could not be resolved ({type(exc).__name__})", "Check the URL") from None
        addresses = []
        for answer in answers:
            ip = parse_ip(answer.split("%", 1)[0])
            if ip is None:
                raise unsafe_url(field, checked.url, f"{checked.host} resolved to something that is not an address")
            if why := address_refusal(ip, self._allowed):
                raise unsafe_url(field, checked.url, f"{checked.host} resolves to {ip}, {why}")
            addresses.append(ip)
        if not addresses:
            raise invalid(field, f"the host {checked.host} has no address", "Check the URL")
        return addresses[0]

    async def fetch(self, url: str, *, field: str, max_bytes: int) -> Fetched:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._fetch(url, field, max_bytes)
        except TimeoutError:
            raise invalid(
                field, f"fetching {url[:200]} took longer than {self._timeout_s:g} s", "Use a faster host, or put the file in the input folder"
            ) from None

    async def _fetch(self, url: str, field: str, max_bytes: int) -> Fetched:
        timeout = httpx2.Timeout(self._timeout_s, connect=self._connect_timeout_s)
        # trust_env=False: a proxy from the environment would resolve the name itself, undoing the pin.
        async with httpx2.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                checked = check_url(url, field, self._allowed)
                ip = await self._pin(checked, field)
                parts = urlsplit(url)
                literal = f"[{ip}]" if ip.version == 6 else str(ip)
                target = urlunsplit((checked.scheme, f"{literal}:{checked.port}", parts.path or "/", parts.query, ""))
                default_port = checked.port == (443 if checked.scheme == "https" else 80)
                host_header = (f"[{checked.host}]" if ":" in checked.host else checked.host) + ("" if default_port else f":{checked.port}")
                extensions = {"sni_hostname": checked.host} if checked.scheme == "https" and checked.ip is None else {}
                try:
                    async with client.stream("GET", target, headers={"Host": host_header, "Accept": "*/*"}, extensions=extensions) as resp:
                        if resp.status_code in _REDIRECTS:
                            location = resp.headers.get("location")
                            if not location:
                                raise invalid(field, f"{url[:200]} redirected without a Location", "Use the file's final URL")
                            url = urljoin(url, location)
                            continue
                        if resp.status_code != 200:
                            raise invalid(field, f"{url[:200]} answered HTTP {resp.status_code}", "Check that the URL is public and points at the file")
                        return await _read_capped(resp, url, field, max_bytes)
                except httpx2.TimeoutException:
                    raise invalid(field, f"{url[:200]} did not answer in time", "Try again, or put the file in the input folder") from None
                except httpx2.HTTPError as exc:
                    raise invalid(
                        field, f"{url[:200]} could not be fetched ({type(exc).__name__})", "Check the URL, or put the file in the input folder"
                    ) from None
        raise unsafe_url(field, url, f"it redirected more than {MAX_REDIRECTS} times")


async def _read_capped(resp: httpx2.Response, url: str, field: str, max_bytes: int) -> Fetched:
    declared = resp.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(field, int(declared), max_bytes)
    data = bytearray()
    async for chunk in resp.aiter_bytes():
        data += chunk
        if len(data) > max_bytes:
            raise too_large(field, len(data), max_bytes)
    return Fetched(bytes(data), resp.headers.get("content-type"), url)
