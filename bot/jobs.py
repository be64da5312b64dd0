"""APScheduler wiring only: fixed job ids, one instance each, explicit misfire policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

POLL_JOB_ID = "poll-due-feeds"


def build_scheduler() -> AsyncIOScheduler:
    """A scheduler used as a clock only: memory job store, UTC, nothing persisted."""
    return AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1},
    )


def add_poll_job(
    scheduler: AsyncIOScheduler,
    poll: Callable[[], Awaitable[object]],
    *,
    every_seconds: float,
    now: datetime,
) -> None:
    """Run `poll` now and then every tick; a tick missed while busy is merged, not skipped."""
    scheduler.add_job(
        poll,
        "interval",
        seconds=every_seconds,
        id=POLL_JOB_ID,
        replace_existing=True,
        next_run_time=now,
        # The default grace of 1 s silently drops a late tick; a late poll is still wanted.
        misfire_grace_time=int(max(every_seconds, 1)) * 10,
    )
