"""The simulator's error answers: the `{"error": {"code", "message", "metadata"}}` body OpenRouter sends
with a failing status, shared by every route; and a JSON request body read as an object, or refused."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


def error(
    status: int, message: str, metadata: dict[str, Any] | None = None, headers: dict[str, str] | None = None, *, extra: dict[str, Any] | None = None
) -> JSONResponse:
    """`extra` adds members to the error object (a model-availability error's `availability`)."""
    body: dict[str, Any] = {"error": {"code": status, "message": message, **(extra or {})}}
    if metadata:
        body["error"]["metadata"] = metadata
    return JSONResponse(body, status_code=status, headers=headers)


async def json_object(request: Request) -> dict[str, Any] | JSONResponse:
    """The request's JSON body (an empty body reads as `{}`), or the 400 answer when it is not a JSON object."""
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError:
        return error(400, "Request body is not valid JSON")
    return body if isinstance(body, dict) else error(400, "Request body must be a JSON object")
