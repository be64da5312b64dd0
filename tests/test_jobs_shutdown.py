"""A job run cut short by the shutdown ends quietly, through the real AsyncIOScheduler."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from bot.jobs import POLL_JOB_ID, add_poll_job, build_scheduler


async def test_a_run_cancelled_by_the_shutdown_is_logged_as_stopped_not_as_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    started = asyncio.Event()
    events: list[int] = []

    async def poll() -> None:
        started.set()
        await asyncio.Event().wait()  # a cycle still going when the service stops

    scheduler = build_scheduler()
    scheduler.add_listener(
        lambda event: events.append(event.code), EVENT_JOB_ERROR | EVENT_JOB_EXECUTED
    )
    add_poll_job(scheduler, poll, every_seconds=60, now=datetime.now(UTC))
    scheduler.start()
    try:
        await asyncio.wait_for(started.wait(), timeout=5)
        # What the end of asyncio.run does to the tasks left over after the service returns.
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    finally:
        scheduler.shutdown(wait=False)
    assert f"job={POLL_JOB_ID} stopped mid-run by the shutdown" in caplog.text
    assert "Traceback" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
    assert EVENT_JOB_ERROR not in events
