"""Feed health arithmetic: when to poll next, after a success or a failure. Pure functions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Protocol

# Jitter spreads feeds that failed together so they do not retry in lockstep.
JITTER = 0.2
# A server's max-age may stretch our interval, but never beyond a day.
MAX_AGE_CAP_SECONDS = 24 * 3600.0


class FeedHealth(Protocol):
    """The health columns of a feed row."""

    enabled: bool
    last_checked_at: datetime | None
    failing_since: datetime | None
    consecutive_errors: int


def next_check_after_success(
    *, now: datetime, interval_seconds: float, max_age: float | None, rng: random.Random
) -> datetime:
    """The interval (or the server's Cache-Control max-age, if longer) with a little jitter."""
    wait = float(interval_seconds)
    if max_age is not None:
        wait = max(wait, min(max_age, MAX_AGE_CAP_SECONDS))
    return now + timedelta(seconds=wait * rng.uniform(1.0, 1.0 + JITTER / 2))


def backoff_seconds(
    *, consecutive_errors: int, interval_seconds: float, cap_seconds: float, rng: random.Random
) -> float:
    """Exponential backoff from the feed's own interval, jittered, capped."""
    exponent = min(max(consecutive_errors - 1, 0), 20)
    base = min(interval_seconds * (2**exponent), cap_seconds)
    jittered: float = base * rng.uniform(1.0 - JITTER, 1.0 + JITTER)
    return min(jittered, cap_seconds)


def next_check_after_failure(
    *,
    now: datetime,
    consecutive_errors: int,
    interval_seconds: float,
    retry_after: float | None,
    cap_seconds: float,
    rng: random.Random,
) -> datetime:
    """Back off; a server's Retry-After is honoured when it asks for longer (up to the cap)."""
    wait = backoff_seconds(
        consecutive_errors=consecutive_errors,
        interval_seconds=interval_seconds,
        cap_seconds=cap_seconds,
        rng=rng,
    )
    if retry_after is not None:
        wait = max(wait, min(retry_after, cap_seconds))
    return now + timedelta(seconds=wait)


def feed_state(feed: FeedHealth) -> str:
    """One word for staff: paused, new (never checked), failing, error (recent) or ok."""
    if not feed.enabled:
        return "paused"
    if feed.last_checked_at is None:
        return "new"
    if feed.failing_since is not None:
        return "failing"
    if feed.consecutive_errors:
        return "error"
    return "ok"
