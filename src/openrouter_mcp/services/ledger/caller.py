"""The identity of the caller of the tool call in progress, for the ledger (set by the server per call)."""

from contextvars import ContextVar

CALLER: ContextVar[str | None] = ContextVar("openrouter_mcp_caller", default=None)
