"""Video jobs that outlive a call: submitted once, kept in storage, polled and resumed by any server
process, and downloaded into the output folder when done."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...core.identity import current_user, owns
from ...errors import ErrorCode, ToolFailure, invalid
from .. import files as saved_files
from ..checks import whole
from .common import Report, _no_report, _payload, _reference, load_image, pick_model, saved_dict
from .formats import BY_NAME, SNIFF_BYTES, sniff
from .output import NotSaved, billed_text, check_save_path, move_into_place
from .output import folder as output_folder

if TYPE_CHECKING:
    from ...app import App

VIDEO_RESOLUTIONS = ("360p", "480p", "720p", "768p", "1080p", "1K", "2K", "4K")
VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21")
VIDEO_NAMESPACE = "video_jobs"
# When a video model states no per-request price, budgets assume this much.
VIDEO_ESTIMATE_USD = Decimal("5")
POLL_FAILURES_TOLERATED = 3
# A cancelled submit keeps waiting this long for OpenRouter's answer, so a job it accepted is ledgered.
SUBMIT_ID_WAIT_S = 30.0


@dataclass(slots=True)
class VideoOutcome:
    video_id: str
    model: str | None
    status: str
    files: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: Decimal | None = None
    generation_id: str | None = None


async def _frame(app: App, source: str, field_name: str) -> str:
    """An image for a video request as a URL: passed through, or a data URL of a checked local file."""
    inp, _ = await load_image(app, source, field_name)
    return _reference(inp, await _payload(inp))


async def submit_video(
    app: App,
    *,
    prompt: str,
    model: str | None,
    duration: int | None,
    resolution: str | None,
    aspect_ratio: str | None,
    first_frame_image: str | None,
    last_frame_image: str | None,
    reference_images: list[str] | None,
    save_path: str | None,
    seed: int | None,
    generate_audio: bool | None,
    max_cost_usd: float | None,
) -> str:
    """Check everything, then `POST /videos` exactly once and record the job in storage at once (so any
    server process can resume it). Returns the video id."""
    if not prompt.strip() and first_frame_image is None:
        raise invalid("prompt", "is empty", "Describe the video to generate")
    if duration is not None:
        whole("duration", duration, 1, 60)
    if resolution is not None and resolution not in VIDEO_RESOLUTIONS:
        raise invalid("resolution", f"{resolution!r} is not a resolution", f"Use one of {', '.join(VIDEO_RESOLUTIONS)}")
    if aspect_ratio is not None and aspect_ratio not in VIDEO_ASPECT_RATIOS:
        raise invalid("aspect_ratio", f"{aspect_ratio!r} is not a video aspect ratio", f"Use one of {', '.join(VIDEO_ASPECT_RATIOS)}")
    check_save_path(save_path, app.settings)
    frames = []
    for kind, source in (("first_frame", first_frame_image), ("last_frame", last_frame_image)):
        if source is not None:
            frames.append({"type": "image_url", "image_url": {"url": await _frame(app, source, f"{kind}_image")}, "frame_type": kind})
    references = [{"type": "image_url", "image_url": {"url": await _frame(app, s, f"reference_images[{i}]")}} for i, s in enumerate(reference_images or [])]
    info = await pick_model(app, "generate_video", model, needs_output=("video",))
    body: dict[str, Any] = {"model": info.id, "prompt": prompt}
    for key, value in (("duration", duration), ("resolution", resolution), ("aspect_ratio", aspect_ratio), ("seed", seed), ("generate_audio", generate_audio)):
        if value is not None:
            body[key] = value
    if frames:
        body["frame_images"] = frames
    if references:
        body["input_references"] = references
    from ...upstream import media as upstream_media

    estimate = info.request_price if info.request_price is not None else VIDEO_ESTIMATE_USD
    storage = await app.storage()
    user = current_user().name
    async with app.ledger.paid_call(tool="generate_video", model=info.id, estimate_usd=estimate, max_cost_usd=max_cost_usd) as call:

        async def record(job: Any) -> None:
            """The job, kept in storage so any server process can resume it (get_video_status)."""
            call.started(job.id)
            kept = {"video_id": job.id, "model": info.id, "prompt": prompt[:500], "call_id": call.call_id, "save_path": save_path, "user": user}
            await storage.kv_put(VIDEO_NAMESPACE, job.id, {**kept, "status": job.status, "submitted_at": time.time()})

        submit = asyncio.ensure_future(upstream_media.submit_video(app.gateway, body))
        try:
            status = await asyncio.shield(submit)
        except asyncio.CancelledError:
            # The request is out: once OpenRouter accepts it, the job runs and is billed. Keep listening
            # for its id, however often the cancel is repeated, so the ledger settles it from the job.
            if (accepted := await _outlast_cancel(submit)) is not None:
                # shielded: a cancel repeated now must not stop the job from being kept
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(record(accepted))
            raise
        await record(status)
        # The cost is known when the job completes; until then the ledger counts the estimate.
        call.succeeded(model_used=info.id, provider=None, generation_id=status.id, cost_usd=None)
    return status.id


async def _outlast_cancel(submit: asyncio.Future[Any]) -> Any | None:
    """The submit's answer, waited for up to SUBMIT_ID_WAIT_S through any number of cancels; None if it
    failed or did not come."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SUBMIT_ID_WAIT_S
    while not submit.done() and (left := deadline - loop.time()) > 0:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(submit), left)
    if not submit.done() or submit.cancelled() or submit.exception() is not None:
        return None
    return submit.result()


