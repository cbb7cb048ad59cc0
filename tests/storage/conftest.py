"""Fixtures that give every storage test a fresh, empty database on each backend: SQLite in tmp_path, and
PostgreSQL in a throwaway schema of the database named by OPENROUTER_MCP_TEST_PG_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from openrouter_mcp.storage import Storage, open_storage

from ..pg import schema_url

if TYPE_CHECKING:
    pass

@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database that nothing has opened yet."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/nested/dir/storage.db"
        return
    async with schema_url("storage_test") as url:
        yield url


@pytest_asyncio.fixture
async def storage(storage_url: str) -> AsyncIterator[Storage]:
    opened = await open_storage(storage_url)
    try:
        yield opened
    finally:
        await opened.close()
