"""Video jobs end to end: submitted exactly once, recorded at once, polled with progress, downloaded into
the output folder, resumable with get_video_status, also by a second server process after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import SimLog
from .media_support import Dirs, dirs, error_code, ledger_rows, new_entries, stdio_client_for

__all__ = ["dirs"]


@pytest.fixture(scope="module")
async def stdio(simulator: RunningSimulator, dirs: Dirs) -> AsyncIterator[Client]:
    async for client in stdio_client_for(dirs.env(simulator)):
        yield client


def posts(sim_log: SimLog, mark: int = 0) -> list[dict[str, Any]]:
    return [e for e in sim_log.entries()[mark:] if e["method"] == "POST" and e["path"] == "/api/v1/videos"]


def polls(sim_log: SimLog, video_id: str, mark: int = 0) -> list[dict[str, Any]]:
    return [e for e in sim_log.entries()[mark:] if e["path"] == f"/api/v1/videos/{video_id}"]


async def test_generate_video_waits_downloads_and_links(stdio: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    result = await stdio.call_tool(
        "generate_video",
        {
            "prompt": "waves rolling onto a beach at dusk",
            "duration": 4,
            "resolution": "720p",
            "aspect_ratio": "16:9",
            "first_frame_image": "photo.png",
            "last_frame_image": "https://example.com/last.png",
            "reference_images": ["photo.jpg"],
            "seed": 3,
            "generate_audio": True,
            "save_path": "clips/",
            "wait_seconds": 20,
        },
        progress_callback=on_progress,
    )
    assert not result.is_error, result.content[0].text
    out = result.structured_content
    (post,) = posts(sim_log, mark)
    body = post["body"]
    assert {k: body[k] for k in ("duration", "resolution", "aspect_ratio", "seed", "generate_audio")} == {
        "duration": 4, "resolution": "720p", "aspect_ratio": "16:9", "seed": 3, "generate_audio": True,
    }  # fmt: skip
    assert [f["frame_type"] for f in body["frame_images"]] == ["first_frame", "last_frame"]
    assert body["frame_images"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert body["frame_images"][1]["image_url"]["url"] == "https://example.com/last.png"
    assert body["input_references"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert out["status"] == "completed" and out["model"] == "google/veo-3.1-fast" and out["cost_usd"] == 1.2
    (video,) = out["videos"]
    path = Path(video["path"])
    assert path.parent == dirs.output / "clips" and path.suffix == ".mp4" and path.read_bytes()[4:8] == b"ftyp"
    assert video["mime_type"] == "video/mp4" and video["size_bytes"] == path.stat().st_size
    assert [c.type for c in result.content] == ["text", "resource_link"] and result.content[1].uri == video["uri"]
    assert progress, "no progress notifications while polling"
    rows = await ledger_rows(dirs.home, {out["video_id"]})
    assert len(rows) == 1 and rows[0]["tool"] == "generate_video" and rows[0]["cost_e10"] == 12_000_000_000


async def test_job_pending_then_get_video_status_finishes_it(stdio: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool("generate_video", {"prompt": "a paper boat", "wait_seconds": 0})
    assert error_code(result) == "JOB_PENDING"
    error = result.structured_content["error"]
    video_id = error["details"]["video_id"]
    assert error["retryable"] is True and "get_video_status" in error["message"]
    result = await stdio.call_tool("get_video_status", {"video_id": video_id, "wait_seconds": 20})
    assert not result.is_error, result.content[0].text
    first = result.structured_content
    assert first["status"] == "completed" and first["videos"]
    # Asking again returns the saved file: no new download, and never a new job.
    downloads = [e for e in sim_log.entries()[mark:] if e["path"].endswith("/content")]
    again = (await stdio.call_tool("get_video_status", {"video_id": video_id})).structured_content
    assert again["videos"] == first["videos"]
    assert [e for e in sim_log.entries()[mark:] if e["path"].endswith("/content")] == downloads
    assert len(posts(sim_log, mark)) == 1


async def test_a_job_that_errors_while_polling_is_not_posted_again(stdio: Client, sim_log: SimLog, dirs: Dirs) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool("generate_video", {"prompt": "a storm", "model": "sim/video-poll-error", "wait_seconds": 20})
    assert error_code(result) == "UPSTREAM_ERROR"
    error = result.structured_content["error"]
    video_id = error["details"]["video_id"]
    assert error["retryable"] is True and "not sent again" in error["message"]
    assert len(polls(sim_log, video_id, mark)) == 3
    result = await stdio.call_tool("get_video_status", {"video_id": video_id, "wait_seconds": 20})
    assert not result.is_error, result.content[0].text
    assert result.structured_content["status"] == "completed"
    assert len(posts(sim_log, mark)) == 1
    rows = await ledger_rows(dirs.home, {video_id})
    assert len(rows) == 1 and rows[0]["cost_e10"] is not None


async def test_a_failed_job_is_job_failed(stdio: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    result = await stdio.call_tool("generate_video", {"prompt": "forbidden", "model": "sim/video-fail", "wait_seconds": 20})
    assert error_code(result) == "JOB_FAILED"
    assert "failed" in result.content[0].text and len(posts(sim_log, mark)) == 1


async def test_bad_video_arguments_cost_nothing(stdio: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    for args in ({"prompt": "x", "resolution": "8K"}, {"prompt": "x", "aspect_ratio": "5:1"}, {"prompt": "x", "model": "openai/gpt-4o-mini"}):
        result = await stdio.call_tool("generate_video", args)
        assert error_code(result) == "INVALID_INPUT", args
    result = await stdio.call_tool("get_video_status", {"video_id": "gen-vid-0-unknown"})
    assert error_code(result) == "INVALID_INPUT"
    mark_all = sim_log.mark()
    result = await stdio.call_tool("get_video_status", {"video_id": "../../key?x=1"})
    assert error_code(result) == "INVALID_INPUT" and new_entries(sim_log, mark_all) == []
    assert posts(sim_log, mark) == []


async def test_a_restart_between_submit_and_status_still_finds_the_job(simulator: RunningSimulator, sim_log: SimLog, tmp_path: Path, dirs: Dirs) -> None:
    env = dirs.env(simulator, OPENROUTER_MCP_HOME=str(tmp_path / "home"))
    mark = sim_log.mark()
    async for first in stdio_client_for(env):
        result = await first.call_tool("generate_video", {"prompt": "a sunrise timelapse", "wait_seconds": 0, "save_path": "restart.mp4"})
        assert error_code(result) == "JOB_PENDING"
        video_id = result.structured_content["error"]["details"]["video_id"]
    # The first server process has exited; a second one on the same home picks the job up.
    async for second in stdio_client_for(env):
        result = await second.call_tool("get_video_status", {"video_id": video_id, "wait_seconds": 20})
        assert not result.is_error, result.content[0].text
        out = result.structured_content
    assert out["status"] == "completed" and out["model"] == "google/veo-3.1-fast" and out["cost_usd"] == 1.2
    assert Path(out["videos"][0]["path"]) == dirs.output / "restart.mp4"
    assert len(posts(sim_log, mark)) == 1
    rows = await ledger_rows(tmp_path / "home", {video_id})
    assert len(rows) == 1 and rows[0]["cost_e10"] == 12_000_000_000
