"""A seed's settings (Scenario), its kills and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.crash.checks import Outcome


@dataclass(frozen=True, slots=True)
class Scenario:
    """One seed's size and settings."""

    backend: str  # "sqlite" or "postgres"
    seed: int
    feeds: int = 20
    entries: int = 8
    chats: int = 150
    kills: int = 3
    concurrency: int = 1  # SEND_CONCURRENCY
    send_rate: float = 30.0  # SEND_RATE_PER_SECOND, and the fake's global limit
    alert_share: float = 0.05  # chats that also want urgent alerts (0: digests only)
    fresh_entries: int = 2  # with alerts: entries per feed held back from the backlog poll
    lease_seconds: int = 30  # OUTBOX_LEASE_SECONDS (its minimum)
    startup_window: float = 4.0  # a startup kill comes this many seconds after spawning, at most
    send_kill_span: int | None = None  # a send kill comes within this many sends (None: any)
    fallback_kill_after: float = 45.0  # a trigger that never fires gives way to a timer
    settle_timeout: float = 180.0
    log_level: str = "WARNING"


@dataclass(frozen=True, slots=True)
class Kill:
    """One SIGKILL: which run, how it was triggered, and when."""

    run: int
    mode: str
    planned: str
    fired_by: str  # "trigger" or "fallback"
    at_seconds: float  # after spawning


@dataclass(slots=True)
class SeedResult:
    """What one seed did and found."""

    scenario: Scenario
    kills: list[Kill] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    wall_seconds: float = 0.0
    settle_seconds: float = 0.0  # from the last start until everything settled
    groups: int = 0
    alert_chats: int = 0
    logs: Path | None = None

    @property
    def violations(self) -> list[str]:
        """Every broken invariant (empty when the seed passed)."""
        return self.outcome.violations
