"""The last step of OpenRouter's OAuth PKCE flow (https://openrouter.ai/docs/guides/overview/auth/oauth): an
authorization code and its verifier exchanged for the person's own API key.

`POST /auth/keys` with `{code, code_verifier, code_challenge_method}` answers `{"key": "sk-or-v1-...", "user_id"}`,
as the `openrouter` SDK's `operations.ExchangeAuthCodeForAPIKeyResponse` types it; a wrong, used or expired
code, or a verifier that does not match its challenge, is refused with 400 or 403. No API key is sent: the
person has none yet. The key never appears in a log line, message or exception.
"""

from __future__ import annotations

from ..config import Secret, Settings
from ..errors import ErrorCode, ToolFailure
from .errors import bad_response
from .gateway import Gateway

REFUSED = (
    "OpenRouter refused the authorization code: it was wrong, already used or expired, or the code verifier did not match "
    "its challenge. Run `openrouter-mcp login` again."
)


async def exchange_code(settings: Settings, code: str, verifier: str) -> Secret:
    """The API key that `code` (from the callback) and `verifier` (whose S256 challenge went to `/auth`) buy."""
    gateway = Gateway(settings.with_overrides(api_key=None), callers_keys=False)
    try:
        payload = await gateway.request_json("POST", "auth/keys", body={"code": code, "code_verifier": verifier, "code_challenge_method": "S256"})
    except ToolFailure as failure:
        if (failure.details or {}).get("upstream_status") in (400, 403):
            raise ToolFailure(ErrorCode.AUTH, REFUSED, details=failure.details) from None
        raise
    finally:
        await gateway.aclose()
    key = payload.get("key") if isinstance(payload, dict) else None
    if not isinstance(key, str) or not key:
        raise bad_response("an authorization-code exchange answer without a key")
    return Secret(key)
