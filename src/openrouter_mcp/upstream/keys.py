"""OpenRouter's key-management API, spoken with the provisioning (management) key: a dedicated key with a
credit limit for one team-server user, created, read, re-limited and deleted.

The API, as documented at https://openrouter.ai/docs/guides/overview/auth/management-api-keys (and typed
by the `openrouter` SDK's `operations.createkeys`, `getkey`, `updatekeys`, `deletekeys`):

- `POST /keys` with `{"name", "limit"}` answers 201 `{"data": {"hash", "limit", "usage", ...}, "key": "sk-or-v1-..."}`;
  the key itself is shown only in that answer.
- `GET /keys/{hash}` and `PATCH /keys/{hash}` (`{"limit"}`) answer `{"data": {...}}`; `DELETE /keys/{hash}`
  answers `{"deleted": true}`.

Neither the provisioning key nor a created key ever appears in a log line, message or exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from ..config import Secret, Settings
from ..errors import ErrorCode, ToolFailure
from .errors import bad_response
from .gateway import Gateway
from .types import cost_from_wire


@dataclass(frozen=True, slots=True)
class ProvisionedKey:
    """What OpenRouter says of one key it made: its id (`hash`), credit limit and spend so far."""

    hash: str
    limit_usd: Decimal | None
    usage_usd: Decimal


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key and the key itself, which OpenRouter shows only this once."""

    info: ProvisionedKey
    key: Secret = field(repr=False)


class KeyManagement:
    """The key-management client. Use it as an async context manager, or close it with `aclose()`."""

    def __init__(self, settings: Settings) -> None:
        provisioning_key = settings.team.provisioning_key
        if provisioning_key is None:
            raise ValueError("KeyManagement needs settings.team.provisioning_key (OPENROUTER_PROVISIONING_KEY)")
        # A gateway of its own: it always speaks with the provisioning key, whoever the current user is, and
        # masks that key in every error it quotes.
        self._gateway = Gateway(settings.with_overrides(api_key=provisioning_key), callers_keys=False)

    async def __aenter__(self) -> KeyManagement:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._gateway.aclose()

    async def create(self, name: str, limit_usd: Decimal) -> CreatedKey:
        """A new key named `name` that OpenRouter stops at `limit_usd` of spend."""
        payload = await self._call("POST", "keys", {"name": name, "limit": float(limit_usd)})
        key = payload.get("key") if isinstance(payload, dict) else None
        if not isinstance(key, str) or not key:
            raise bad_response("a created key without the key itself")
        return CreatedKey(_key_info(payload), Secret(key))

    async def get(self, key_hash: str) -> ProvisionedKey | None:
        """The key with this hash, or None when OpenRouter has no such key (deleted)."""
        payload = await self._call("GET", _path(key_hash))
        return None if payload is None else _key_info(payload)

    async def set_limit(self, key_hash: str, limit_usd: Decimal) -> ProvisionedKey | None:
        """Give the key with this hash a new credit limit; None when OpenRouter has no such key."""
        payload = await self._call("PATCH", _path(key_hash), {"limit": float(limit_usd)})
        return None if payload is None else _key_info(payload)

    async def delete(self, key_hash: str) -> bool:
        """Delete the key with this hash: it stops working at once. False when OpenRouter had no such key."""
        return await self._call("DELETE", _path(key_hash)) is not None

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The JSON answer; None when OpenRouter has no such key (404)."""
        try:
            return await self._gateway.request_json(method, path, body=body)
        except ToolFailure as failure:
            status = (failure.details or {}).get("upstream_status")
            if status == 404 and method != "POST":
                return None
            if status in (401, 403):
                raise ToolFailure(
                    ErrorCode.AUTH,
                    f"OpenRouter refused OPENROUTER_PROVISIONING_KEY ({status}): it must be a management key, made at "
                    "https://openrouter.ai/settings/management-keys (an ordinary API key cannot manage keys).",
                    details={"upstream_status": status},
                ) from None
            raise


def _path(key_hash: str) -> str:
    return "keys/" + quote(key_hash, safe="")


def _key_info(payload: Any) -> ProvisionedKey:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("hash"), str) or not data["hash"]:
        raise bad_response("a key-management answer without the key's hash")
    return ProvisionedKey(
        hash=data["hash"],
        limit_usd=cost_from_wire(data.get("limit")),
        usage_usd=cost_from_wire(data.get("usage")) or Decimal(0),
    )
