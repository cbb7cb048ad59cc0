"""`openrouter-mcp serve`: the MCP server over stdio (nothing but JSON-RPC on stdout, everything else on
stderr) or Streamable HTTP, on OpenRouter or on the built-in simulator."""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .common import settings_or_exit, setup_logging, simulated

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from ..app import App
    from ..web import Access


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(simulate=args.simulate)
    setup_logging(settings.log_level)
    if args.simulate:
        settings = simulated(settings)
    from ..server import build_server

    server, app = build_server(settings)
    settle_heap()
    if not args.http:
        asyncio.run(server.run_stdio_async())
        return 0
    from ..core.net import loopback_socket
    from ..web import Access, build_http_app

    access = Access(host=args.host, no_auth=args.no_auth, oauth=settings.team.oauth)
    http_app = build_http_app(server, app, access)
    try:
        sock = loopback_socket(args.host, args.port)
    except OSError as exc:  # the port is taken, or the host is not an address of this machine
        print(f"openrouter-mcp: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. Pick another --port (or --host).", file=sys.stderr)
        return 2
    host = f"[{args.host}]" if ":" in args.host else args.host
    with asyncio.Runner(loop_factory=http_loop()) as runner:
        return runner.run(_serve_http(app, http_app, access, sock, f"http://{host}:{sock.getsockname()[1]}/mcp"))


def http_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop of the Streamable HTTP server: uvloop's where it is installed (a dependency everywhere
    but Windows and PyPy), else asyncio's own. uvloop runs the same asyncio code with its sockets and
    scheduling in C, and takes about 0.2 ms off every call over HTTP; over stdio, where the added latency
    is already that of the reference, it would only add to the peak memory under load (decision 19, third
    addendum; docs/performance.md)."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def settle_heap() -> None:
    """What start-up built (modules, tools, schemas) lives as long as the server: it is moved out of the
    cyclic collector's way (`gc.freeze`), so a full collection walks only what the calls made since. In a
    run of 2,000 calls at 1 in flight (docs/performance.md), the full collections took 26-34 ms instead
    of 60-74 ms. The collection thresholds stay Python's: collecting young objects less often saved
    little time and held on to a megabyte or two more at 500 calls in flight."""
    gc.freeze()


async def _serve_http(app: App, http_app: ASGIApp, access: Access, sock: socket.socket, url: str) -> int:
    import uvicorn

    if not access.oauth:
        # In the server's own event loop: the database opened here is the one the requests use.
        notice: str | None
        try:
            users = await (await app.storage()).count_users()
        except Exception as exc:  # an unreachable database: whether tokens are needed cannot be known
            may_start, notice = False, f"openrouter-mcp: cannot read the users ({type(exc).__name__}: {exc}); check OPENROUTER_MCP_DATABASE_URL."
        else:
            may_start, notice = access.at_start(users, url)
        if notice:
            print(notice, file=sys.stderr)
        if not may_start:
            sock.close()
            await app.aclose()
            return 2
    print(f"openrouter-mcp: Streamable HTTP on {url}", file=sys.stderr)
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; the edge
    # middleware decides which proxies are trusted (OPENROUTER_MCP_TRUSTED_PROXIES).
    # One access-log line per request costs every call a formatted write to stderr: written at debug level only.
    level = app.settings.log_level.lower()
    config = uvicorn.Config(http_app, log_level=level, access_log=level == "debug", timeout_keep_alive=30, proxy_headers=False)
    await uvicorn.Server(config).serve(sockets=[sock])
    return 0