async def follow_video(app: App, video_id: str, *, save_path: str | None, wait_seconds: float, report: Report = _no_report) -> VideoOutcome:
    """Poll a video job until it completes (then download it into the output folder), fails, or
    `wait_seconds` pass (JOB_PENDING: call again later). Never re-submits the job."""
    from ...upstream import media as upstream_media

    if not video_id or not all(c.isascii() and (c.isalnum() or c in "-_") for c in video_id):
        raise invalid("video_id", f"{video_id[:100]!r} is not a video id", "Pass the video_id generate_video returned (gen-vid-...)")
    storage = await app.storage()
    record = await storage.kv_get(VIDEO_NAMESPACE, video_id)
    if current_user().team and (record is None or not owns(record)):
        # On the team server a video is its maker's: another user's id, or one this server never made,
        # answers exactly as an id OpenRouter does not know.
        raise upstream_media.no_video(video_id)
    record = record or {"video_id": video_id}
    if record.get("status") == "completed" and record.get("files"):
        return _outcome(record)
    interval = app.settings.media.video_poll_interval_s
    started = time.monotonic()
    deadline = started + wait_seconds
    failures = 0
    while True:
        try:
            status = await upstream_media.get_video(app.gateway, video_id)
            failures = 0
        except ToolFailure as failure:
            if failure.code in (ErrorCode.INVALID_INPUT, ErrorCode.AUTH):
                raise
            failures += 1
            if failures >= POLL_FAILURES_TOLERATED:
                raise ToolFailure(
                    failure.code,
                    f"Checking video job {video_id} failed {failures} times in a row ({failure.message}). The job was submitted once and is "
                    "not sent again; call get_video_status with this video_id to pick it up.",
                    retryable=True,
                    retry_after_s=max(interval, 5.0),
                    details={"video_id": video_id},
                ) from None
            await asyncio.sleep(interval)
            continue
        if status.status != record.get("status"):
            record = {**record, "status": status.status, "generation_id": status.generation_id}
            await storage.kv_put(VIDEO_NAMESPACE, video_id, record)
        elapsed = time.monotonic() - started
        if status.status in upstream_media.VIDEO_DONE:
            await report(elapsed, "downloading the video", None)
            return await _finish_video(app, record, status, save_path if save_path is not None else record.get("save_path"))
        if status.status in upstream_media.VIDEO_FAILED:
            record = {**record, "error": status.error}
            await storage.kv_put(VIDEO_NAMESPACE, video_id, record)
            raise ToolFailure(
                ErrorCode.JOB_FAILED,
                f"Video job {video_id} ended as {status.status}: {status.error or 'no reason given'}. Change the prompt or model and run generate_video again.",
                retryable=False,
                details={"video_id": video_id, "status": status.status},
            )
        if time.monotonic() >= deadline:
            raise ToolFailure(
                ErrorCode.JOB_PENDING,
                f"Video job {video_id} is {status.status.replace('_', ' ')} after {elapsed:.0f} s. Call get_video_status with video_id={video_id} "
                "to check again and save the video when it is done.",
                retry_after_s=max(interval, 5.0),
                details={"video_id": video_id, "status": status.status},
            )
        await report(elapsed, f"video {status.status.replace('_', ' ')}", None)
        await asyncio.sleep(max(0.0, min(interval, deadline - time.monotonic())))


