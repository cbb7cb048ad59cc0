"""Session ids over Streamable HTTP without session state (web/sessions.py): a handshake-era `initialize`
gets one, every request that names one gets it back, any replica accepts it, and 2026-07-28 requests (an era
without sessions) get none. Driven with plain HTTP requests, then with the official client in both eras."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from mcp import Client

from .conftest import HttpServer

ACCEPT = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


def _rpc(resp: httpx2.Response) -> dict[str, Any]:
    text = resp.text
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return dict(json.loads(text))


async def test_a_handshake_session_id_is_issued_echoed_and_never_needed(http_server: HttpServer) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        first = await http.post(http_server.url, json=INITIALIZE, headers=ACCEPT)
        second = await http.post(http_server.url, json=INITIALIZE, headers=ACCEPT)
        assert first.status_code == second.status_code == 200
        session = first.headers["mcp-session-id"]
        assert len(session) >= 16 and session != second.headers["mcp-session-id"]  # fresh and unguessable each time

        # Named on a later request, it comes back, and the request is served: no state is looked up.
        named = {**ACCEPT, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        listed = await http.post(http_server.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}, headers=named)
        assert listed.status_code == 200 and listed.headers["mcp-session-id"] == session
        assert _rpc(listed)["result"]["tools"]
        # An id this server never issued (another replica's, or one from before a restart) is served the same way.
        other = await http.post(
            http_server.url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}, headers={**named, "mcp-session-id": "from-another-replica"}
        )
        assert other.status_code == 200 and other.headers["mcp-session-id"] == "from-another-replica"

        # A handshake-era request that names none (the session was optional) gets none.
        plain = await http.post(
            http_server.url, json={"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}}, headers={**ACCEPT, "mcp-protocol-version": "2025-11-25"}
        )
        assert plain.status_code == 200 and "mcp-session-id" not in plain.headers
        # An id that is not a printable header value is not echoed.
        odd = await http.post(
            http_server.url, json={"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}}, headers={**named, "mcp-session-id": "x" * 300}
        )
        assert "mcp-session-id" not in odd.headers


async def test_both_eras_of_the_official_client_work_with_it(http_server: HttpServer) -> None:
    for mode in ("legacy", "2026-07-28"):
        async with Client(http_server.url, mode=mode) as client:  # type: ignore[arg-type]
            tools = await client.list_tools()
            assert any(t.name == "chat_completion" for t in tools.tools)
            result = await client.call_tool("get_usage_stats", {})
            assert not result.is_error, (mode, result.content)
