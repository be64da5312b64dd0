"""What to do after a failed send: a pure decision per REFERENCE.md's error semantics."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.outbox import DEAD, FAILED, PENDING, UNCERTAIN, Claimed
from bot.delivery.transport import Failure, SendError
from bot.digest.html import html_to_plain

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 15 * 60.0
MIGRATED_MARK = "migrated"


@dataclass(frozen=True, slots=True)
class Decision:
    """The row's next state, and what happens to its chat."""

    state: str
    error: str
    retry_at: datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)
    delete_chat: bool = False
    migrate_to: int | None = None
    halt: bool = False  # stop all sending (401)


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


def decide(  # noqa: PLR0911 (one case per failure kind)
    row: Claimed,
    failure: SendError,
    *,
    now: datetime,
    attempts: int,
    max_attempts: int,
    rng: random.Random,
) -> Decision:
    """Map a classified failure to the row's fate (`attempts` includes this one)."""
    detail = str(failure)
    match failure.kind:
        case Failure.RETRY_AFTER:
            wait = timedelta(seconds=max(failure.retry_after, 1.0))
            return Decision(PENDING, detail, retry_at=now + wait)
        case Failure.FORBIDDEN:
            return Decision(DEAD, detail, delete_chat=True)
        case Failure.MIGRATED if failure.migrate_to and row.last_error != MIGRATED_MARK:
            # Resend once to the new id; a second migration error for the row is dead.
            return Decision(PENDING, MIGRATED_MARK, retry_at=now, migrate_to=failure.migrate_to)
        case Failure.BAD_ENTITIES if row.parse_mode is not None:
            plain = {"body": html_to_plain(row.body), "parse_mode": None}
            return Decision(PENDING, "bad_entities: resent as plain text", now, values=plain)
        case Failure.NOT_SENT if attempts < max_attempts:
            return Decision(FAILED, detail, retry_at=now + backoff(attempts, rng))
        case Failure.MAYBE_SENT:
            return Decision(UNCERTAIN, detail)
        case Failure.UNAUTHORIZED:
            # Not the row's fault: it waits, untouched, for a valid token.
            return Decision(
                PENDING, detail, retry_at=now, values={"attempts": row.attempts}, halt=True
            )
    return Decision(DEAD, detail)
