"""`openrouter-mcp users`: the team server's users, in the database OPENROUTER_MCP_DATABASE_URL names. `add` and
`rotate` print a bearer token once, as their last line; only its hash is stored. With OPENROUTER_PROVISIONING_KEY
set, `--openrouter-limit-usd` gives a user an OpenRouter key of their own with that credit limit, stored
encrypted with OPENROUTER_MCP_SECRET_KEY and deleted upstream when the user is removed."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..core.identity import LOCAL_USER_NAME, TOKEN_PREFIX
from ..errors import ToolFailure
from .common import Refused

if TYPE_CHECKING:
    from ..config import Settings
    from ..storage import Storage
    from ..storage.users import UserRow
    from ..upstream.keys import KeyManagement

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# Far above any budget, and far below what the ledger's integer columns hold.
MAX_USD = Decimal(100_000_000)
NEEDS_PROVISIONING = (
    "--openrouter-limit-usd needs OPENROUTER_PROVISIONING_KEY: set it to an OpenRouter management key "
    "(https://openrouter.ai/settings/management-keys), and OPENROUTER_MCP_SECRET_KEY to a secret that encrypts the keys it makes"
)


def new_token() -> str:
    """A bearer token: 32 random bytes (256 bits), so the fast hash that storage keeps of it is safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def user_name(raw: str) -> str:
    if raw == LOCAL_USER_NAME:
        raise argparse.ArgumentTypeError(f"{raw!r} is reserved for the single local user (stdio, open loopback server); pick another name")
    if not _NAME.fullmatch(raw):
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a user name: use 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit (e.g. alice or alice@example.com)"
        )
    return raw


def usd(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an amount in USD: use e.g. 5 or 0.50") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an amount in USD: use 0 or more, e.g. 5 or 0.50")
    if value > MAX_USD:
        raise argparse.ArgumentTypeError(f"{raw!r} is too large: use at most {MAX_USD} USD")
    return value


def usd_or_none(raw: str) -> Decimal | None:
    if raw.strip().lower() == "none":
        return None
    try:
        return usd(raw)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, or none to remove the budget") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulate", action="store_true", help="the users of `serve --http --simulate` (the simulated state's own database, never the real one)"
    )
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    budget_help = "USD per {} (UTC); {}"

    add = actions.add_parser("add", help="add a user and print their bearer token (once, as the last line)")
    add.add_argument("name", type=user_name, metavar="NAME", help="1-64 letters, digits, '.', '_', '-', '@'")
    add.add_argument("--admin", action="store_true", help="may see every user's usage and jobs")
    add.add_argument("--daily-budget-usd", type=usd, metavar="X", help=budget_help.format("day", "default: none"))
    add.add_argument("--monthly-budget-usd", type=usd, metavar="Y", help=budget_help.format("month", "default: none"))
    add.add_argument("--openrouter-limit-usd", type=usd, metavar="Z", help="give the user an OpenRouter key of their own with this credit limit")

    listing = actions.add_parser("list", help="every user: admin, budgets, own OpenRouter key, created")
    listing.add_argument("--json", action="store_true", help="print the users as JSON")

    change = actions.add_parser("set", help="change a user's budgets, admin flag or OpenRouter key limit")
    change.add_argument("name", type=user_name, metavar="NAME")
    # SUPPRESS: a budget left out is kept, which is not the same as `none` (no budget).
    change.add_argument("--daily-budget-usd", type=usd_or_none, default=argparse.SUPPRESS, metavar="X|none", help=budget_help.format("day", "none removes it"))
    change.add_argument(
        "--monthly-budget-usd", type=usd_or_none, default=argparse.SUPPRESS, metavar="Y|none", help=budget_help.format("month", "none removes it")
    )
    change.add_argument("--admin", action=argparse.BooleanOptionalAction, default=None, help="make (or, with --no-admin, unmake) an admin")
    change.add_argument("--openrouter-limit-usd", type=usd, metavar="Z", help="the credit limit of the user's own OpenRouter key (made if they have none)")

    rotate = actions.add_parser("rotate", help="give a user a new bearer token (printed once, as the last line); the old one stops at once")
    rotate.add_argument("name", type=user_name, metavar="NAME")

    remove = actions.add_parser("remove", help="remove a user (and delete their own OpenRouter key); their ledger rows stay")
    remove.add_argument("name", type=user_name, metavar="NAME")


