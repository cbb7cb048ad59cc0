"""Streamed uploads: the chunked body is byte for byte the JSON an ordinary request would send, and the
gateway re-sends one only when the connection was never made."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.simulator.server import RunningSimulator
from openrouter_mcp.upstream.gateway import Gateway
from openrouter_mcp.upstream.upload import BLOCK_BYTES, Blob, StreamedBody, base64_length

from .conftest import SimLog


def body_for(payload: str, prompt: str = "what is in it?", model: str = "google/gemini-2.5-flash") -> dict[str, Any]:
    part = {"type": "video_url", "video_url": {"url": "data:video/mp4;base64," + payload}}
    return {"model": model, "stream": True, "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}, part]}]}


async def collect(body: StreamedBody) -> bytes:
    return b"".join([chunk async for chunk in body.chunks()])


@pytest.mark.parametrize("size", [0, 1, 2, 3, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1, 2 * BLOCK_BYTES + 2])
async def test_streamed_body_is_the_same_json_as_an_inline_one(tmp_path: Path, size: int) -> None:
    data = hashlib.shake_256(str(size).encode()).digest(size)
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    expected = json.dumps(body_for(base64.b64encode(data).decode()), separators=(",", ":")).encode()
    for blob in (Blob(size=size, open=lambda: path.open("rb")), Blob(size=size, data=data)):
        body = StreamedBody(body_for(StreamedBody.MARK), blob)
        assert body.length == len(expected)
        assert await collect(body) == expected
        assert await collect(body) == expected  # a body can be produced again (for a retry before connecting)
    assert base64_length(size) == len(base64.b64encode(data))


async def test_upload_progress_is_reported(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []

    async def progress(sent: int, total: int) -> None:
        seen.append((sent, total))

    data = bytes(3 * BLOCK_BYTES)
    await collect(StreamedBody(body_for(StreamedBody.MARK), Blob(size=len(data), data=data), on_progress=progress))
    assert seen == [(BLOCK_BYTES, len(data)), (2 * BLOCK_BYTES, len(data)), (3 * BLOCK_BYTES, len(data))]


async def test_a_file_that_shrinks_while_uploading_fails_cleanly(tmp_path: Path, simulator: RunningSimulator) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(b"x" * 10)
    body = StreamedBody(body_for(StreamedBody.MARK), Blob(size=20, open=lambda: path.open("rb")))
    with pytest.raises(ToolFailure) as caught:
        await collect(body)
    assert caught.value.code is ErrorCode.INVALID_INPUT and "changed" in caught.value.message
    gateway = gateway_for(simulator.api_url)
    try:
        with pytest.raises(ToolFailure) as caught:
            await gateway.chat(body)
    finally:
        await gateway.aclose()
    assert caught.value.code is ErrorCode.INVALID_INPUT and "changed" in caught.value.message


def gateway_for(base_url: str) -> Gateway:
    env = {"OPENROUTER_BASE_URL": base_url, "OPENROUTER_API_KEY": SIMULATOR_KEY, "OPENROUTER_MCP_RETRY_MAX_WAIT_S": "3"}
    return Gateway(load_settings(env))


async def test_streamed_upload_reaches_the_server_intact(simulator: RunningSimulator, sim_log: SimLog) -> None:
    data = hashlib.shake_256(b"intact").digest(300_000)
    gateway = gateway_for(simulator.api_url)
    try:
        mark = sim_log.mark()
        result = await gateway.chat(StreamedBody(body_for(StreamedBody.MARK), Blob(size=len(data), data=data)))
    finally:
        await gateway.aclose()
    assert "video_url" in result.content
    (entry,) = sim_log.chats(mark)
    assert entry["media"] == [
        {"prefix": "data:video/mp4;base64,", "base64_chars": base64_length(len(data)), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    ]


async def test_a_refused_streamed_upload_is_not_resent_but_an_ordinary_one_is(simulator: RunningSimulator, sim_log: SimLog) -> None:
    gateway = gateway_for(simulator.api_url)
    data = b"\0" * 1000
    try:
        mark = sim_log.mark()
        streamed = StreamedBody(body_for(StreamedBody.MARK, prompt=uuid.uuid4().hex, model="sim/server-error-once"), Blob(size=len(data), data=data))
        with pytest.raises(ToolFailure) as caught:
            await gateway.chat(streamed)
        assert caught.value.code is ErrorCode.UPSTREAM_UNAVAILABLE
        assert len(sim_log.chats(mark)) == 1
        mark = sim_log.mark()
        inline = body_for(base64.b64encode(data).decode(), prompt=uuid.uuid4().hex, model="sim/server-error-once")
        result = await gateway.chat(inline)
        assert result.attempts == 2 and len(sim_log.chats(mark)) == 2
    finally:
        await gateway.aclose()


async def test_nothing_is_read_when_the_connection_was_never_made(free_tcp_port: int) -> None:
    gateway = gateway_for(f"http://127.0.0.1:{free_tcp_port}/api/v1")
    opened = 0

    def opener() -> Any:
        nonlocal opened
        opened += 1
        raise AssertionError("the file must not be read when nothing could connect")

    try:
        with pytest.raises(ToolFailure) as caught:
            await gateway.chat(StreamedBody(body_for(StreamedBody.MARK), Blob(size=10, open=opener)))
    finally:
        await gateway.aclose()
    assert caught.value.code is ErrorCode.UPSTREAM_UNAVAILABLE
    assert opened == 0


@pytest.fixture
def free_tcp_port() -> int:
    from .conftest import free_port

    return free_port()
