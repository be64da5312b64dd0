"""APScheduler wiring only: fixed job ids, one instance each, explicit misfire policy.

The scheduler is a clock, nothing more: what is due (feeds, digests, outbox rows) lives in
our tables, so a job missed while the process was down is caught up from there on restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

POLL_JOB_ID = "poll-due-feeds"
DIGEST_JOB_ID = "build-due-digests"
PUMP_JOB_ID = "outbox-pump"
RETENTION_JOB_ID = "retention"
STAFF_CHECKS_JOB_ID = "staff-checks"
STAFF_CHECKS_EVERY_SECONDS = 600
# The run in progress plus a tick that finds it busy (see one_at_a_time); such a tick returns
# at once, so APScheduler never reaches this limit and never skips a tick.
MAX_INSTANCES = 2


def build_scheduler() -> AsyncIOScheduler:
    """A scheduler used as a clock only: memory job store, UTC, nothing persisted."""
    return AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": MAX_INSTANCES},
    )


def one_at_a_time(
    job: Callable[[], Awaitable[object]], *, job_id: str
) -> Callable[[], Awaitable[None]]:
    """Run `job` one at a time; ticks that come while it runs merge into one run after it.

    APScheduler 3 skips a tick that falls due while the job's previous run is still going
    ("maximum number of running instances reached"), and `coalesce` does not help: it merges
    only run times the scheduler itself missed. A poll cycle held up by a hung feed would
    then lose its next ticks. Here such a tick asks for one more run and returns; the run in
    progress performs it as soon as it ends.
    """
    running = False
    again = False

    async def run() -> None:
        nonlocal running, again
        if running:
            if not again:
                log.info("job=%s still running: the tick runs once it ends", job_id)
            again = True
            return
        running = True
        try:
            while True:
                again = False
                await job()
                if not again:
                    return
        except asyncio.CancelledError:
            # Only a shutdown cancels a run (the loop cancels what is left when the service
            # stops). Every feed and outbox row is written in its own transaction, so the work
            # resumes on the next start; re-raised, APScheduler would log it as a crash.
            log.info("job=%s stopped mid-run by the shutdown", job_id)
        finally:
            running = False

    return run


def add_interval_job(
    scheduler: AsyncIOScheduler,
    job: Callable[[], Awaitable[object]],
    *,
    job_id: str,
    every_seconds: float,
    first_run: datetime,
) -> None:
    """Run `job` at `first_run` and then every tick; ticks missed while busy are merged."""
    scheduler.add_job(
        one_at_a_time(job, job_id=job_id),
        "interval",
        seconds=every_seconds,
        id=job_id,
        name=job_id,
        replace_existing=True,
        next_run_time=first_run,
        # The default grace of 1 s silently drops a late tick; a late tick is still wanted.
        misfire_grace_time=int(max(every_seconds, 1)) * 10,
    )


def add_poll_job(
    scheduler: AsyncIOScheduler,
    poll: Callable[[], Awaitable[object]],
    *,
    every_seconds: float,
    now: datetime,
) -> None:
    """Run `poll` now and then every tick."""
    add_interval_job(
        scheduler, poll, job_id=POLL_JOB_ID, every_seconds=every_seconds, first_run=now
    )


def add_service_jobs(
    scheduler: AsyncIOScheduler,
    *,
    digests: Callable[[], Awaitable[object]],
    pump: Callable[[], Awaitable[object]],
    retention: Callable[[], Awaitable[object]],
    staff_checks: Callable[[], Awaitable[object]],
    digest_every: float,
    now: datetime,
) -> None:
    """Digest tick (after the first poll had a chance), outbox pump, retention, staff checks."""
    add_interval_job(
        scheduler,
        digests,
        job_id=DIGEST_JOB_ID,
        every_seconds=digest_every,
        first_run=now + timedelta(seconds=min(digest_every, 30)),
    )
    add_interval_job(scheduler, pump, job_id=PUMP_JOB_ID, every_seconds=5, first_run=now)
    add_interval_job(
        scheduler,
        retention,
        job_id=RETENTION_JOB_ID,
        every_seconds=24 * 3600,
        first_run=now + timedelta(minutes=5),
    )
    add_interval_job(
        scheduler,
        staff_checks,
        job_id=STAFF_CHECKS_JOB_ID,
        every_seconds=STAFF_CHECKS_EVERY_SECONDS,
        first_run=now + timedelta(minutes=2),
    )
