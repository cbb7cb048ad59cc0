"""The simulator's error answers: the `{"error": {"code", "message", "metadata"}}` body OpenRouter sends
with a failing status, shared by every route."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def error(status: int, message: str, metadata: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": status, "message": message}}
    if metadata:
        body["error"]["metadata"] = metadata
    return JSONResponse(body, status_code=status, headers=headers)
