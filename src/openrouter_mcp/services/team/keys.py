"""Per-user OpenRouter keys at rest: encrypted with a Fernet key derived from OPENROUTER_MCP_SECRET_KEY, and
decrypted only when a stored user becomes the `User` of a call."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from ...config import ConfigError, Secret, TeamSettings
from ...core.identity import User

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from ...storage.users import UserRow

# Binds the derived key to this one use, so the same secret key used elsewhere yields a different key.
_HKDF_INFO = b"openrouter-mcp: per-user OpenRouter keys at rest"


class SecretKeyError(ConfigError):
    """A stored OpenRouter key cannot be read with the configured OPENROUTER_MCP_SECRET_KEY."""


def fernet_for(secret: bytes, purpose: bytes) -> Fernet:
    """A Fernet key derived from `secret` for one `purpose` (HKDF-SHA256 with `purpose` as its info), so one
    secret serves several uses without one's tokens opening another's."""
    # Imported here: only a call with a per-user key, the `users` command or the dashboard needs the library.
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return Fernet(base64.urlsafe_b64encode(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)))


def _fernet(secret_key: Secret) -> Fernet:
    return fernet_for(secret_key.get().encode("utf-8"), _HKDF_INFO)


def encrypt(secret_key: Secret, plaintext: str) -> str:
    """`plaintext` encrypted and authenticated (Fernet: AES-128-CBC with HMAC-SHA256), as URL-safe text."""
    return _fernet(secret_key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(secret_key: Secret, token: str) -> str:
    """The text `encrypt` was given; SecretKeyError when `token` was made with another secret key (or altered)."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretKeyError(
            "a stored OpenRouter key cannot be decrypted with OPENROUTER_MCP_SECRET_KEY: it was stored under another secret key "
            "(or altered). Set OPENROUTER_MCP_SECRET_KEY back to the value it had when the key was stored, or remove the user and add "
            "them again with a new key"
        ) from None


def user_from_row(row: UserRow, team: TeamSettings) -> User:
    """The `User` a stored user row stands for, with their own OpenRouter key decrypted. A user who has a key
    never silently falls back to the server's key (which has no per-user limit): without a secret key, or with
    the wrong one, this raises SecretKeyError."""
    key: Secret | None = None
    if row.openrouter_key_encrypted is not None:
        if team.secret_key is None:
            raise SecretKeyError(
                f"user {row.name!r} has their own OpenRouter key, stored encrypted, but OPENROUTER_MCP_SECRET_KEY is not set: "
                "set it to the value it had when the key was stored"
            )
        try:
            key = Secret(decrypt(team.secret_key, row.openrouter_key_encrypted))
        except SecretKeyError as exc:
            raise SecretKeyError(f"user {row.name!r}: {exc}") from None
    return User(
        name=row.name,
        admin=row.admin,
        daily_budget_usd=row.daily_budget_usd,
        monthly_budget_usd=row.monthly_budget_usd,
        openrouter_key=key,
        team=True,
    )
