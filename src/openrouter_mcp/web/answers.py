"""The one shape of every answer the HTTP edge gives instead of the MCP endpoint's: a JSON body with an
OAuth-style `error` code and a sentence saying what to do (RFC 6750 §3 uses the same two fields)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


def refusal(status: int, error: str, description: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)
