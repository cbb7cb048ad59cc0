"""A chat request's ledger row is written after the request's headers leave and before its body does
(`Ledger.paid_call(ahead_of_body=True)` with the gateway's `before_body`): OpenRouter cannot act on a
request whose body has not arrived, so the row still comes before anything that can bill.

The upstream here is a small HTTP/1.1 server of the test's own, because what is checked is the order of
bytes on the wire against the rows in the database: when the request's body arrives, it reads the ledger
through a connection of its own. With and without a budget (the two ways a row is written ahead)."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from openrouter_mcp.app import App
from openrouter_mcp.config import load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.upstream import gateway

COMPLETION = {
    "id": "gen-ahead-1",
    "object": "chat.completion",
    "created": 1,
    "model": "openai/gpt-4o-mini",
    "provider": "OpenAI",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4, "cost": 0.000002},
}


@dataclass
class Upstream:
    """What the upstream saw: for each request, the ledger rows present when its body had arrived, and
    whether a body arrived at all."""

    db: Path = field(init=False)  # the server's database, once the app has opened it
    port: int = 0
    rows_at_body: list[list[tuple[str, str]]] = field(default_factory=list)
    headers_seen: int = 0
    bodies_seen: int = 0
    answers: bool = True  # False: it takes the request and never answers (a long generation)

    def ledger_now(self) -> list[tuple[str, str]]:
        con = sqlite3.connect(self.db)
        try:
            return [(str(r[0]), str(r[1])) for r in con.execute("SELECT call_id, status FROM ledger")]
        finally:
            con.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.headers_seen += 1
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            try:
                body = await reader.readexactly(length)
            except asyncio.IncompleteReadError:
                return  # the client closed the connection without sending the body
            self.bodies_seen += 1
            self.rows_at_body.append(await asyncio.to_thread(self.ledger_now))
            assert json.loads(body)["messages"]
            if not self.answers:
                await reader.read()  # until the client closes the connection
                return
            answer = json.dumps(COMPLETION).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(answer) + answer)
            await writer.drain()
        finally:
            writer.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def upstream_and_app(tmp_path: Path, env: dict[str, str], *, reachable: bool = True) -> AsyncIterator[tuple[Upstream, App]]:
    upstream = Upstream()
    server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0)
    upstream.port = server.sockets[0].getsockname()[1]
    settings = {
        "OPENROUTER_API_KEY": "sk-or-test-0000",
        "OPENROUTER_MCP_HOME": str(tmp_path),
        "OPENROUTER_BASE_URL": f"http://127.0.0.1:{upstream.port if reachable else closed_port()}/api/v1",
        "OPENROUTER_MCP_RETRY_MAX_WAIT_S": "0.001",  # a failed connection is not retried
        **env,
    }
    app = App(load_settings(settings))
    storage = await app.storage()
    upstream.db = Path(storage._path)  # type: ignore[attr-defined]
    try:
        yield upstream, app
    finally:
        await app.aclose()
        server.close()
        await server.wait_closed()


async def rows_of(app: App) -> list[tuple[str, str, str | None, Decimal | None]]:
    await app.ledger.flush()
    now = datetime.now(UTC)
    rows = await (await app.storage()).ledger(start=now - timedelta(hours=1), end=now + timedelta(hours=1))
    return [(r.call_id, r.status, r.generation_id, r.cost_usd) for r in rows]


async def within_two_seconds(seen: Callable[[], bool]) -> None:
    for _ in range(200):
        if seen():
            return
        await asyncio.sleep(0.01)


async def paid_chat(app: App, estimate: str = "0.001") -> str:
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    async with app.ledger.paid_call(tool="chat_completion", model=body["model"], estimate_usd=Decimal(estimate), ahead_of_body=True) as call:
        result = await app.gateway.chat(body, on_start=call.started, stream=False, before_body=call.ready, on_sent=call.body_sent)
        call.succeeded(model_used=result.model, provider=result.provider, generation_id=result.generation_id, cost_usd=result.cost_usd)
        return call.call_id


@pytest.mark.parametrize("budget", [None, "5"])
async def test_the_row_is_in_the_database_when_the_body_arrives(tmp_path: Path, budget: str | None) -> None:
    env = {"OPENROUTER_MCP_DAILY_BUDGET_USD": budget} if budget else {}
    async with upstream_and_app(tmp_path, env) as (upstream, app):
        call_ids = [await paid_chat(app) for _ in range(3)]
        # Each body arrived with its call's pending row already committed (read by another connection).
        assert upstream.bodies_seen == 3
        for call_id, seen in zip(call_ids, upstream.rows_at_body, strict=True):
            assert (call_id, "pending") in seen, seen
        # And each call settled once, with what the answer said.
        assert sorted(await rows_of(app)) == sorted((c, "ok", "gen-ahead-1", Decimal("0.000002")) for c in call_ids)


async def test_a_refused_reservation_sends_no_body_and_leaves_no_row(tmp_path: Path) -> None:
    async with upstream_and_app(tmp_path, {"OPENROUTER_MCP_DAILY_BUDGET_USD": "0.01"}) as (upstream, app):
        with pytest.raises(ToolFailure) as refused:
            await paid_chat(app, estimate="0.02")
        assert refused.value.code is ErrorCode.BUDGET_EXCEEDED
        assert refused.value.details["window"] == "daily"
        # The headers went; the body never did, and the connection was closed under it.
        assert upstream.headers_seen == 1
        assert upstream.bodies_seen == 0
        assert await rows_of(app) == []
        # The server goes on: a call that fits is sent and settled.
        call_id = await paid_chat(app, estimate="0.001")
        assert await rows_of(app) == [(call_id, "ok", "gen-ahead-1", Decimal("0.000002"))]


async def test_a_call_that_fails_before_its_body_is_still_recorded(tmp_path: Path) -> None:
    # Nothing listens where the request goes: the connection is never made, no header or body leaves.
    async with upstream_and_app(tmp_path, {}, reachable=False) as (upstream, app):
        with pytest.raises(ToolFailure) as failed:
            await paid_chat(app)
        assert failed.value.code is ErrorCode.UPSTREAM_UNAVAILABLE, failed.value.code
        assert upstream.headers_seen == 0
        # The ledger holds the call as it always has: one row, an error that cost nothing.
        [(_, status, generation_id, cost)] = await rows_of(app)
        assert (status, generation_id, cost) == ("error", None, Decimal(0))


async def test_a_call_cancelled_while_its_row_waits_sends_no_body(tmp_path: Path) -> None:
    # Another process holds the database's write lock, so the row's write waits (on the database thread)
    # after the request's headers have gone. The caller is cancelled meanwhile: when the lock is released and
    # the row lands, the body must not leave any more; the call is settled as not sent.
    async with upstream_and_app(tmp_path, {}) as (upstream, app):
        other = sqlite3.connect(upstream.db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            call = asyncio.create_task(paid_chat(app))
            await within_two_seconds(lambda: upstream.headers_seen > 0)
            assert upstream.headers_seen == 1
            call.cancel()
            await asyncio.sleep(0.05)
        finally:
            other.execute("ROLLBACK")
            other.close()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert upstream.bodies_seen == 0
        [(_, status, generation_id, cost)] = await rows_of(app)
        assert (status, generation_id, cost) == ("not_sent", None, Decimal(0))


@pytest.mark.parametrize("budget", [None, "0.0015"])
async def test_a_call_cancelled_after_its_body_left_has_an_unknown_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: str | None) -> None:
    # OpenRouter goes on with a plain request whose client has gone, and bills it. A call cancelled after its
    # body left, whose generation was never named (no answer within the grace the gateway gives it), may
    # have been billed: its cost is unknown and it counts at its estimate, never as a call that cost nothing.
    monkeypatch.setattr(gateway, "CANCEL_GRACE_S", 0.2)
    env = {"OPENROUTER_MCP_DAILY_BUDGET_USD": budget} if budget else {}
    async with upstream_and_app(tmp_path, env) as (upstream, app):
        upstream.answers = False
        call = asyncio.create_task(paid_chat(app))
        await within_two_seconds(lambda: upstream.bodies_seen > 0)
        assert upstream.bodies_seen == 1
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        [(_, status, generation_id, cost)] = await rows_of(app)
        assert (status, generation_id, cost) == ("unknown", None, None)
        if budget:
            # Its estimate (0.001) stays spent against the day's 0.0015: a second call of the same estimate
            # does not fit, and is refused before its body leaves.
            with pytest.raises(ToolFailure) as refused:
                await paid_chat(app)
            assert refused.value.code is ErrorCode.BUDGET_EXCEEDED
            assert upstream.bodies_seen == 1
