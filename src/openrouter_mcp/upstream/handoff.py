"""How the gateway hands a request to a task of its own and back: the cancel-safe wait for the upstream
task (a cancelled caller leaves it running, so the ledger can still learn the generation id), and a
request body that waits for the ledger's row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Abandoned(Exception):
    """The caller gave up on the request before its body left: the body is never sent."""


async def body_after(
    ready: Callable[[], Awaitable[None]], payload: bytes, abandoned: Callable[[], bool], sent: Callable[[], None] | None = None
) -> AsyncIterator[bytes]:
    """A request body that waits for `ready` before it is sent: the connection sends the headers (with the
    body's length) first, so the other end reads them while `ready` runs. If the caller was cancelled in
    the meantime (`abandoned()`), the body does not leave (the connection is closed under the half request):
    nothing was generated, and the ledger settles the call as not sent. Otherwise `sent` hears that the
    body is leaving: from then on the request can run, and bill, whatever becomes of its caller."""
    await ready()
    if abandoned():
        raise Abandoned
    if sent is not None:
        sent()
    yield payload


class Handoff(Generic[T]):
    """`work` in a task of its own, waited for so that a cancellation of the caller does not reach it (a
    cancelled caller leaves the task running: see `Gateway._let_go`): `asyncio.shield`'s guarantee, with
    the caller woken by the task's own last step rather than by callbacks run at later turns of the event
    loop (shield's two, or a done callback's one), so the caller resumes one turn sooner."""

    def __init__(self, work: Awaitable[T]) -> None:
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[T] = asyncio.ensure_future(self._run(work))

    async def _run(self, work: Awaitable[T]) -> T:
        try:
            return await work
        finally:
            if not self._finished.done():  # a cancelled caller cancelled `_finished`, not this task
                self._finished.set_result(None)

    async def result(self) -> T:
        """What the work returned or raised. The task is done once `_finished` is: it ends in the step that
        marked it."""
        if not self.task.done():
            await self._finished
        return self.task.result()
