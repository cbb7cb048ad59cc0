"""OpenRouter's media endpoints beyond chat: video jobs (`POST /videos`, `GET /videos/{id}`,
`GET /videos/{id}/content`) and text to speech (`POST /audio/speech`).

A video job or a speech request is a paid generation: it is sent once, and re-sent only when the
connection was never made. Reads (status, content) are safe to repeat."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

import httpx2

from ..errors import ErrorCode, ToolFailure
from .errors import bad_response, error_object, failure_from_body, transport_failure
from .gateway import Gateway
from .types import cost_from_wire

log = logging.getLogger("openrouter_mcp.upstream")

# A JSON answer (a job's status) is small; anything bigger is not what was asked for.
JSON_MAX_BYTES = 1_000_000
CONNECT_RETRIES = 2
VIDEO_DONE = frozenset({"completed"})
VIDEO_FAILED = frozenset({"failed", "cancelled", "expired"})


@dataclass(slots=True)
class VideoStatus:
    id: str
    status: str
    generation_id: str | None = None
    error: str | None = None
    cost_usd: Decimal | None = None
    outputs: int = 0


@dataclass(slots=True)
class Speech:
    data: bytes
    content_type: str
    generation_id: str | None


async def _send_once(
    gateway: Gateway, method: str, path: str, *, json_body: dict[str, Any], max_bytes: int, timeout_s: float | None = None
) -> tuple[httpx2.Response, bytes]:
    """Send a request that starts a paid generation; re-sent only after a failure to connect. The answer
    is read as it arrives and refused (TOO_LARGE) once it passes `max_bytes`, before it is all in memory."""
    for attempt in range(CONNECT_RETRIES + 1):
        try:
            request = gateway.client.build_request(method, path, json=json_body, timeout=timeout_s or httpx2.USE_CLIENT_DEFAULT)
            resp = await gateway.client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                received = 0
                async for chunk in resp.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise ToolFailure(ErrorCode.TOO_LARGE, f"The answer is larger than the {max_bytes / 1e6:g} MB cap.", details={"cap_bytes": max_bytes})
                    chunks.append(chunk)
            finally:
                await resp.aclose()
            return resp, b"".join(chunks)
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            if attempt == CONNECT_RETRIES:
                raise transport_failure("connect", type(exc).__name__) from None
            await asyncio.sleep(0.5 * 2**attempt)
        except httpx2.TimeoutException as exc:
            # The request may have reached OpenRouter and started a paid generation: never re-send.
            raise transport_failure("timeout", type(exc).__name__) from None
        except httpx2.TransportError as exc:
            raise bad_response(f"a broken response ({type(exc).__name__})") from None
    raise AssertionError("unreachable")


def _json(resp: httpx2.Response, raw: bytes, gateway: Gateway) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise bad_response("a response that is not valid JSON") from None
    if error_object(payload) is not None or not isinstance(payload, dict):
        raise failure_from_body(resp.status_code if resp.status_code >= 400 else 502, raw, resp.headers, secret=gateway._key)
    return payload


def _sdk_check(payload: dict[str, Any]) -> None:
    """Compare with the SDK's type: drift is logged, not fatal (the fields we read are checked below)."""
    from openrouter.components import VideoGenerationResponse
    from pydantic import ValidationError

    try:
        VideoGenerationResponse.model_validate(payload)
    except ValidationError as exc:
        log.warning("OpenRouter's video response differs from the SDK's type: %s", exc.errors()[:3])


def video_status(payload: dict[str, Any]) -> VideoStatus:
    _sdk_check(payload)
    if not isinstance(payload.get("id"), str) or not isinstance(payload.get("status"), str):
        raise bad_response("a video job without an id or status")
    usage = payload.get("usage")
    cost = usage.get("cost") if isinstance(usage, dict) else None
    return VideoStatus(
        id=payload["id"],
        status=payload["status"],
        generation_id=payload.get("generation_id"),
        error=payload.get("error"),
        cost_usd=cost_from_wire(cost),
        outputs=len(payload.get("unsigned_urls") or payload.get("urls") or []) or (1 if payload["status"] in VIDEO_DONE else 0),
    )


