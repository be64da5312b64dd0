"""Feed health arithmetic: backoff, jitter, caps, Retry-After, max-age, state words."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.ingest.health import (
    backoff_seconds,
    feed_state,
    next_check_after_failure,
    next_check_after_success,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = 24 * 3600.0


def test_backoff_doubles_per_error_within_jitter() -> None:
    rng = random.Random(1)
    waits = [
        backoff_seconds(consecutive_errors=n, interval_seconds=600, cap_seconds=DAY, rng=rng)
        for n in (1, 2, 3, 4)
    ]
    for n, wait in enumerate(waits):
        expected = 600 * 2**n
        assert expected * 0.8 <= wait <= expected * 1.2


def test_backoff_never_exceeds_a_day() -> None:
    rng = random.Random(2)
    for n in (10, 30, 1000):
        assert (
            backoff_seconds(consecutive_errors=n, interval_seconds=3600, cap_seconds=DAY, rng=rng)
            <= DAY
        )


def test_jitter_spreads_feeds_that_failed_together() -> None:
    rng = random.Random(3)
    waits = {
        round(backoff_seconds(consecutive_errors=3, interval_seconds=900, cap_seconds=DAY, rng=rng))
        for _ in range(20)
    }
    assert len(waits) > 10


def test_retry_after_longer_than_backoff_is_honoured_up_to_the_cap() -> None:
    rng = random.Random(4)
    when = next_check_after_failure(
        now=NOW,
        consecutive_errors=1,
        interval_seconds=60,
        retry_after=7200,
        cap_seconds=DAY,
        rng=rng,
    )
    assert when == NOW + timedelta(seconds=7200)
    capped = next_check_after_failure(
        now=NOW,
        consecutive_errors=1,
        interval_seconds=60,
        retry_after=10 * DAY,
        cap_seconds=DAY,
        rng=rng,
    )
    assert capped == NOW + timedelta(seconds=DAY)


def test_max_age_longer_than_interval_stretches_the_wait() -> None:
    rng = random.Random(5)
    plain = next_check_after_success(now=NOW, interval_seconds=900, max_age=None, rng=rng)
    stretched = next_check_after_success(now=NOW, interval_seconds=900, max_age=3600, rng=rng)
    shorter = next_check_after_success(now=NOW, interval_seconds=900, max_age=60, rng=rng)
    assert timedelta(seconds=900) <= plain - NOW <= timedelta(seconds=990)
    assert timedelta(seconds=3600) <= stretched - NOW <= timedelta(seconds=3960)
    assert timedelta(seconds=900) <= shorter - NOW <= timedelta(seconds=990)


@dataclass
class _Health:
    enabled: bool = True
    last_checked_at: datetime | None = NOW
    failing_since: datetime | None = None
    consecutive_errors: int = 0


def test_feed_state_words() -> None:
    assert feed_state(_Health(enabled=False)) == "paused"
    assert feed_state(_Health(last_checked_at=None)) == "new"
    assert feed_state(_Health(consecutive_errors=1)) == "error"
    assert feed_state(_Health(consecutive_errors=3, failing_since=NOW)) == "failing"
    assert feed_state(_Health()) == "ok"
