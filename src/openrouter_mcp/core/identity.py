"""Who is making the call in progress: a `User`, set per request by the server (from the bearer token on
the team server; the one local user over stdio and on an open loopback server). Every job, ledger row,
generation, video, benchmark run and saved file belongs to the user who made it, and another user is
answered as if it did not exist."""

from __future__ import annotations

import hashlib
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from ..config import Secret

# The user of stdio and of an open loopback server: one person, who owns everything made before the team
# server had users.
LOCAL_USER_NAME = "local"
_SAFE_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
# A team user's bearer token: this prefix, then 32 random bytes (256 bits) in URL-safe base64.
TOKEN_PREFIX = "orm_"
# The scope that makes an OAuth user an admin.
ADMIN_SCOPE = "openrouter-mcp:admin"


@dataclass(frozen=True, slots=True)
class User:
    name: str
    admin: bool = False
    daily_budget_usd: Decimal | None = None
    monthly_budget_usd: Decimal | None = None
    # This user's own OpenRouter key (provisioned with a limit), decrypted; None: the server's key.
    openrouter_key: Secret | None = field(default=None, repr=False)
    # False only for the local user: whether this user's files live in a folder of their own.
    team: bool = True

    @property
    def folder(self) -> str:
        """The name of this user's own folder under the output folder: the name itself when it is a safe
        file name, else a readable part of it and a hash (an OAuth `sub` may hold any character)."""
        if _SAFE_NAME.fullmatch(self.name) and self.name not in (".", ".."):
            return self.name
        digest = hashlib.sha256(self.name.encode("utf-8")).hexdigest()[:16]
        return f"{re.sub(r'[^A-Za-z0-9._@-]+', '_', self.name)[:40].strip('.') or 'user'}-{digest}"

    @property
    def has_budget(self) -> bool:
        return self.daily_budget_usd is not None or self.monthly_budget_usd is not None


# Where the HTTP edge leaves what it learned of a request in the ASGI scope: the authenticated user is
# scope["user"] (an `AuthenticatedUser` of the MCP SDK) whose access token carries the `User` under
# claims[USER_CLAIM]; the client's address, after trusted proxies, is scope[PEER_SCOPE_KEY].
USER_CLAIM = "openrouter_mcp_user"
PEER_SCOPE_KEY = "openrouter_mcp.peer"

LOCAL_USER = User(LOCAL_USER_NAME, admin=True, team=False)

CURRENT_USER: ContextVar[User] = ContextVar("openrouter_mcp_user", default=LOCAL_USER)


def current_user() -> User:
    return CURRENT_USER.get()


def user_of_scope(scope: object) -> User | None:
    """The `User` the HTTP edge authenticated for this ASGI scope, or None (open mode, stdio)."""
    if not isinstance(scope, dict):
        return None
    auth_user = scope.get("user")
    token = getattr(auth_user, "access_token", None)
    claims = getattr(token, "claims", None) or {}
    user = claims.get(USER_CLAIM)
    return user if isinstance(user, User) else None


def user_of_request(request_context: object) -> User:
    """The user of a request (its context: the SDK's `ServerRequestContext` or a tool's request context): the
    one the HTTP edge authenticated, or the local user over stdio and on an open server."""
    return user_of_scope(getattr(getattr(request_context, "request", None), "scope", None)) or LOCAL_USER


def owns(record: dict[str, object]) -> bool:
    """Whether a stored record (a benchmark run, a video job) is the current user's: its `user` names its
    maker; records from before users existed are the local user's."""
    return record.get("user", LOCAL_USER_NAME) == current_user().name
