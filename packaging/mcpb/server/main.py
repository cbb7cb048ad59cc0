"""The Claude Desktop bundle's entry point: the stdio MCP server, run by uv in the environment it builds
from the bundle's pyproject.toml (the package itself and its dependencies)."""

from openrouter_mcp.cli import main

raise SystemExit(main(["serve"]))
