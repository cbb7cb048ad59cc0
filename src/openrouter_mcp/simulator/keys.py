"""The simulator's key-management API (`/api/v1/keys`, for management keys only) and `KeyGuard`, which makes
the keys it creates behave on every other route as OpenRouter's do: what they spend counts against their
limit, a spent limit is refused, and a deleted or disabled key is unknown.

Wire format: https://openrouter.ai/docs/guides/overview/auth/management-api-keys and the `openrouter` SDK's
`operations.createkeys` / `getkey` / `list` / `updatekeys` / `deletekeys`. A spent key limit is refused as
https://openrouter.ai/docs/guides/best-practices/capping-shared-agent-keys describes (403, "Key limit
exceeded"), with the `limit_source` that https://openrouter.ai/docs/api-reference/limits names."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .responses import error, json_object
from .state import MANAGEMENT_KEY_PREFIX, REQUEST_KEY, Simulator

# The simulator's provisioning keys (OPENROUTER_PROVISIONING_KEY); management keys (sk-or-mgmt-) work too.
PROVISIONING_KEY_PREFIX = "sk-or-sim-prov-"
WORKSPACE_ID = "00000000-0000-4000-8000-000000000000"
LIMIT_RESETS = (None, "daily", "weekly", "monthly")
KEY_LIMIT_MESSAGE = "Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys"


@dataclass
class ManagedKey:
    hash: str
    key: str
    name: str
    limit: Decimal | None
    created_at: float
    updated_at: float | None = None
    disabled: bool = False
    limit_reset: str | None = None
    include_byok_in_limit: bool = False


class KeyRoutes:
    """`GET`/`POST /api/v1/keys` and `GET`/`PATCH`/`DELETE /api/v1/keys/{hash}`, and the keys they made."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.by_hash: dict[str, ManagedKey] = {}
        self.by_key: dict[str, ManagedKey] = {}  # deleted keys stay here (gone from by_hash), so they can be refused

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/keys", self.collection, methods=["GET", "POST"]),
            Route("/api/v1/keys/{hash}", self.one, methods=["GET", "PATCH", "DELETE"]),
        ]

    def refusal(self, key: str, method: str, path: str) -> Response | None:
        """OpenRouter's answer to a request made with a key this API made, when it may not go through."""
        with self.lock:
            managed = self.by_key.get(key)
            if managed is None or path.startswith("/api/v1/keys"):
                return None
            if self.by_hash.get(managed.hash) is not managed or managed.disabled:
                return error(401, "User not found.")
            # Only requests that generate (and bill) are stopped; reading the key's own state still works.
            if method == "POST" and managed.limit is not None and self.sim.state.key_usage_usd.get(key, Decimal(0)) >= managed.limit:
                return error(403, KEY_LIMIT_MESSAGE, {"limit_source": "openrouter_key_limit"})
        return None

    async def collection(self, request: Request) -> Response:
        self.sim.state.log(request)
        if (refused := self._management(request)) is not None:
            return refused
        if request.method == "POST":
            return await self._create(request)
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            return error(400, "offset: expected a whole number")
        include_disabled = request.query_params.get("include_disabled", "false").lower() == "true"
        with self.lock:
            listed = [k for k in reversed(self.by_hash.values()) if include_disabled or not k.disabled]
            return JSONResponse({"data": [self._wire(k) for k in listed[offset : offset + 100]]})

    async def one(self, request: Request) -> Response:
        self.sim.state.log(request)
        if (refused := self._management(request)) is not None:
            return refused
        with self.lock:
            managed = self.by_hash.get(request.path_params["hash"])
        if managed is None:
            return error(404, "API key not found")
        if request.method == "GET":
            with self.lock:
                return JSONResponse({"data": self._wire(managed)})
        if request.method == "DELETE":
            with self.lock:
                self.by_hash.pop(managed.hash, None)
            return JSONResponse({"deleted": True})
        changes = await _request_fields(request, creating=False)
        if isinstance(changes, Response):
            return changes
        with self.lock:
            for name, value in changes.items():
                setattr(managed, name, value)
            managed.updated_at = time.time()
            return JSONResponse({"data": self._wire(managed)})

    async def _create(self, request: Request) -> Response:
        fields = await _request_fields(request, creating=True)
        if isinstance(fields, Response):
            return fields
        key = "sk-or-v1-" + secrets.token_hex(32)
        managed = ManagedKey(hash=hashlib.sha256(key.encode()).hexdigest(), key=key, name="", limit=None, created_at=time.time())
        for name, value in fields.items():
            setattr(managed, name, value)
        with self.lock:
            self.by_hash[managed.hash] = managed
            self.by_key[key] = managed
            return JSONResponse({"data": self._wire(managed), "key": key}, status_code=201)

    def _management(self, request: Request) -> Response | None:
        key = self.sim._authorized(request)
        if not key:
            return error(401, "No auth credentials found")
        if not key.startswith((PROVISIONING_KEY_PREFIX, MANAGEMENT_KEY_PREFIX)):
            return error(403, "Only management keys can manage API keys")
        return None

    def _wire(self, k: ManagedKey) -> dict[str, Any]:
        usage = self.sim.state.key_usage_usd.get(k.key, Decimal(0))
        used = float(usage)
        return {
            "byok_usage": 0.0,
            "byok_usage_daily": 0.0,
            "byok_usage_monthly": 0.0,
            "byok_usage_weekly": 0.0,
            "created_at": _iso(k.created_at),
            "creator_user_id": None,
            "disabled": k.disabled,
            "expires_at": None,
            "external_user": None,
            "hash": k.hash,
            "include_byok_in_limit": k.include_byok_in_limit,
            "label": f"{k.key[:12]}...{k.key[-3:]}",
            "last_used_at": None,
            "limit": None if k.limit is None else float(k.limit),
            "limit_remaining": None if k.limit is None else max(0.0, float(k.limit - usage)),
            "limit_reset": k.limit_reset,
            "name": k.name,
            "updated_at": None if k.updated_at is None else _iso(k.updated_at),
            "usage": used,
            "usage_daily": used,
            "usage_monthly": used,
            "usage_weekly": used,
            "workspace_id": WORKSPACE_ID,
        }


