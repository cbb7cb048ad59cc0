"""Progress for long work: a reporter that tells the caller (or a job row) how far the work is and keeps
a client's time-out timer alive while upstream work runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

# A service's progress callback: (done, total, message).
ProgressFn = Callable[[float, float | None, str], Awaitable[None]]


def asked_for_progress(ctx: Any) -> bool:
    """Whether the caller sent a progress token (`params._meta.progressToken`, which the SDK hands over
    in the request context's `meta` as `progress_token`, in both protocol eras). Answers yes whenever
    it cannot tell."""
    try:
        meta = ctx.request_context.meta
    except (AttributeError, LookupError, ValueError):
        return ctx is not None
    if isinstance(meta, dict):
        return meta.get("progress_token", meta.get("progressToken")) is not None
    return ctx is not None


class Progress:
    """Reports progress at most every `min_interval_s`, and at least every `heartbeat_s` while work runs,
    so a client's time-out timer keeps resetting. The value never repeats (the protocol asks it to
    increase): a heartbeat with no news moves it on by a thousandth."""

    def __init__(self, ctx: Any, *, min_interval_s: float = 0.25, heartbeat_s: float = 2.0) -> None:
        self._ctx = ctx if ctx is not None and asked_for_progress(ctx) else None
        self._min = min_interval_s
        self._heartbeat = heartbeat_s
        self._last = 0.0
        self._sent = -1.0
        self._started = time.monotonic()
        self.value = 0.0
        self.total: float | None = None
        self.message = "working"
        self._timer: asyncio.TimerHandle | None = None
        self._sending: asyncio.Future[None] | None = None  # the latest heartbeat's send, kept alive until done
        self._stopped = False
        # Set when the work became a background job: progress goes to the job row, not the finished request.
        self.sink: Callable[[float, float | None, str | None], Awaitable[None]] | None = None

    @property
    def wanted(self) -> bool:
        """Someone reads this progress: the caller asked for it, or it goes to a job row."""
        return self._ctx is not None or self.sink is not None

    async def update(self, value: float, message: str | None = None, *, total: float | None = None, force: bool = False) -> None:
        self.value = max(self.value, value)
        if total is not None:
            self.total = total
        if message:
            self.message = message
        now = time.monotonic()
        if force or now - self._last >= self._min:
            await self._send(now)

    async def _send(self, now: float) -> None:
        self._last = now
        value = max(self.value, self._sent + 0.001)
        self._sent = value
        message = f"{self.message} ({now - self._started:.0f} s)"
        try:
            if self.sink is not None:
                self._min = max(self._min, 1.0)
                await self.sink(value, self.total, message)
            elif self._ctx is not None:
                await self._ctx.report_progress(value, self.total, message)
        except Exception:  # a client that went away must not fail the work
            self._ctx = None

    def start_heartbeat(self) -> None:
        """Beat every `heartbeat_s` until stop(): a timer, not a task, so a call that ends quickly pays
        almost nothing for it."""
        if self._stopped:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._heartbeat, self._beat_due)

    def _beat_due(self) -> None:
        if self._stopped:
            return
        if time.monotonic() - self._last >= self._heartbeat * 0.9:
            self._sending = asyncio.ensure_future(self._send(time.monotonic()))
        self.start_heartbeat()

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()


@asynccontextmanager
async def progress(ctx: Any, *, heartbeat_s: float = 2.0) -> AsyncIterator[Progress]:
    reporter = Progress(ctx, heartbeat_s=heartbeat_s)
    reporter.start_heartbeat()
    try:
        yield reporter
    finally:
        reporter.stop()
