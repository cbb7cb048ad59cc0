"""The `openrouter-mcp` command: serve, demo, simulate and doctor. In stdio mode nothing but JSON-RPC
is written to stdout; everything else goes to stderr."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from .config import SIMULATOR_KEY, ConfigError, Settings, load_settings


def _setup_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per HTTP request is noise at INFO; the gateway logs what matters (retries, failures).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _settings_or_exit(*, require_key: bool = True, **overrides: Any) -> Settings:
    try:
        return load_settings(require_key=require_key, **overrides)
    except ConfigError as exc:
        print(f"openrouter-mcp: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _simulated(settings: Settings) -> Settings:
    """Start the built-in simulator in this process and point the settings at it."""
    from .config import Secret
    from .simulator.server import start_in_thread

    sim = start_in_thread()
    logging.getLogger("openrouter_mcp").info("simulator listening on %s", sim.url)
    return settings.with_overrides(base_url=sim.api_url, api_key=Secret(SIMULATOR_KEY))


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings_or_exit(simulate=args.simulate)
    _setup_logging(settings.log_level)
    if args.simulate:
        settings = _simulated(settings)
    from .server import build_server

    server, _app = build_server(settings)
    if not args.http:
        asyncio.run(server.run_stdio_async())
        return 0
    import uvicorn

    from .simulator.server import loopback_socket

    starlette_app = server.streamable_http_app(stateless_http=True, host=args.host)
    sock = loopback_socket(args.host, args.port)
    print(f"openrouter-mcp: Streamable HTTP on http://{args.host}:{sock.getsockname()[1]}/mcp", file=sys.stderr)
    config = uvicorn.Config(starlette_app, log_level=settings.log_level.lower(), timeout_keep_alive=30)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulator.server import serve_forever

    print(f"OpenRouter simulator on http://{args.host}:{args.port}/api/v1 (any non-empty key works)", file=sys.stderr)
    serve_forever(args.host, args.port)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return asyncio.run(run_demo(args.prompt, args.model))


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor

    return asyncio.run(run_doctor(simulate=args.simulate))


def cmd_usage(args: argparse.Namespace) -> int:
    from .usage_cli import run

    settings = _settings_or_exit(require_key=False)
    return run(settings, days=args.days, by=args.by, as_json=args.json, plot_path=args.plot)


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench_cli import run

    return run(args)


def cmd_models(args: argparse.Namespace) -> int:
    from .models_cli import run

    return run(_settings_or_exit(require_key=False, simulate=args.simulate), args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openrouter-mcp", description="Every OpenRouter model as MCP tools.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--http", action="store_true", help="speak Streamable HTTP at /mcp instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    serve.add_argument("--simulate", action="store_true", help="use the built-in OpenRouter simulator (no key, no network)")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="start the server on the simulator, connect a real MCP client, make one chat call")
    demo.add_argument("--prompt", default="In one sentence: why route requests across several LLM providers?")
    demo.add_argument("--model", default="openai/gpt-4o-mini")
    demo.set_defaults(func=cmd_demo)

    sim = sub.add_parser("simulate", help="run the OpenRouter simulator alone (/api/v1/...)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8790)
    sim.set_defaults(func=cmd_simulate)

    doctor = sub.add_parser("doctor", help="check the key, base URL, data folders and connectivity")
    doctor.add_argument("--simulate", action="store_true", help="check against the built-in simulator")
    doctor.set_defaults(func=cmd_doctor)
    usage = sub.add_parser("usage", help="spend and tokens from the local ledger")
    usage.add_argument("--days", type=int, default=30, choices=range(1, 367), metavar="N", help="the last N days (default 30)")
    usage.add_argument("--by", choices=("model", "tool", "provider", "day"), default="model", help="group rows by (default model)")
    usage.add_argument("--json", action="store_true", help="print the full statistics as JSON")
    usage.add_argument("--plot", metavar="FILE.png", help="also write a bar chart of cost to this PNG file")
    usage.set_defaults(func=cmd_usage)
    from .bench_cli import add_arguments as add_bench_arguments

    bench = sub.add_parser("bench", help="benchmark models on a suite or JSONL prompts: speed, cost, quality")
    add_bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    from .models_cli import add_arguments as add_models_arguments

    models = sub.add_parser("models", help="search the model catalog: a table of ids, context, prices and features")
    add_models_arguments(models)
    models.set_defaults(func=cmd_models)
    return parser


def _version() -> str:
    from . import __version__

    return f"openrouter-mcp {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