class KeyGuard:
    """ASGI middleware: notes each request's key (`state.REQUEST_KEY`, so its spend is counted against it) and
    answers for OpenRouter when a key this API made may not be used."""

    def __init__(self, app: ASGIApp, keys: KeyRoutes) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = self.keys.sim._authorized(request)
        if key and (refused := self.keys.refusal(key, scope["method"], scope["path"])) is not None:
            self.keys.sim.state.log(request, refused=True)
            await refused(scope, receive, send)
            return
        token = REQUEST_KEY.set(key)
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_KEY.reset(token)


async def _request_fields(request: Request, *, creating: bool) -> dict[str, Any] | Response:
    """The key fields a create or update request sets, or the error Response for a bad body."""
    body = await json_object(request)
    return body if isinstance(body, Response) else _fields(body, creating=creating)


def _fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any] | Response:
    """The key fields a create (name required) or update body sets, checked as OpenRouter checks them."""
    out: dict[str, Any] = {}
    name = body.get("name")
    if creating or "name" in body:
        if not isinstance(name, str) or not name.strip():
            return error(400, "name: expected a non-empty string")
        out["name"] = name
    if "limit" in body:
        limit = body["limit"]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0):
            return error(400, "limit: expected a number of USD, 0 or more, or null")
        out["limit"] = None if limit is None else Decimal(repr(limit) if isinstance(limit, float) else str(limit))
    if "limit_reset" in body:
        if body["limit_reset"] not in LIMIT_RESETS:
            return error(400, "limit_reset: expected daily, weekly, monthly or null")
        out["limit_reset"] = body["limit_reset"]
    for flag in ("include_byok_in_limit", *(() if creating else ("disabled",))):
        if flag in body:
            if not isinstance(body[flag], bool):
                return error(400, f"{flag}: expected true or false")
            out[flag] = body[flag]
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()
