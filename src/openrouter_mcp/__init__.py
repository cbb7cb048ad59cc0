"""openrouter-mcp: every OpenRouter model as MCP tools."""

__version__ = "0.1.0"
