"""How the gateway hands a request to a task of its own and back: the cancel-safe wait for the upstream
task (a cancelled caller leaves it running, so the ledger can still learn the generation id), and a
request body that waits for the ledger's row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Abandoned(Exception):
    """The caller gave up on the request before its body left: the body is never sent."""


async def body_after(ready: Callable[[], Awaitable[None]], payload: bytes, abandoned: Callable[[], bool]) -> AsyncIterator[bytes]:
    """A request body that waits for `ready` before it is sent: the connection sends the headers (with the
    body's length) first, so the other end reads them while `ready` runs. If the caller was cancelled in
    the meantime (`abandoned()`), the body does not leave (the connection is closed under the half request):
    nothing was generated, and the ledger settles the call as not sent."""
    await ready()
    if abandoned():
        raise Abandoned
    yield payload


async def telling(finished: asyncio.Future[None], work: Awaitable[T]) -> T:
    """`work`, which marks `finished` done in its last step, however it ends (see `outcome`)."""
    try:
        return await work
    finally:
        if not finished.done():  # a cancelled caller cancelled `finished`, not this task
            finished.set_result(None)


async def outcome(task: asyncio.Future[T], finished: asyncio.Future[None]) -> T:
    """What `task` (running `telling(finished, ...)`) returns or raises, waited for so that a cancellation
    of the caller does not reach the task: `asyncio.shield`'s guarantee, with the caller woken by the
    task's own last step, not by callbacks run at later turns of the event loop (shield's two, or a done
    callback's one): the caller resumes one turn sooner. The task is done by then: it ends in the step that
    marked `finished`."""
    if not task.done():
        await finished
    return task.result()