def run(args: argparse.Namespace) -> int:
    from .common import settings_or_exit

    settings = settings_or_exit(require_key=False, simulate=args.simulate)
    if getattr(args, "openrouter_limit_usd", None) is not None:
        if args.simulate:
            return _fail(
                args,
                2,
                "--openrouter-limit-usd needs a key-management API: with --simulate there is none to reach. Run `openrouter-mcp simulate`, point "
                "OPENROUTER_BASE_URL at it and leave out --simulate (docs/users.md shows how).",
            )
        if settings.team.provisioning_key is None:
            return _fail(args, 2, NEEDS_PROVISIONING)
    action = {"add": add_user, "list": list_users, "set": set_user, "rotate": rotate_token, "remove": remove_user}[args.users_command]
    try:
        lines = asyncio.run(action(settings, args))
    except Refused as exc:
        return _fail(args, exc.status, str(exc))
    except ToolFailure as failure:
        return _fail(args, 1, failure.message)
    print("\n".join(lines))
    return 0


def _fail(args: argparse.Namespace, status: int, message: str) -> int:
    print(f"openrouter-mcp users {args.users_command}: {message}", file=sys.stderr)
    return status


@asynccontextmanager
async def _opened(settings: Settings) -> AsyncIterator[Storage]:
    from ..storage import open_storage

    try:
        storage = await open_storage(settings.database_url)
    except Exception as exc:  # a driver's own error (unreachable server, bad credentials): say which database
        raise Refused(1, f"cannot open the database of OPENROUTER_MCP_DATABASE_URL ({type(exc).__name__}: {exc})") from None
    try:
        yield storage
    finally:
        await storage.close()


async def add_user(settings: Settings, args: argparse.Namespace) -> list[str]:
    name: str = args.name
    limit: Decimal | None = args.openrouter_limit_usd
    token = new_token()
    async with _opened(settings) as storage:
        added = await storage.add_user(name, token=token, admin=args.admin, daily_budget_usd=args.daily_budget_usd, monthly_budget_usd=args.monthly_budget_usd)
        if not added:
            raise Refused(1, f"a user named {name!r} already exists: `openrouter-mcp users set {name}` changes them, `users rotate {name}` gives a new token")
        if limit is not None:
            from ..upstream.keys import KeyManagement

            try:
                async with KeyManagement(settings) as keys:
                    await _provision(settings, keys, storage, name, limit)
            except BaseException as exc:
                await storage.remove_user(name)  # all or nothing: no user left behind without the key asked for
                if isinstance(exc, ToolFailure):
                    raise Refused(1, f"{exc.message} {name} was not added.") from None
                raise
        row = await _row(storage, name)
    return [f"Added {describe(row)}.", "Bearer token (shown only this once; only its hash is stored):", token]


async def list_users(settings: Settings, args: argparse.Namespace) -> list[str]:
    async with _opened(settings) as storage:
        rows = await storage.list_users()
    if args.json:
        return [json.dumps([_json(row) for row in rows], indent=2)]
    if not rows:
        return ["No users yet: add one with `openrouter-mcp users add NAME`."]
    from rich.table import Column

    from .tables import draw, table

    grid = table(Column("name", style="cyan", overflow="fold"), "admin", "daily budget", "monthly budget", "own OpenRouter key", "created (UTC)")
    for row in rows:
        key = f"limit {_usd_text(row.openrouter_limit_usd)}" if row.openrouter_key_hash else "no"
        created = row.created_at.strftime("%Y-%m-%d %H:%M")
        grid.add_row(row.name, "yes" if row.admin else "no", _usd_text(row.daily_budget_usd), _usd_text(row.monthly_budget_usd), key, created)
    return [draw(grid)]


async def set_user(settings: Settings, args: argparse.Namespace) -> list[str]:
    from ..storage.users import KEEP

    name: str = args.name
    daily = getattr(args, "daily_budget_usd", KEEP)
    monthly = getattr(args, "monthly_budget_usd", KEEP)
    limit: Decimal | None = args.openrouter_limit_usd
    if daily is KEEP and monthly is KEEP and args.admin is None and limit is None:
        raise Refused(2, "nothing to change: give --daily-budget-usd, --monthly-budget-usd, --admin/--no-admin or --openrouter-limit-usd")
    async with _opened(settings) as storage:
        if limit is not None:  # first: if OpenRouter refuses, nothing has changed
            await _set_limit(settings, storage, await _row(storage, name), limit)
        if not await storage.update_user(name, admin=args.admin, daily_budget_usd=daily, monthly_budget_usd=monthly):
            raise _unknown(name)
        row = await _row(storage, name)
    return [f"Changed {describe(row)}."]


