"""Fixtures that give every storage test a fresh, empty database on each backend: SQLite in tmp_path, and
PostgreSQL in a throwaway schema of the database named by OPENROUTER_MCP_TEST_PG_URL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from openrouter_mcp.storage import Storage, open_storage

if TYPE_CHECKING:
    import asyncpg

PG_URL = os.environ.get("OPENROUTER_MCP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin_connection() -> asyncpg.Connection[asyncpg.Record]:
    try:
        import asyncpg  # here, so a missing driver skips (or fails) only the PostgreSQL half

        return await asyncpg.connect(PG_URL, timeout=5)
    except Exception as exc:  # unreachable server, bad credentials, driver not installed: all mean "no PG here"
        reason = f"PostgreSQL at {PG_URL} is not usable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the PostgreSQL backend must be tested")
        pytest.skip(f"{reason}; set OPENROUTER_MCP_TEST_PG_URL to test the PostgreSQL backend")


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database that nothing has opened yet."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/nested/dir/storage.db"
        return
    admin = await _pg_admin_connection()
    schema = f"storage_test_{uuid.uuid4().hex}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        # asyncpg passes unknown URL parameters to the server as settings, so the storage sees only this schema.
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest_asyncio.fixture
async def storage(storage_url: str) -> AsyncIterator[Storage]:
    opened = await open_storage(storage_url)
    try:
        yield opened
    finally:
        await opened.close()
