"""`openrouter-mcp demo`: the server on the built-in simulator, driven by a real MCP client over stdio,
so a new user sees the tools and one complete chat call without a key or network. The server runs as
`serve --simulate` on the user's home, so its state goes to `<home>/simulated/`, never the real ledger;
no other OPENROUTER_* setting reaches it, so the demo runs whatever the environment holds."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any


def _out(text: str = "") -> None:
    print(text, flush=True)


async def run_demo(prompt: str, model: str, home: Path) -> int:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from ..config import SIMULATED_DIR

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(home)
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve", "--simulate"], env=env)
    started = time.perf_counter()
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        _out(f"Connected to openrouter-mcp over stdio in {time.perf_counter() - started:.2f} s (built-in simulator, no API key).")
        _out(f"\n{len(tools)} tools:")
        width = max(len(tool.name) for tool in tools)
        for tool in tools:
            first = (tool.description or "").split(". ")[0]
            _out(f"  • {tool.name:<{width}}  {textwrap.shorten(first, 90, placeholder=' …')}")

        _out(f"\nchat_completion(model={model!r})\n  > {prompt}")
        ticks: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            ticks.append(progress)

        t0 = time.perf_counter()
        result = await client.call_tool("chat_completion", {"model": model, "messages": [{"role": "user", "content": prompt}]}, progress_callback=on_progress)
        elapsed = time.perf_counter() - t0
        data: dict[str, Any] = result.structured_content or {}
        if result.is_error:
            _out(f"\nerror: {data.get('error')}")
            return 1
        usage = data["usage"]
        _out(f"\n{data['text']}\n")
        _out(f"  model        {data['model']} (provider: {data['provider']})")
        _out(f"  tokens       {usage['prompt_tokens']} in / {usage['completion_tokens']} out")
        _out(f"  cost         ${data['cost_usd']:.8f} (simulated)")
        _out(f"  generation   {data['generation_id']}")
        _out(f"  time         {elapsed * 1000:.0f} ms, {len(ticks)} progress update{'' if len(ticks) == 1 else 's'}")
        _out(f"  state        {home / SIMULATED_DIR} (the simulator's own database and folders; your real ledger is untouched)")
        _out("\nNext: add the server to your MCP client (see README), or try `openrouter-mcp doctor --simulate`.")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..config import ConfigError, home_from_env

    try:
        home = home_from_env()
    except ConfigError as exc:
        print(f"openrouter-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(run_demo(args.prompt, args.model, home))
