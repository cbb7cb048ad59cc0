"""`kv_update`: an atomic read-modify-write of one key/value record, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from openrouter_mcp.storage import Storage, open_storage


def _increment(value: dict[str, Any] | None) -> dict[str, Any]:
    return {"n": (value or {}).get("n", 0) + 1}


async def test_update_creates_then_changes_the_record(storage: Storage) -> None:
    assert await storage.kv_update("t", "k", _increment) == {"n": 1}
    assert await storage.kv_update("t", "k", _increment) == {"n": 2}
    assert await storage.kv_get("t", "k") == {"n": 2}


async def test_an_update_that_raises_writes_nothing(storage: Storage) -> None:
    await storage.kv_put("t", "k", {"n": 5})

    def refuse(value: dict[str, Any] | None) -> dict[str, Any]:
        raise LookupError("quota used up")

    with pytest.raises(LookupError):
        await storage.kv_update("t", "k", refuse)
    assert await storage.kv_get("t", "k") == {"n": 5}


async def test_concurrent_updates_from_two_connections_lose_nothing(storage_url: str) -> None:
    first, second = await open_storage(storage_url), await open_storage(storage_url)
    try:
        await asyncio.gather(*(s.kv_update("t", "counter", _increment) for _ in range(25) for s in (first, second)))
        assert await first.kv_get("t", "counter") == {"n": 50}
    finally:
        await first.close()
        await second.close()


async def test_several_records_change_together_or_not_at_all(storage: Storage) -> None:
    await storage.kv_put("t", "a", {"n": 1})
    assert await storage.kv_update_many("t", {"a": _increment, "b": _increment}) == {"a": {"n": 2}, "b": {"n": 1}}

    def refuse(value: dict[str, Any] | None) -> dict[str, Any]:
        raise LookupError("no")

    with pytest.raises(LookupError):
        await storage.kv_update_many("t", {"a": _increment, "c": refuse})
    assert await storage.kv_list("t") == [("a", {"n": 2}), ("b", {"n": 1})]


async def test_concurrent_updates_of_several_records_lose_nothing(storage_url: str) -> None:
    first, second = await open_storage(storage_url), await open_storage(storage_url)
    try:
        await asyncio.gather(*(s.kv_update_many("t", {"x": _increment, "y": _increment}) for _ in range(20) for s in (first, second)))
        assert await first.kv_list("t") == [("x", {"n": 40}), ("y", {"n": 40})]
    finally:
        await first.close()
        await second.close()
