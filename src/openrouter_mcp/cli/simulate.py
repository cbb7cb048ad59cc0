"""`openrouter-mcp simulate`: the built-in OpenRouter simulator alone, serving /api/v1 until stopped."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    from ..simulator.server import serve_forever

    print(f"OpenRouter simulator on http://{args.host}:{args.port}/api/v1 (any non-empty key works)", file=sys.stderr)
    serve_forever(args.host, args.port)
    return 0
