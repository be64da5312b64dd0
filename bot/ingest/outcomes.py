"""What a poll cycle reports: the poller's limits and each feed's outcome."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from bot.errors import FeedError

Status = Literal["new", "unchanged", "not_modified", "error"]


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """The poller's limits, taken from Settings."""

    concurrency: int = 100  # feeds in flight
    max_bodies: int = 50  # of those, feeds holding a body (memory: max_bodies x body cap)
    feed_timeout_seconds: float = 60.0
    max_entries: int = 500
    failing_after: int = 3
    backoff_cap_seconds: float = 24 * 3600.0
    # Entries published before the retention horizon are ignored: their stored copy may have
    # been pruned, and storing them again would alert on old news.
    max_item_age_days: int | None = None

    def __post_init__(self) -> None:
        if self.concurrency <= 0 or self.max_bodies <= 0:
            raise ValueError("concurrency and max_bodies must be positive")


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in one cycle."""

    feed_id: str
    status: Status
    new_items: int = 0
    error: FeedError | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class PollReport:
    """The outcomes of one poll cycle."""

    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def new_items(self) -> int:
        """Items stored for the first time in this cycle."""
        return sum(o.new_items for o in self.outcomes)

    def count(self, status: Status) -> int:
        """How many feeds ended with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        c = Counter(o.status for o in self.outcomes)
        return (
            f"feeds={len(self.outcomes)} new_items={self.new_items} with_new={c['new']} "
            f"unchanged={c['unchanged']} not_modified={c['not_modified']} errors={c['error']}"
        )
