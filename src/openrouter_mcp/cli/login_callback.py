"""The loopback HTTP server that `openrouter-mcp login` asks OpenRouter to send the browser back to: it takes
the first request to its callback path, answers the browser with a short page, and hands the query over."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CALLBACK_PATH = "/callback"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    arrived: threading.Event
    query: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a browser's idle pre-connection must not hold a thread for ever

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != CALLBACK_PATH:
            self._answer(404, "Not found", "This is openrouter-mcp's login callback; nothing else is here.")
            return
        if self.server.arrived.is_set():
            self._answer(409, "Already answered", "This login has already had its answer; return to the terminal.")
            return
        query = dict(parse_qsl(url.query))
        if query.get("code"):
            self._answer(200, "Approved", "openrouter-mcp is fetching your key. You can close this tab and return to the terminal.")
        else:
            self._answer(400, "No authorization code", "OpenRouter sent no authorization code back, so no key was made. Run openrouter-mcp login again.")
        self.server.query = query
        self.server.arrived.set()

    def _answer(self, status: int, title: str, text: str) -> None:
        body = f"<!doctype html><meta charset=utf-8><title>openrouter-mcp login</title><h1>{title}</h1><p>{text}</p>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the default writes each request line, authorization code included, to stderr."""


class Callback:
    """The server on 127.0.0.1 (`port` 0: a free port), serving from a thread while the `with` block runs.
    Raises OSError when it cannot listen."""

    def __init__(self, port: int) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.arrived = threading.Event()
        self._server.query = {}
        self.url = f"http://127.0.0.1:{self._server.server_port}{CALLBACK_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="login-callback", daemon=True)

    def __enter__(self) -> Callback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout_s: float) -> dict[str, str] | None:
        """The callback's query parameters, or None if no callback came within `timeout_s`."""
        return self._server.query if self._server.arrived.wait(timeout_s) else None