async def submit_video(gateway: Gateway, body: dict[str, Any]) -> VideoStatus:
    """POST /videos, once. OpenRouter answers 202 with the job id."""
    resp, raw = await _send_once(gateway, "POST", "videos", json_body=body, max_bytes=JSON_MAX_BYTES, timeout_s=60.0)
    if resp.status_code not in (200, 201, 202):
        raise failure_from_body(resp.status_code, raw, resp.headers, secret=gateway._key)
    try:
        return video_status(_json(resp, raw, gateway))
    except ToolFailure as failure:
        # Accepted, so the job may exist and be billed: never worth a blind retry, and the ledger must
        # count it as of unknown cost, not as $0.
        raise ToolFailure(
            failure.code,
            "OpenRouter accepted the video request, but its answer could not be read, so the job's id is unknown. The job may exist "
            "and be billed; it is counted at its estimate in get_usage_stats. Do not resubmit unless you accept paying twice.",
            retryable=False,
            maybe_billed=True,
        ) from None


def no_video(video_id: str) -> ToolFailure:
    """The answer for a video id OpenRouter does not know (and, on the team server, for another user's)."""
    return ToolFailure(
        ErrorCode.INVALID_INPUT,
        f"video_id: OpenRouter has no video job {video_id!r}. Check the id (it comes from generate_video).",
        details={"field": "video_id"},
    )


async def get_video(gateway: Gateway, video_id: str) -> VideoStatus:
    try:
        payload = await gateway.get_json(f"videos/{video_id}")
    except ToolFailure as failure:
        if (failure.details or {}).get("upstream_status") == 404:
            raise no_video(video_id) from None
        raise
    if not isinstance(payload, dict):
        raise bad_response("a video job that is not an object")
    return video_status(payload)


async def download_video(gateway: Gateway, video_id: str, sink: BinaryIO, *, max_bytes: int, index: int = 0) -> str | None:
    """Stream one output of a finished job into `sink` (truncated and rewritten on a retry); returns the
    content type."""
    for attempt in range(CONNECT_RETRIES + 1):
        sink.seek(0)
        sink.truncate()
        try:
            async with gateway.client.stream("GET", f"videos/{video_id}/content", params={"index": index}, timeout=300.0) as resp:
                if resp.status_code != 200:
                    raise failure_from_body(resp.status_code, await resp.aread(), resp.headers, secret=gateway._key)
                received = 0
                async for chunk in resp.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise ToolFailure(
                            ErrorCode.TOO_LARGE, f"The video is larger than the {max_bytes / 1e6:g} MB cap for saved videos.", details={"cap_bytes": max_bytes}
                        )
                    await asyncio.to_thread(sink.write, chunk)
                content_type: str | None = resp.headers.get("content-type")
                return content_type
        except (httpx2.TimeoutException, httpx2.TransportError) as exc:
            if attempt == CONNECT_RETRIES:
                raise transport_failure("timeout" if isinstance(exc, httpx2.TimeoutException) else "connect", type(exc).__name__) from None
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


async def speech(gateway: Gateway, body: dict[str, Any], *, max_bytes: int) -> Speech:
    """POST /audio/speech, once: the answer is the audio itself (not JSON), its generation id in a header."""
    resp, audio = await _send_once(gateway, "POST", "audio/speech", json_body=body, max_bytes=max_bytes)
    if resp.status_code != 200:
        raise failure_from_body(resp.status_code, audio, resp.headers, secret=gateway._key)
    content_type = resp.headers.get("content-type", "application/octet-stream")
    if content_type.startswith("application/json"):
        payload = _json(resp, audio, gateway)
        raise bad_response(f"JSON instead of audio ({str(payload)[:200]})")
    if not audio:
        raise bad_response("an empty audio response")
    return Speech(data=audio, content_type=content_type, generation_id=resp.headers.get("x-generation-id"))
