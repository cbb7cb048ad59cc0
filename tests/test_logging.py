"""The server's log records reach an MCP client that asked for them, as `notifications/message` at or above
the level it asked for, and never its API key: after `logging/setLevel` in the handshake era (stdio), and
per request through `_meta` in the 2026-07-28 era (Streamable HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, EmptyResult, LoggingMessageNotificationParams, SetLevelRequest, SetLevelRequestParams

from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.core import client_log
from openrouter_mcp.server import build_server
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import HttpServer, server_env

# Every call sends a new body: the simulator fails only the first request with a given body, once.
_calls = itertools.count()


async def retried_call(client: Client, meta: dict[str, Any] | None = None) -> None:
    """A chat call the simulator refuses once (502), so the gateway logs a retry at INFO."""
    result = await client.call_tool(
        "chat_completion",
        {"model": "sim/server-error-once", "messages": [{"role": "user", "content": f"log me {next(_calls)} {id(client)}"}]},
        meta=meta,  # type: ignore[arg-type]
    )
    assert not result.is_error, result.content


def retries(messages: list[LoggingMessageNotificationParams]) -> list[LoggingMessageNotificationParams]:
    return [m for m in messages if "retrying" in str(m.data)]


async def set_level(client: Client, level: str) -> Any:
    with warnings.catch_warnings():  # the SDK marks logging deprecated as of 2026-07-28; this is the handshake era
        warnings.simplefilter("ignore")
        return await client.set_logging_level(level)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def legacy_stdio(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[tuple[Client, list[LoggingMessageNotificationParams]]]:
    """`serve` over stdio, reached by a client that speaks the handshake era (initialize, logging/setLevel)."""
    received: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        received.append(params)

    params = StdioServerParameters(command="python", args=["-m", "openrouter_mcp", "serve"], env=server_env(simulator, tmp_path))
    async with Client(params, mode="legacy", logging_callback=on_log, read_timeout_seconds=60) as client:
        yield client, received


async def test_handshake_era_client_gets_the_records_at_or_above_the_level_it_set(simulator: RunningSimulator, tmp_path: Path) -> None:
    async with legacy_stdio(simulator, tmp_path) as (client, received):
        await _handshake_era_levels(client, received)


async def _handshake_era_levels(client: Client, received: list[LoggingMessageNotificationParams]) -> None:
    capabilities = client.session.server_capabilities
    assert capabilities is not None and capabilities.logging is not None  # the logging capability is declared

    await retried_call(client)
    assert retries(received) == []  # nothing before the client asks

    assert (await set_level(client, "info")).model_dump(exclude_none=True) in ({}, {"result_type": "complete"})
    await retried_call(client)
    (record,) = retries(received)
    assert record.level == "info" and record.logger == "openrouter_mcp.upstream"
    assert "chat attempt 1 failed with" in str(record.data)

    await set_level(client, "warning")  # above the retry's INFO: filtered
    before = len(received)
    await retried_call(client)
    assert retries(received[before:]) == []
    assert all(SIMULATOR_KEY not in str(m.data) for m in received)


async def test_an_unknown_level_is_invalid_params(simulator: RunningSimulator, tmp_path: Path) -> None:
    async with legacy_stdio(simulator, tmp_path) as (client, _):
        with pytest.raises(MCPError) as caught:
            await client.session.send_request(SetLevelRequest(params=SetLevelRequestParams.model_construct(level="loud")), EmptyResult)
        assert caught.value.code == INVALID_PARAMS
        await set_level(client, "debug")  # and the server keeps serving


async def test_2026_client_gets_the_records_of_the_requests_that_opt_in(simulator: RunningSimulator, tmp_path: Path) -> None:
    http = HttpServer(server_env(simulator, tmp_path), tmp_path / "http.log")
    try:
        for log_level, expected in (("info", 1), (None, 0), ("warning", 0)):
            received: list[LoggingMessageNotificationParams] = []

            async def on_log(params: LoggingMessageNotificationParams, into: list[LoggingMessageNotificationParams] = received) -> None:
                into.append(params)

            async with Client(http.url, mode="2026-07-28", log_level=log_level, logging_callback=on_log) as client:  # type: ignore[arg-type]
                assert client.session.protocol_version == "2026-07-28"
                await retried_call(client)
            found = retries(received)
            assert len(found) == expected, (log_level, received)
            assert all(m.level == "info" and "chat attempt 1 failed with" in str(m.data) for m in found)
        # A handshake-era request over HTTP asks the same way: stateless HTTP has no connection for a
        # logging/setLevel to outlive its request.
        legacy: list[LoggingMessageNotificationParams] = []

        async def on_legacy_log(params: LoggingMessageNotificationParams) -> None:
            legacy.append(params)

        async with Client(http.url, mode="legacy", logging_callback=on_legacy_log) as client:
            await retried_call(client)
            await retried_call(client, meta={"io.modelcontextprotocol/logLevel": "info"})
        assert len(retries(legacy)) == 1, legacy
    finally:
        http.stop()
    assert "Traceback" not in (tmp_path / "http.log").read_text()


async def test_a_log_record_never_carries_the_key(tmp_path: Path) -> None:
    """The server's own key (of any shape), anything shaped like an OpenRouter key, and bearer tokens are
    redacted from what the client receives; the record on stderr is the server operator's business."""
    key = "my-own-key-0123456789abcdef"
    server, _ = build_server(load_settings({"OPENROUTER_MCP_HOME": str(tmp_path), "OPENROUTER_API_KEY": key}))
    received: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        received.append(params)

    logger = logging.getLogger("openrouter_mcp.test_logging")
    logger.setLevel(logging.INFO)
    try:
        async with Client(server, mode="legacy", logging_callback=on_log) as client:
            await set_level(client, "info")
            logger.warning("calling with %s, sk-or-v1-0123456789abcdef and Authorization: Bearer abc.def-ghi", key)
            logger.debug("below the level")
            for _ in range(100):  # a record outside any request goes out on its own, on the connection
                if any(m.logger == "openrouter_mcp.test_logging" for m in received):
                    break
                await asyncio.sleep(0.02)
    finally:
        logger.setLevel(logging.NOTSET)
    (record,) = [m for m in received if m.logger == "openrouter_mcp.test_logging"]
    assert record.level == "warning"
    assert record.data == "calling with [redacted], [redacted] and Authorization: Bearer [redacted]"


def test_levels_map_both_ways() -> None:
    assert [client_log.mcp_level(n) for n in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)] == [
        "debug",
        "info",
        "warning",
        "error",
        "critical",
    ]
    assert list(client_log.LEVELS) == ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