async def _finish_video(app: App, record: dict[str, Any], status: Any, save_path: str | None) -> VideoOutcome:
    from ...upstream import media as upstream_media

    settings = app.settings
    video_id = record["video_id"]
    if save_path is not None and save_path != record.get("save_path"):
        # A save_path given to get_video_status: checked before downloading (generate_video's was checked before paying).
        check_save_path(save_path, settings, medium="video", count=max(1, status.outputs))
    folder = output_folder(settings, "video")
    files = []
    for index in range(max(1, status.outputs)):
        partial = folder / f".{video_id}-{index}.partial"
        try:
            with open(partial, "wb") as sink:
                content_type = await upstream_media.download_video(app.gateway, video_id, sink, max_bytes=settings.media.max_saved_video_bytes, index=index)
            with open(partial, "rb") as f:
                fmt = sniff(f.read(SNIFF_BYTES))
            if fmt is None or fmt.medium != "video":
                fmt = BY_NAME["webm"] if (content_type or "").startswith("video/webm") else BY_NAME["mp4"]
            # Under save_path, else under a fallback name with a note; the bytes are never thrown away for a name.
            saved = await asyncio.to_thread(
                move_into_place,
                settings,
                partial,
                medium="video",
                fmt=fmt,
                save_path=save_path,
                prompt=str(record.get("prompt", "video")),
                index=index + 1 if status.outputs > 1 else None,
            )
        except NotSaved as failure:
            raise ToolFailure(
                ErrorCode.JOB_FAILED,
                f"Video job {video_id} is done and billed ({billed_text(status.cost_usd, status.generation_id)}) but the video could not be saved "
                f"({failure.reason}). Call get_video_status with video_id={video_id} to download it again once the output folder can be written to.",
                retryable=True,
                details={"video_id": video_id, "status": status.status},
            ) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        files.append(saved_dict(await saved_files.claim(app, saved)))
    record = {**record, "status": "completed", "files": files, "generation_id": status.generation_id}
    if status.cost_usd is not None:
        record["cost_usd"] = str(status.cost_usd)
        if call_id := record.get("call_id"):
            storage = await app.storage()
            await app.ledger.flush()  # the row of the submit may still be queued in this process
            with contextlib.suppress(KeyError):  # a job this server's database never recorded
                await storage.set_cost(call_id, status.cost_usd, source="video")
    await (await app.storage()).kv_put(VIDEO_NAMESPACE, video_id, record)
    return _outcome(record)


def _outcome(record: dict[str, Any]) -> VideoOutcome:
    cost = record.get("cost_usd")
    return VideoOutcome(
        video_id=record["video_id"],
        model=record.get("model"),
        status=record.get("status", "unknown"),
        files=list(record.get("files") or []),
        cost_usd=Decimal(cost) if cost is not None else None,
        generation_id=record.get("generation_id"),
    )
