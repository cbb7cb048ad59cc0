"""`openrouter-mcp chat`: one chat completion from the terminal, made through the same services as the
chat_completion tool (the catalog check, the budgets, the ledger's paid call), so it is in the ledger once.
The reply streams to stdout as it arrives and who answered, the tokens and the cost follow on stderr;
with --json nothing streams, and one JSON object is printed at the end."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import App
    from ..upstream import ChatResult

# Recorded in the ledger as the tool's calls are, as `bench` records its calls as benchmark_models'.
TOOL = "chat_completion"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", metavar="PROMPT", help="what to ask; - reads it from stdin")
    parser.add_argument("-m", "--model", help="model id, e.g. anthropic/claude-haiku-4.5 (default: OPENROUTER_DEFAULT_MODEL)")
    parser.add_argument("--system", metavar="S", help="a system message sent before the prompt")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="cap on the reply's tokens")
    parser.add_argument("--json", action="store_true", help="print one JSON object (text, model, provider, usage, cost_usd, ...) instead of streaming")
    parser.add_argument("--simulate", action="store_true", help="use the built-in OpenRouter simulator (no key, no network)")


def _prompt(raw: str) -> str | None:
    """The prompt, read from stdin for `-`; None when there is nothing to ask."""
    text = sys.stdin.read() if raw == "-" else raw
    return text if text.strip() else None


def as_json(result: ChatResult) -> dict[str, Any]:
    """The reply as chat_completion's output names its fields."""
    from ..services.chat import usage_of

    return {
        "text": result.content,
        "model": result.model,
        "provider": result.provider,
        "finish_reason": result.finish_reason,
        "usage": usage_of(result),
        "cost_usd": None if result.cost_usd is None else float(result.cost_usd),
        "generation_id": result.generation_id,
    }


def footer(result: ChatResult) -> str:
    """Who answered, the tokens and the cost, for stderr."""
    cost = "cost not reported yet" if result.cost_usd is None else f"${result.cost_usd:f}" if result.cost_usd else "$0"
    tokens = f"{result.prompt_tokens} in / {result.completion_tokens} out tokens"
    cut = " · cut off at the token limit" if result.finish_reason == "length" else ""
    return f"— {result.model} via {result.provider} · {tokens} · {cost} · {result.generation_id}{cut}"


async def _chat(app: App, body: dict[str, Any], shown: list[str] | None) -> ChatResult:
    """The paid call; with `shown`, the reply goes to stdout as it arrives and is kept there too."""
    from ..services.chat import run_chat

    async def show(_pieces: int, text: str) -> None:
        if text and shown is not None:  # a read that brought only reasoning brings no text
            shown.append(text)
            sys.stdout.write(text)
            sys.stdout.flush()

    try:
        return await run_chat(app, body, tool=TOOL, on_progress=None if shown is None else show)
    finally:
        await app.aclose()


def run(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from ..app import App
    from ..errors import ToolFailure
    from ..services.chat import build_request, check_reply
    from .common import settings_or_exit, setup_logging, simulated

    prompt = _prompt(args.prompt)
    if prompt is None:
        return _fail(2, "the prompt is empty: give it as an argument, or pipe it in with - as PROMPT")
    settings = settings_or_exit(simulate=args.simulate)
    setup_logging("WARNING")
    if args.simulate:
        settings = simulated(settings)
    messages = [{"role": "system", "content": args.system}] if args.system is not None else []
    try:
        # A request the arguments make invalid is bad usage: nothing has been sent.
        request = build_request({"model": args.model, "messages": [*messages, {"role": "user", "content": prompt}], "max_tokens": args.max_tokens}, settings)
    except ToolFailure as failure:
        return _fail(2, failure.message)
    shown: list[str] | None = None if args.json else []
    try:
        result = asyncio.run(_chat(App(settings), request.body, shown))
        check_reply(request, result)
    except ToolFailure as failure:
        _end_line(shown)
        return _fail(1, failure.message)
    except KeyboardInterrupt:
        _end_line(shown)
        raise
    if shown is None:
        print(json.dumps(as_json(result), indent=2, ensure_ascii=False))
        return 0
    _end_line(shown)
    print(footer(result), file=sys.stderr)
    return 0


def _end_line(shown: list[str] | None) -> None:
    """End the streamed reply's last line, so what follows on stderr starts a line of its own."""
    if shown and not shown[-1].endswith("\n"):
        print(flush=True)


def _fail(status: int, message: str) -> int:
    print(f"openrouter-mcp chat: {message}", file=sys.stderr)
    return status
