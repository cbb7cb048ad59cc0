"""The `openrouter-mcp` command: the argument parser and `main()`, which runs the chosen command from its own module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

# Each command's module is imported only when that command runs (those in COMMANDS_WITH_ARGUMENTS also when the
# parser is built, for their arguments, which import nothing heavy), so start-up loads nothing a command does not use.


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import run

    return run(args)


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import run

    return run(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run

    return run(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run

    return run(args)


def cmd_usage(args: argparse.Namespace) -> int:
    from .usage import run

    return run(args)


def _run(command: str) -> Callable[[argparse.Namespace], int]:
    """A command that runs `openrouter_mcp.cli.<command>.run`, imported when it runs."""

    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(f"{__package__}.{command}").run(args))

    return run


# The commands whose modules declare their own arguments (`add_arguments`), with their help lines.
COMMANDS_WITH_ARGUMENTS: dict[str, str] = {
    "bench": "benchmark models on a suite or JSONL prompts: speed, cost, quality",
    "models": "search the model catalog: a table of ids, context, prices and features",
    "users": "the team server's users: add, list, set, rotate, remove (bearer tokens, budgets, own OpenRouter keys)",
    "chat": "chat with a model from the terminal: the reply streams to stdout, its cost follows on stderr",
    "login": "get your own OpenRouter API key in the browser (OAuth PKCE) and store it: OS keyring, env file, or printed",
    "init": "set this server up in an MCP client's config file (merged, backed up; --from physics91|stabgan migrates)",
}


def _days(raw: str) -> int:
    """--days as a whole number from 1 to 366, refused with the range rather than every allowed value."""
    try:
        days = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of days (1 to 366)") from None
    if not 1 <= days <= 366:
        raise argparse.ArgumentTypeError(f"{days} is out of range: use 1 to 366")
    return days


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `command`, the arguments of only that command are read from its module (the
    others are listed with their help lines), so `serve` starts without importing what `bench` or `models`
    need to declare theirs."""
    parser = argparse.ArgumentParser(prog="openrouter-mcp", description="Every OpenRouter model as MCP tools.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--http", action="store_true", help="speak Streamable HTTP at /mcp instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    serve.add_argument("--simulate", action="store_true", help="use the built-in OpenRouter simulator (no key, no network)")
    serve.add_argument("--no-auth", action="store_true", help="--http on a non-loopback host: start open to anyone while there are no users and no OAuth")
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
    usage.add_argument("--days", type=_days, default=30, metavar="N", help="the last N days, 1 to 366 (default 30)")
    usage.add_argument("--by", choices=("model", "tool", "provider", "day"), default="model", help="group rows by (default model)")
    usage.add_argument("--json", action="store_true", help="print the full statistics as JSON")
    usage.add_argument("--plot", metavar="FILE.png", help="also write a bar chart of cost to this PNG file")
    usage.add_argument("--simulate", action="store_true", help="the simulator's own ledger (under <home>/simulated) instead of the real one")
    usage.set_defaults(func=cmd_usage)
    for name, help_line in COMMANDS_WITH_ARGUMENTS.items():
        declared = sub.add_parser(name, help=help_line)
        if command is None or command == name:
            importlib.import_module(f"{__package__}.{name}").add_arguments(declared)
        declared.set_defaults(func=_run(name))
    return parser


def _version() -> str:
    from .. import __version__

    return f"openrouter-mcp {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    named = next((w for w in words if not w.startswith("-")), None)
    # Only the command being run declares its arguments; with none named (--help, --version), all do.
    parser = build_parser(named)
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
