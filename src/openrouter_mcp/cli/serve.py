"""`openrouter-mcp serve`: the MCP server over stdio (nothing but JSON-RPC on stdout, everything else on
stderr) or Streamable HTTP, on OpenRouter or on the built-in simulator."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .common import settings_or_exit, setup_logging, simulated


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(simulate=args.simulate)
    setup_logging(settings.log_level)
    if args.simulate:
        settings = simulated(settings)
    from ..server import build_server

    server, _app = build_server(settings)
    if not args.http:
        asyncio.run(server.run_stdio_async())
        return 0
    import uvicorn

    from ..simulator.server import loopback_socket

    starlette_app = server.streamable_http_app(stateless_http=True, host=args.host)
    try:
        sock = loopback_socket(args.host, args.port)
    except OSError as exc:  # the port is taken, or the host is not an address of this machine
        print(f"openrouter-mcp: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. Pick another --port (or --host).", file=sys.stderr)
        return 2
    print(f"openrouter-mcp: Streamable HTTP on http://{args.host}:{sock.getsockname()[1]}/mcp", file=sys.stderr)
    config = uvicorn.Config(starlette_app, log_level=settings.log_level.lower(), timeout_keep_alive=30)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    return 0
