"""What calls that bought nothing were billed. A call that fails (or is cut off) after OpenRouter named
its generation may still be billed: the ledger settles that cost later, but a run's result reports it
now. It comes from the failure when the stream carried usage, else from `GET /generation`, which
OpenRouter fills in a little after the generation ends, so it is asked again until a bounded wait runs
out; a cost still unknown then is counted as unknown, never taken as $0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from ..errors import ToolFailure
from ..upstream.account import generation_cost
from ..upstream.types import cost_from_wire

if TYPE_CHECKING:
    from ..upstream import Gateway

COST_WAIT_S = 3.0  # the most a run waits, in all, for OpenRouter to record its failed generations
ONE_TRY_S = 0.5  # the bound on a single look, when there is no time to wait
FIRST_RETRY_S = 0.05
LOOKUPS_AT_ONCE = 8


def carried_cost(failure: ToolFailure | None) -> Decimal | None:
    """The cost a failed stream reported itself (its error event carried usage), if any."""
    details = failure.details if failure is not None else None
    return cost_from_wire(details.get("cost_usd")) if details else None


async def generation_costs(gateway: Gateway, ids: Iterable[str], *, wait_s: float = COST_WAIT_S) -> dict[str, Decimal]:
    """The billed cost of each generation OpenRouter has recorded within `wait_s` seconds (asked at once,
    then again with a growing pause); ids it has not recorded by then are left out. With `wait_s` 0 each
    is asked once, within ONE_TRY_S."""
    found: dict[str, Decimal] = {}
    wanted = list(dict.fromkeys(i for i in ids if i))
    if not wanted:
        return found
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(generation_id: str) -> None:
        pause = FIRST_RETRY_S
        while True:
            try:
                async with gate:
                    cost = await generation_cost(gateway, generation_id)
            except ToolFailure as failure:
                if not failure.retryable:  # e.g. a key that may not read generations: waiting will not help
                    return
            else:
                if cost is not None:
                    found[generation_id] = cost
                    return
            if wait_s <= 0:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait_s if wait_s > 0 else ONE_TRY_S):
            await asyncio.gather(*(one(i) for i in wanted))
    return found
