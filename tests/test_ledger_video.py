"""Video jobs in the ledger: whatever the client does after submitting, each job ends in the ledger with
the cost the simulator billed for it (read from the job's own record, polled by the server whether or
not anyone asks again), or as `unknown` when the submit's answer could not be read."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from openrouter_mcp.simulator.server import RunningSimulator, start_in_thread

from .media_support import Dirs, error_code, make_dirs, stdio_client_for


@pytest.fixture
def own_simulator() -> Iterator[RunningSimulator]:
    sim = start_in_thread()
    yield sim
    sim.stop()


@pytest.fixture
def video_dirs(tmp_path: Path) -> Dirs:
    return make_dirs(tmp_path)


def env_for(sim: RunningSimulator, dirs: Dirs) -> dict[str, str]:
    return dirs.env(sim, OPENROUTER_MCP_RECONCILE_INTERVAL_S="0.3")


def billed(sim: RunningSimulator) -> dict[str, Decimal]:
    with urllib.request.urlopen(sim.url + "/_sim/generations") as resp:
        return {g["id"]: Decimal(g["cost"]) for g in json.load(resp)["data"]}


def video_rows(home: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(f"file:{home / 'openrouter-mcp.db'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM ledger WHERE tool = 'generate_video'")]
    finally:
        db.close()


async def settled(home: Path, *, until: Any, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = video_rows(home)
        if (rows and until(rows)) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def cost(row: dict[str, Any]) -> Decimal | None:
    return None if row["cost_e10"] is None else Decimal(row["cost_e10"]).scaleb(-10)


async def test_a_video_nobody_polls_again_is_ledgered_at_its_billed_cost(own_simulator: RunningSimulator, video_dirs: Dirs) -> None:
    async for client in stdio_client_for(env_for(own_simulator, video_dirs)):
        result = await client.call_tool("generate_video", {"prompt": "a paper boat", "wait_seconds": 0})
        assert error_code(result) == "JOB_PENDING"
        video_id = result.structured_content["error"]["details"]["video_id"]
        # Nobody calls get_video_status: the server reads the job's record itself once it is done.
        [row] = await settled(video_dirs.home, until=lambda rows: rows[0]["cost_e10"] is not None)
    bill = billed(own_simulator)
    assert row["generation_id"] == video_id and row["status"] == "ok"
    assert cost(row) == bill[video_id] == Decimal("1.2")
    assert row["cost_source"] == "video"


async def test_a_failed_video_is_an_error_row_at_what_it_was_billed(own_simulator: RunningSimulator, video_dirs: Dirs) -> None:
    async for client in stdio_client_for(env_for(own_simulator, video_dirs)):
        result = await client.call_tool("generate_video", {"prompt": "forbidden", "model": "sim/video-fail", "wait_seconds": 0})
        assert error_code(result) == "JOB_PENDING"
        video_id = result.structured_content["error"]["details"]["video_id"]
        [row] = await settled(video_dirs.home, until=lambda rows: rows[0]["status"] == "error")
    assert row["generation_id"] == video_id
    assert (row["status"], row["error_code"], cost(row)) == ("error", "JOB_FAILED", Decimal(0))
    assert video_id not in billed(own_simulator)  # a failed job costs nothing


async def test_a_video_submit_the_client_cancels_is_still_ledgered(own_simulator: RunningSimulator, video_dirs: Dirs) -> None:
    async for client in stdio_client_for(env_for(own_simulator, video_dirs)):
        call = client.call_tool("generate_video", {"prompt": "a slow start", "model": "sim/video-slow-submit", "wait_seconds": 0, "save_path": "late.mp4"})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(call, timeout=1.0)  # the submit is still waiting for its answer
        # The server keeps listening for the job's id, and settles the row from the job once it is done.
        [row] = await settled(video_dirs.home, until=lambda rows: rows[0]["cost_e10"] is not None)
        # The job is kept as submitted, so resuming it saves where the caller asked.
        resumed = await client.call_tool("get_video_status", {"video_id": row["generation_id"], "wait_seconds": 20})
        assert not resumed.is_error, resumed.content[0].text
        assert Path(resumed.structured_content["videos"][0]["path"]) == video_dirs.output / "late.mp4"
    bill = billed(own_simulator)
    assert row["status"] == "cancelled" and row["generation_id"] in bill
    assert cost(row) == bill[row["generation_id"]]


async def test_a_garbled_submit_answer_is_unknown_not_free(own_simulator: RunningSimulator, video_dirs: Dirs) -> None:
    async for client in stdio_client_for(env_for(own_simulator, video_dirs)):
        result = await client.call_tool("generate_video", {"prompt": "noise", "model": "sim/video-garbled", "wait_seconds": 0})
        assert error_code(result) == "UPSTREAM_ERROR"
        error = result.structured_content["error"]
        assert error["retryable"] is False and "may exist and be billed" in error["message"]
        [row] = await settled(video_dirs.home, until=lambda rows: rows[0]["status"] != "pending")
        usage = await client.call_tool("get_usage_stats", {})
    assert (row["status"], row["cost_e10"], row["generation_id"]) == ("unknown", None, None)
    summary = usage.structured_content["summary"]
    assert summary["calls_with_cost_pending"] == 1 and summary["unknown_cost_at_most"] == float(Decimal(row["estimate_e10"]).scaleb(-10))
    assert "1 call of unknown cost" in usage.content[0].text
