"""The SSRF guard for URLs we fetch ourselves (audio): address ranges, URL checks, the resolve-once pin,
redirect hops re-checked, and size/time caps. A tiny local HTTP server plays the remote host; since the
guard rightly refuses loopback, these tests allow 127.0.0.1 explicitly (production allows nothing extra)."""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from openrouter_mcp.config import load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.services.media.inputs import load
from openrouter_mcp.upstream.safe_fetch import SafeFetcher, address_refusal, check_url, parse_ip

LOOPBACK_ONLY = [ipaddress.ip_network("127.0.0.1/32")]
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)

REFUSED = [
    "127.0.0.1", "127.8.9.10", "::1", "169.254.169.254", "10.0.0.1", "10.255.255.255", "172.16.0.1", "192.168.1.1",
    "100.64.0.1", "100.127.255.254", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "0.0.0.0",
    "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "192.0.0.8", "::ffff:127.0.0.1", "::ffff:8.8.8.8",
    "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::808:808", "64:ff9b:1::1", "2002:7f00:1::1", "2001:0:4136:e378::1",
    "2001:db8::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "::", "100::1", "3fff::1",
]  # fmt: skip
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/a.wav", "loopback"),
        ("http://[::1]/a.wav", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/a.wav", "private"),
        ("http://100.64.0.1/a.wav", "carrier-grade"),
        ("http://224.0.0.1/a.wav", "multicast"),
        ("http://240.0.0.1/a.wav", "reserved"),
        ("http://[::ffff:127.0.0.1]/a.wav", "IPv4-mapped"),
        ("http://[64:ff9b::7f00:1]/a.wav", "NAT64"),
        ("http://2130706433/a.wav", "loopback"),  # 127.0.0.1 as one decimal number
        ("http://0x7f.1/a.wav", "loopback"),
        ("ftp://example.com/a.wav", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http://user:secret@example.com/a.wav", "credentials"),
        ("http://example.com@127.0.0.1/a.wav", "credentials"),
    ],
)
def test_url_checks_refuse_before_any_connection(url: str, why: str) -> None:
    with pytest.raises(ToolFailure) as caught:
        check_url(url, "audio_path")
    assert caught.value.code is ErrorCode.UNSAFE_URL
    assert why in caught.value.message


def test_legacy_ipv4_spellings_parse_as_addresses() -> None:
    assert str(parse_ip("127.1")) == "127.0.0.1"
    assert str(parse_ip("0177.0.0.1")) == "127.0.0.1"
    assert parse_ip("example.com") is None


class _Handler(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers.get("Host", ""))
        port = self.server.server_address[1]
        if self.path == "/file.wav":
            self._send(200, WAV)
        elif self.path == "/notes.md":
            self._send(200, b"# Notes\n\nBring the report.\n")
        elif self.path == "/redirect-private":
            self._redirect("http://10.0.0.5/file.wav")
        elif self.path == "/redirect-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif self.path == "/redirect-relative":
            self._redirect("/file.wav")
        elif self.path == "/redirect-rebind":
            self._redirect(f"http://rebind.test:{port}/file.wav")
        elif self.path.startswith("/loop/"):
            self._redirect(f"/loop/{int(self.path.rsplit('/', 1)[1]) + 1}")
        elif self.path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(50_000_000))
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"%x\r\n%s\r\n" % (4096, b"\0" * 4096))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, WAV)
        else:
            self._send(404, b"no")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """The guard hangs up on answers it refuses (a body over the cap, a redirect elsewhere): expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def remote() -> Iterator[int]:
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


class FakeDNS:
    """Answers from a table; a list of answers is handed out one per lookup (to play DNS rebinding)."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.table[host]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def fetcher(dns: FakeDNS | None = None, *, timeout_s: float = 5.0) -> SafeFetcher:
    if dns is None:
        return SafeFetcher(timeout_s=timeout_s, allowed=LOOPBACK_ONLY)
    return SafeFetcher(timeout_s=timeout_s, resolver=dns, allowed=LOOPBACK_ONLY)


async def refused(coro: Any) -> ToolFailure:
    with pytest.raises(ToolFailure) as caught:
        await coro
    return caught.value


