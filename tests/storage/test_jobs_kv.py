"""Jobs (lifecycle, cancellation requests, failing the jobs of dead processes) and key/value records."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from openrouter_mcp.storage import Storage

pytestmark = pytest.mark.asyncio


async def test_job_lifecycle(storage: Storage) -> None:
    before = datetime.now(UTC)
    await storage.create_job("j1", tool="research", arguments={"query": "q", "depth": 2}, owner="proc-a")
    job = await storage.get_job("j1")
    assert job is not None
    assert (job.status, job.tool, job.arguments, job.owner) == ("running", "research", {"query": "q", "depth": 2}, "proc-a")
    assert (job.progress, job.total, job.message, job.result, job.error, job.cancel_requested) == (None, None, None, None, None, False)
    assert before <= job.created_at == job.updated_at == job.heartbeat_at
    with pytest.raises(ValueError, match="already exists"):
        await storage.create_job("j1", tool="research", arguments={}, owner="proc-a")

    await storage.update_job("j1", progress=1, total=4, message="fetching")
    await storage.update_job("j1", progress=2.5)
    job = await storage.get_job("j1")
    assert job is not None
    assert (job.progress, job.total, job.message) == (2.5, 4, "fetching")
    assert job.heartbeat_at > job.created_at

    assert await storage.finish_job("j1", status="succeeded", result={"answer": "42", "sources": ["a"]}) is True
    assert await storage.finish_job("j1", status="failed", error={"code": "INTERNAL"}) is False
    await storage.update_job("j1", progress=3, message="too late")
    job = await storage.get_job("j1")
    assert job is not None
    assert (job.status, job.result, job.error) == ("succeeded", {"answer": "42", "sources": ["a"]}, None)
    assert (job.progress, job.message) == (2.5, "fetching")

    assert await storage.get_job("missing") is None
    assert await storage.finish_job("missing", status="cancelled") is False
    with pytest.raises(ValueError, match="cannot finish"):
        await storage.finish_job("j1", status="running")  # type: ignore[arg-type]


async def test_cancel_request(storage: Storage) -> None:
    await storage.create_job("j", tool="t", arguments={}, owner="p")
    job = await storage.request_cancel("j")
    assert job is not None and job.cancel_requested and job.status == "running"
    assert await storage.finish_job("j", status="cancelled", error={"code": "CANCELLED"}) is True

    await storage.create_job("done", tool="t", arguments={}, owner="p")
    await storage.finish_job("done", status="succeeded", result={})
    job = await storage.request_cancel("done")
    assert job is not None and not job.cancel_requested and job.status == "succeeded"
    assert await storage.request_cancel("missing") is None


async def test_heartbeat_keeps_only_live_owners_jobs_alive(storage: Storage) -> None:
    for job_id, owner in (("dead-1", "dead"), ("dead-2", "dead"), ("live", "alive")):
        await storage.create_job(job_id, tool="t", arguments={}, owner=owner)
    await storage.create_job("finished", tool="t", arguments={}, owner="dead")
    await storage.finish_job("finished", status="succeeded", result={"ok": True})
    await asyncio.sleep(0.002)
    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.002)
    await storage.heartbeat("alive")

    assert await storage.fail_stale_jobs(stale_before=cutoff, reason="server restarted") == 2
    assert await storage.fail_stale_jobs(stale_before=cutoff, reason="again") == 0
    for job_id in ("dead-1", "dead-2"):
        job = await storage.get_job(job_id)
        assert job is not None
        assert (job.status, job.error) == ("failed", {"code": "JOB_FAILED", "message": "server restarted"})
        assert await storage.finish_job(job_id, status="succeeded", result={}) is False
    live, finished = await storage.get_job("live"), await storage.get_job("finished")
    assert live is not None and live.status == "running" and live.heartbeat_at > cutoff
    assert finished is not None and finished.status == "succeeded"


async def test_kv_round_trip(storage: Storage) -> None:
    assert await storage.kv_get("prefs", "a") is None
    assert await storage.kv_list("prefs") == []
    value = {"text": "ünïcödé ✓", "nested": {"list": [1, 2.5, None, True]}, "empty": {}}
    await storage.kv_put("prefs", "b", value)
    await storage.kv_put("prefs", "a", {"v": 1})
    await storage.kv_put("prefs", "a", {"v": 2})
    await storage.kv_put("other", "a", {"v": 3})
    assert await storage.kv_get("prefs", "b") == value
    assert await storage.kv_list("prefs") == [("a", {"v": 2}), ("b", value)]
    assert await storage.kv_list("other") == [("a", {"v": 3})]