async def rotate_token(settings: Settings, args: argparse.Namespace) -> list[str]:
    token = new_token()
    async with _opened(settings) as storage:
        if not await storage.set_token(args.name, token):
            raise _unknown(args.name)
    return [f"New bearer token for {args.name}; the old one no longer works (shown only this once; only its hash is stored):", token]


async def remove_user(settings: Settings, args: argparse.Namespace) -> list[str]:
    name: str = args.name
    async with _opened(settings) as storage:
        row = await _row(storage, name)
        note = ""
        if row.openrouter_key_hash is not None:
            if settings.team.provisioning_key is None:
                raise Refused(
                    2,
                    f"{name} has an OpenRouter key of their own, which must be deleted with them: set OPENROUTER_PROVISIONING_KEY to the "
                    "management key that made it (and OPENROUTER_MCP_SECRET_KEY)",
                )
            from ..upstream.keys import KeyManagement

            # Upstream first: if OpenRouter cannot be reached, the user stays, and the command can be run again.
            async with KeyManagement(settings) as keys:
                deleted = await keys.delete(row.openrouter_key_hash)
            note = " Their OpenRouter key was deleted and no longer works." if deleted else " Their OpenRouter key was already gone from OpenRouter."
        await storage.remove_user(name)
    return [f"Removed {name}: their token no longer works; their past calls stay in the ledger.{note}"]


async def _provision(settings: Settings, keys: KeyManagement, storage: Storage, name: str, limit: Decimal) -> None:
    """Make the user an OpenRouter key with this limit and store it, encrypted."""
    from ..services.team.keys import encrypt

    secret_key = settings.team.secret_key
    assert secret_key is not None  # the configuration refuses a provisioning key without one
    created = await keys.create(f"openrouter-mcp user {name}", limit)
    try:
        stored = await storage.set_openrouter_key(name, encrypted=encrypt(secret_key, created.key.get()), key_hash=created.info.hash, limit_usd=limit)
    except BaseException:
        await keys.delete(created.info.hash)
        raise
    if not stored:  # removed meanwhile, by another admin
        await keys.delete(created.info.hash)
        raise _unknown(name)


async def _set_limit(settings: Settings, storage: Storage, row: UserRow, limit: Decimal) -> None:
    """Change the limit of the user's OpenRouter key, or make them one (also when theirs was deleted upstream)."""
    from ..upstream.keys import KeyManagement

    async with KeyManagement(settings) as keys:
        if row.openrouter_key_hash is not None and await keys.set_limit(row.openrouter_key_hash, limit) is not None:
            await storage.set_openrouter_key(row.name, encrypted=row.openrouter_key_encrypted, key_hash=row.openrouter_key_hash, limit_usd=limit)
        else:
            await _provision(settings, keys, storage, row.name, limit)


async def _row(storage: Storage, name: str) -> UserRow:
    row = await storage.get_user(name)
    if row is None:
        raise _unknown(name)
    return row


def _unknown(name: str) -> Refused:
    return Refused(1, f"there is no user named {name!r}; `openrouter-mcp users list` shows them")


def describe(row: UserRow) -> str:
    key = f"own OpenRouter key with a {_usd_text(row.openrouter_limit_usd)} limit" if row.openrouter_key_hash else "the server's OpenRouter key"
    return (
        f"{row.name} (admin: {'yes' if row.admin else 'no'}, daily budget: {_usd_text(row.daily_budget_usd)}, "
        f"monthly budget: {_usd_text(row.monthly_budget_usd)}, {key})"
    )


def _usd_text(amount: Decimal | None) -> str:
    return "none" if amount is None else f"${amount.normalize():f}"


def _json(row: UserRow) -> dict[str, Any]:
    def number(amount: Decimal | None) -> float | None:
        return None if amount is None else float(amount)

    return {
        "name": row.name,
        "admin": row.admin,
        "daily_budget_usd": number(row.daily_budget_usd),
        "monthly_budget_usd": number(row.monthly_budget_usd),
        "openrouter_key": row.openrouter_key_hash is not None,
        "openrouter_key_hash": row.openrouter_key_hash,
        "openrouter_limit_usd": number(row.openrouter_limit_usd),
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
