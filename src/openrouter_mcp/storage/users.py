"""The team server's users: names, a hash of each bearer token, admin flag, budgets, and an optional
per-user OpenRouter key (encrypted by the caller; this layer stores the text it is given)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from .sql import Row, SQLBase, from_units, to_units

_USER_COLUMNS = "name, admin, daily_budget_e10, monthly_budget_e10, openrouter_key_encrypted, openrouter_key_hash, openrouter_limit_e10, created_at, updated_at"


def token_hash(token: str) -> str:
    """What is stored of a bearer token. Tokens carry 256 random bits, so a fast hash is safe: nobody can
    search its input space, and a lookup by hash costs one index probe on every request."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class UserRow:
    name: str
    admin: bool
    daily_budget_usd: Decimal | None
    monthly_budget_usd: Decimal | None
    openrouter_key_encrypted: str | None
    openrouter_key_hash: str | None
    openrouter_limit_usd: Decimal | None
    created_at: datetime
    updated_at: datetime


# A budget argument that leaves the stored value alone (None means "no budget").
KEEP = object()


class UserQueries(SQLBase):
    async def add_user(
        self,
        name: str,
        *,
        token: str,
        admin: bool = False,
        daily_budget_usd: Decimal | None = None,
        monthly_budget_usd: Decimal | None = None,
    ) -> bool:
        """Add a user with this bearer token (only its hash is kept). False if the name is taken."""
        now = self.dialect.encode_ts(datetime.now(UTC))
        async with self.connection() as conn:
            return (
                await conn.execute(
                    "INSERT INTO users (name, token_hash, admin, daily_budget_e10, monthly_budget_e10, created_at, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO NOTHING",
                    name,
                    token_hash(token),
                    admin,
                    _units(daily_budget_usd),
                    _units(monthly_budget_usd),
                    now,
                )
                == 1
            )

    async def user_by_token(self, token: str) -> UserRow | None:
        """The user this bearer token belongs to, read from the database on every call, so a rotated or
        removed token stops working on every replica at once."""
        async with self.connection() as conn:
            rows = await conn.fetch(f"SELECT {_USER_COLUMNS} FROM users WHERE token_hash = $1", token_hash(token))
        return self._user_row(rows[0]) if rows else None

    async def get_user(self, name: str) -> UserRow | None:
        async with self.connection() as conn:
            rows = await conn.fetch(f"SELECT {_USER_COLUMNS} FROM users WHERE name = $1", name)
        return self._user_row(rows[0]) if rows else None

    async def list_users(self) -> list[UserRow]:
        async with self.connection() as conn:
            rows = await conn.fetch(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")
        return [self._user_row(r) for r in rows]

    async def count_users(self) -> int:
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT COUNT(*) AS n FROM users")
        return int(rows[0]["n"])

    async def has_users(self) -> bool:
        """Whether the server has any user: asked on every request of a server that is open while it has
        none, so answered at once where the backend can (`read_now`), else with one small query."""
        sql = "SELECT EXISTS (SELECT 1 FROM users) AS any_user"
        rows = self.read_now(sql)
        if rows is None:
            async with self.connection() as conn:
                rows = await conn.fetch(sql)
        return bool(rows[0]["any_user"])

    async def update_user(
        self,
        name: str,
        *,
        admin: bool | None = None,
        daily_budget_usd: Decimal | object | None = KEEP,
        monthly_budget_usd: Decimal | object | None = KEEP,
    ) -> bool:
        """Change a user's admin flag or budgets (KEEP leaves one as it is). False for an unknown name."""
        sets: list[str] = []
        args: list[object] = [name]
        for column, value in (("admin", admin), ("daily_budget_e10", daily_budget_usd), ("monthly_budget_e10", monthly_budget_usd)):
            if value is KEEP or (column == "admin" and value is None):
                continue
            args.append(value if column == "admin" else _units(value))  # type: ignore[arg-type]
            sets.append(f"{column} = ${len(args)}")
        args.append(self.dialect.encode_ts(datetime.now(UTC)))
        sets.append(f"updated_at = ${len(args)}")
        async with self.connection() as conn:
            return await conn.execute(f"UPDATE users SET {', '.join(sets)} WHERE name = $1", *args) == 1

    async def set_token(self, name: str, token: str) -> bool:
        """Replace a user's bearer token: the old one stops working at once. False for an unknown name."""
        async with self.connection() as conn:
            return (
                await conn.execute(
                    "UPDATE users SET token_hash = $2, updated_at = $3 WHERE name = $1", name, token_hash(token), self.dialect.encode_ts(datetime.now(UTC))
                )
                == 1
            )

    async def set_openrouter_key(self, name: str, *, encrypted: str | None, key_hash: str | None, limit_usd: Decimal | None) -> bool:
        """Store (or clear, with None) a user's own OpenRouter key: its encrypted text, its upstream id (hash)
        and its limit. False for an unknown name."""
        async with self.connection() as conn:
            return (
                await conn.execute(
                    "UPDATE users SET openrouter_key_encrypted = $2, openrouter_key_hash = $3, openrouter_limit_e10 = $4, updated_at = $5 WHERE name = $1",
                    name,
                    encrypted,
                    key_hash,
                    _units(limit_usd),
                    self.dialect.encode_ts(datetime.now(UTC)),
                )
                == 1
            )

    async def remove_user(self, name: str) -> bool:
        """Remove a user (their token stops working at once; their ledger rows stay). False if unknown."""
        async with self.connection() as conn:
            return await conn.execute("DELETE FROM users WHERE name = $1", name) == 1

    def _user_row(self, row: Row) -> UserRow:
        return UserRow(
            name=row["name"],
            admin=bool(row["admin"]),
            daily_budget_usd=_usd(row["daily_budget_e10"]),
            monthly_budget_usd=_usd(row["monthly_budget_e10"]),
            openrouter_key_encrypted=row["openrouter_key_encrypted"],
            openrouter_key_hash=row["openrouter_key_hash"],
            openrouter_limit_usd=_usd(row["openrouter_limit_e10"]),
            created_at=self.dialect.decode_ts(row["created_at"]),
            updated_at=self.dialect.decode_ts(row["updated_at"]),
        )


def _units(amount: Decimal | None) -> int | None:
    return None if amount is None else to_units(amount)


def _usd(units: int | None) -> Decimal | None:
    return None if units is None else from_units(units)
