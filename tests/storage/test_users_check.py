"""Whether the server has users is asked on every anonymous request of an open server, and must change the
moment a user is added or removed, by this connection or by another one (another process's `users add`),
on both backends: a server that answered from a stale copy would stay open to everyone."""

from __future__ import annotations

from openrouter_mcp.storage import Storage, open_storage


async def test_has_users_follows_this_connection_and_another(storage: Storage, storage_url: str) -> None:
    assert await storage.has_users() is False
    assert await storage.has_users() is False

    other = await open_storage(storage_url)  # a second connection, as a `users add` in another process
    try:
        assert await other.add_user("ann", token="orm_" + "a" * 40)
        assert await storage.has_users() is True  # at once, without a restart
        assert await other.remove_user("ann")
        assert await storage.has_users() is False
    finally:
        await other.close()

    # This connection's own writes.
    assert await storage.add_user("bob", token="orm_" + "b" * 40)
    assert await storage.has_users() is True
    assert await storage.remove_user("bob")
    assert await storage.has_users() is False


async def test_ledger_writes_keep_the_answer(storage: Storage) -> None:
    """The server's own ledger writes (every call) do not change who the users are, nor the answer."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from openrouter_mcp.storage.models import LedgerReservation

    assert await storage.has_users() is False
    for i in range(3):
        call = LedgerReservation(call_id=f"c{i}", tool="chat_completion", model_requested="m", estimate_usd=Decimal("0.001"), caller=None, created_at=datetime.now(UTC))
        await storage.insert_pending_many([call])
        assert await storage.has_users() is False
