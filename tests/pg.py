"""PostgreSQL for tests: the server named by OPENROUTER_MCP_TEST_PG_URL, and throwaway schemas in it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import asyncpg

PG_URL = os.environ.get("OPENROUTER_MCP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def admin_connection() -> asyncpg.Connection[asyncpg.Record]:
    try:
        import asyncpg  # here, so a missing driver skips (or fails) only the PostgreSQL half

        return await asyncpg.connect(PG_URL, timeout=5)
    except Exception as exc:  # unreachable server, bad credentials, driver not installed: all mean "no PG here"
        reason = f"PostgreSQL at {PG_URL} is not usable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the PostgreSQL backend must be tested")
        pytest.skip(f"{reason}; set OPENROUTER_MCP_TEST_PG_URL to test the PostgreSQL backend")


@asynccontextmanager
async def schema_url(prefix: str) -> AsyncIterator[str]:
    """The URL of a fresh, empty schema, dropped afterwards. asyncpg passes unknown URL parameters to the
    server as settings, so whoever opens the URL sees only this schema."""
    admin = await admin_connection()
    schema = f"{prefix}_{uuid.uuid4().hex}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