async def test_the_production_guard_refuses_the_loopback_test_server(remote: int) -> None:
    failure = await refused(SafeFetcher(timeout_s=5).fetch(f"http://127.0.0.1:{remote}/file.wav", field="audio_path", max_bytes=10_000))
    assert failure.code is ErrorCode.UNSAFE_URL


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    # The system resolver: `localhost` is caught by what it resolves to, not by its name.
    failure = await refused(SafeFetcher(timeout_s=5).fetch("http://localhost:9/a.wav", field="audio_path", max_bytes=10_000))
    assert failure.code is ErrorCode.UNSAFE_URL and "resolves to" in failure.message
    dns = FakeDNS({"evil.test": [["93.184.216.34", "127.0.0.1"]]})
    failure = await refused(SafeFetcher(timeout_s=5, resolver=dns).fetch("http://evil.test/a.wav", field="audio_path", max_bytes=10_000))
    assert failure.code is ErrorCode.UNSAFE_URL and "127.0.0.1" in failure.message


async def test_fetch_connects_to_the_pinned_address_with_the_original_host(remote: int) -> None:
    dns = FakeDNS({"files.test": [["127.0.0.1"]]})
    _Handler.hosts.clear()
    got = await fetcher(dns).fetch(f"http://files.test:{remote}/file.wav", field="audio_path", max_bytes=10_000)
    assert got.data == WAV
    # Resolved once by the guard; httpx never looked the name up (it would not resolve: there is no such domain).
    assert dns.lookups == ["files.test"]
    assert _Handler.hosts == [f"files.test:{remote}"]


async def test_redirect_to_a_private_address_is_refused(remote: int) -> None:
    _Handler.hosts.clear()
    failure = await refused(fetcher().fetch(f"http://127.0.0.1:{remote}/redirect-private", field="audio_path", max_bytes=10_000))
    assert failure.code is ErrorCode.UNSAFE_URL and "10.0.0.5" in failure.message
    assert len(_Handler.hosts) == 1
    failure = await refused(fetcher().fetch(f"http://127.0.0.1:{remote}/redirect-metadata", field="audio_path", max_bytes=10_000))
    assert failure.code is ErrorCode.UNSAFE_URL and "169.254.169.254" in failure.message


async def test_each_redirect_hop_is_resolved_and_checked_again(remote: int) -> None:
    # First answer public-enough for the test (loopback allowed), second a private address: DNS rebinding.
    dns = FakeDNS({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    failure = await refused(fetcher(dns).fetch(f"http://rebind.test:{remote}/redirect-rebind", field="audio_path", max_bytes=10_000))
    assert failure.code is ErrorCode.UNSAFE_URL and "10.0.0.1" in failure.message
    assert dns.lookups == ["rebind.test", "rebind.test"]


async def test_relative_redirects_are_followed(remote: int) -> None:
    got = await fetcher().fetch(f"http://127.0.0.1:{remote}/redirect-relative", field="audio_path", max_bytes=10_000)
    assert got.data == WAV and got.url.endswith("/file.wav")


async def test_redirects_stop_after_five(remote: int) -> None:
    failure = await refused(fetcher().fetch(f"http://127.0.0.1:{remote}/loop/0", field="audio_path", max_bytes=10_000))
    assert failure.code is ErrorCode.UNSAFE_URL and "more than 5" in failure.message


async def test_size_is_capped_declared_or_streamed(remote: int) -> None:
    for path in ("/big-declared", "/big-chunked"):
        failure = await refused(fetcher().fetch(f"http://127.0.0.1:{remote}{path}", field="audio_path", max_bytes=100_000))
        assert failure.code is ErrorCode.TOO_LARGE
        assert failure.details is not None and failure.details["cap_bytes"] == 100_000


async def test_time_is_capped(remote: int) -> None:
    started = time.monotonic()
    failure = await refused(fetcher(timeout_s=0.5).fetch(f"http://127.0.0.1:{remote}/slow", field="audio_path", max_bytes=100_000))
    assert failure.code is ErrorCode.INVALID_INPUT and "longer than" in failure.message
    assert time.monotonic() - started < 1.5


async def test_text_documents_by_url_are_fetched_through_the_guard_and_pdfs_passed_on(remote: int, tmp_path: Path) -> None:
    settings = load_settings({"OPENROUTER_MCP_HOME": str(tmp_path)}, simulate=True)
    dns = FakeDNS({"docs.test": [["127.0.0.1"]]})
    got = await load(f"http://docs.test:{remote}/notes.md", "document", settings, field="document_path", fetcher=fetcher(dns))
    assert got.kind == "data" and got.format is not None and got.format.name == "md" and got.data == b"# Notes\n\nBring the report.\n"
    assert dns.lookups == ["docs.test"]
    passed = await load("https://example.com/paper.pdf", "document", settings, field="document_path", fetcher=fetcher(dns))
    assert passed.kind == "url" and dns.lookups == ["docs.test"]
