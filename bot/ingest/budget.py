"""Time limits that stop running while a task waits its turn for a shared resource."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

Wait = Callable[[], Awaitable[None]]


@contextlib.asynccontextmanager
async def paused(budget: asyncio.Timeout) -> AsyncIterator[None]:
    """Time spent inside is not charged to `budget`: its deadline moves on by the time waited.

    A queue (the write gate, the bodies held in memory) is the cycle's doing, not the
    feed's: a feed that waited its turn must not time out for it, nor take the feeds queued
    behind it down with it.
    """
    loop = asyncio.get_running_loop()
    deadline, started = budget.when(), loop.time()
    budget.reschedule(None)
    try:
        yield
    finally:
        if deadline is not None:
            budget.reschedule(deadline + (loop.time() - started))


def unbilled(budget: asyncio.Timeout, wait: Wait) -> Wait:
    """`wait` wrapped so that the time it takes is not charged to `budget`."""

    async def run() -> None:
        async with paused(budget):
            await wait()

    return run
