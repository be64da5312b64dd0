"""Waits that are not charged to a time limit (bot.ingest.budget)."""

from __future__ import annotations

import asyncio

import pytest

from bot.ingest.budget import paused, unbilled


async def test_paused_moves_the_deadline_on_by_the_time_waited() -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5.0) as budget:
        before = budget.when()
        assert before is not None
        async with paused(budget):
            assert budget.when() is None  # cannot expire while waiting
            await asyncio.sleep(0.2)
        after = budget.when()
    assert after is not None
    assert 0.2 <= after - before < 1.0
    assert after > loop.time()


async def test_a_wait_longer_than_the_budget_does_not_expire_it() -> None:
    async with asyncio.timeout(0.1) as budget:
        await unbilled(budget, lambda: asyncio.sleep(0.3))()
        await asyncio.sleep(0.01)  # the rest of the budget is still there


async def _pause_then_overrun() -> None:
    async with asyncio.timeout(0.1) as budget:
        async with paused(budget):
            await asyncio.sleep(0.15)
        await asyncio.sleep(0.5)


async def test_the_budget_still_expires_outside_the_pause() -> None:
    with pytest.raises(TimeoutError):
        await _pause_then_overrun()


async def test_a_budget_without_deadline_stays_without_one() -> None:
    async with asyncio.timeout(None) as budget:
        async with paused(budget):
            await asyncio.sleep(0)
        assert budget.when() is None
