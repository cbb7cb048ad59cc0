"""Group commit: writes that arrive while one batch is being written go together in the next one, so a
burst of concurrent calls costs a few transactions instead of one each, and a lone call waits for just
its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger("openrouter_mcp.ledger")


class GroupCommit(Generic[T]):
    """`write` commits a batch; it may return, item by item, an exception that failed that item alone
    (None for the items that went in): a budget refusal fails one reservation, not its batch."""

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[Sequence[BaseException | None] | None]],
        *,
        gather_s: float = 0.0,
        now: Callable[[list[T]], tuple[bool, Sequence[BaseException | None] | None]] | None = None,
    ) -> None:
        """`gather_s`: how long a batch gathers before it is written (0: at the next turn of the event loop),
        for writes nobody waits for, which then stay off the path of the reply that caused them. `now`:
        `write` done at once, without a turn of the loop, where that needs no wait (True and the
        item-by-item failures), else (False, None); tried for an item that finds nothing else being
        written or queued, so a lone call waits for no task switch and a burst still goes in batches."""
        self._write = write
        self._gather_s = gather_s
        self._now = now
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        # A batch that gathers waits on a timer, not in a task: nothing of it runs on the path of the reply
        # that submitted its first item (a task's first step would, at that reply's next turn of the loop).
        self._timer: asyncio.TimerHandle | None = None

    def submit(self, item: T) -> asyncio.Future[None]:
        """Queue `item`; the future is done once the batch holding it is committed (or failed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._now is not None and not self._queue and (self._writer is None or self._writer.done()):
            try:
                ran, failed = self._now([item])
            except Exception as exc:
                done.set_exception(exc)
                return done
            if ran:
                if failed is not None and (refused := failed[0]) is not None:
                    done.set_exception(refused)
                else:
                    done.set_result(None)
                return done
        self._queue.append((item, done))
        if self._writer is None or self._writer.done():
            if not self._gather_s:
                self._writer = asyncio.get_running_loop().create_task(self._drain())
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self._gather_s, self._start)
        return done

    def _start(self) -> None:
        """The gathering is over (or someone waits for the batch): write it now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._queue and (self._writer is None or self._writer.done()):
            self._writer = asyncio.get_running_loop().create_task(self._drain(gathered=True))

    def take(self, wanted: Callable[[T], bool]) -> list[T]:
        """Take the queued items that `wanted` picks out of the queue, for a write of the caller's own; their
        futures are done now (the caller answers for them). Items in a batch being written stay there."""
        taken = [(item, done) for item, done in self._queue if wanted(item)]
        if not taken:
            return []
        self._queue = [(item, done) for item, done in self._queue if not wanted(item)]
        for _, done in taken:
            if not done.done():
                done.set_result(None)
        if not self._queue and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return [item for item, _ in taken]

    @property
    def busy(self) -> bool:
        """Whether items are queued or being written."""
        return bool(self._queue) or self._timer is not None or (self._writer is not None and not self._writer.done())

    async def idle(self) -> None:
        """Wait until everything submitted so far is written (or failed): a batch still gathering is written now."""
        if self._timer is not None:
            self._start()
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _drain(self, *, gathered: bool = False) -> None:
        while self._queue:
            if self._gather_s and not gathered:
                await asyncio.sleep(self._gather_s)
            gathered = False
            batch, self._queue = self._queue, []
            try:
                failed = await self._write([item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for i, (_, done) in enumerate(batch):
                if done.done():
                    continue
                if failed is not None and (refused := failed[i]) is not None:
                    done.set_exception(refused)
                else:
                    done.set_result(None)
