"""The outbox: enqueue keyed deliveries, claim due rows under a lease, record what happened.

States: pending -> (claimed: pending with a lease) -> sending -> sent | failed (retried later)
| uncertain (the request may have reached Telegram; never resent blindly) | dead (permanent).
A row is claimable only when no earlier row for the same chat is still unsettled, so one
chat's messages (the parts of a digest, then its chart) go out in order, one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from bot.db.dml import insert_ignoring_duplicates
from bot.db.tables import Chat, OutboxRow

PENDING, SENDING, SENT = "pending", "sending", "sent"
FAILED, UNCERTAIN, DEAD = "failed", "uncertain", "dead"
STATES = (PENDING, SENDING, SENT, FAILED, UNCERTAIN, DEAD)
RETRYABLE = (PENDING, FAILED)
UNSETTLED = (PENDING, FAILED, SENDING)
# Priorities: lower goes first.
URGENT_ALERT, ALERT, DIGEST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed outbox row, with the chat it goes to."""

    id: int
    chat_pk: int
    chat_id: int
    chat_kind: str
    kind: str
    ref: str
    part: int
    body: str
    parse_mode: str | None
    chart_key: str | None
    attempts: int
    last_error: str | None

    @property
    def is_group(self) -> bool:
        """Groups, supergroups and channels share Telegram's 20-per-minute limit."""
        return self.chat_kind in ("group", "supergroup", "channel")


def outbox_row(
    *,
    chat_pk: int,
    kind: str,
    ref: str,
    body: str,
    now: datetime,
    part: int = 0,
    priority: int = ALERT,
    parse_mode: str | None = "HTML",
    chart_key: str | None = None,
) -> dict[str, Any]:
    """A row ready for enqueue()."""
    return {
        "chat_pk": chat_pk,
        "kind": kind,
        "ref": ref,
        "part": part,
        "state": PENDING,
        "priority": priority,
        "body": body,
        "parse_mode": parse_mode,
        "chart_key": chart_key,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def enqueue(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows; a row whose (chat, kind, ref, part) exists already is skipped. Returns added."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = insert_ignoring_duplicates(dialect, OutboxRow, ["chat_pk", "kind", "ref", "part"])
    statement = insert.returning(col(OutboxRow.id))
    added = 0
    for start in range(0, len(rows), 500):
        result = await session.execute(statement, list(rows[start : start + 500]))
        added += len(result.all())
    return added


def _claimable(now: datetime, limit: int, *, skip_locked: bool) -> Any:
    earlier = aliased(OutboxRow)
    query = (
        select(col(OutboxRow.id))
        .where(
            col(OutboxRow.state).in_(RETRYABLE),
            col(OutboxRow.next_attempt_at) <= now,
            or_(col(OutboxRow.lease_until).is_(None), col(OutboxRow.lease_until) < now),
            ~exists().where(
                col(earlier.chat_pk) == col(OutboxRow.chat_pk),
                col(earlier.id) < col(OutboxRow.id),
                col(earlier.state).in_(UNSETTLED),
            ),
        )
        .order_by(col(OutboxRow.priority), col(OutboxRow.id))
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=OutboxRow)
    return query.scalar_subquery()


async def claim(
    *, session: AsyncSession, owner: str, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    """Lease up to `limit` due rows to `owner` (SKIP LOCKED on PostgreSQL), oldest first."""
    skip_locked = session.get_bind().dialect.name == "postgresql"
    leased = await session.execute(
        update(OutboxRow)
        .where(col(OutboxRow.id).in_(_claimable(now, limit, skip_locked=skip_locked)))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(col(OutboxRow.id))
    )
    ids = [row[0] for row in leased]
    if not ids:
        return []
    rows = await session.execute(
        select(OutboxRow, col(Chat.chat_id), col(Chat.kind))
        .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
        .where(col(OutboxRow.id).in_(ids))
        .order_by(col(OutboxRow.priority), col(OutboxRow.id))
    )
    return [
        Claimed(
            id=r.id or 0,
            chat_pk=r.chat_pk,
            chat_id=chat_id,
            chat_kind=kind,
            kind=r.kind,
            ref=r.ref,
            part=r.part,
            body=r.body,
            parse_mode=r.parse_mode,
            chart_key=r.chart_key,
            attempts=r.attempts,
            last_error=r.last_error,
        )
        for r, chat_id, kind in rows
    ]


async def mark_sending(
    *, session: AsyncSession, row_id: int, owner: str, lease_until: datetime
) -> bool:
    """Record that a request is about to go out; False if the lease was lost meanwhile.

    The lease is renewed: a row that waited in a sender's queue past its lease must not
    look abandoned (and become uncertain) while its request is in flight.
    """
    result: Any = await session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.id) == row_id,
            col(OutboxRow.lease_owner) == owner,
            col(OutboxRow.state).in_(RETRYABLE),
        )
        .values(state=SENDING, attempts=OutboxRow.attempts + 1, lease_until=lease_until)
    )
    return bool(result.rowcount)


async def settle(
    *,
    session: AsyncSession,
    row_id: int,
    state: str,
    now: datetime,
    error: str | None = None,
    message_id: int | None = None,
    retry_at: datetime | None = None,
    values: dict[str, Any] | None = None,
) -> None:
    """Record an outcome and release the lease; `retry_at` puts the row back in the queue."""
    changes: dict[str, Any] = {
        "state": state,
        "lease_owner": None,
        "lease_until": None,
        "last_error": error[:200] if error else None,
    }
    if state == SENT:
        changes.update(sent_at=now, message_id=message_id)
    if retry_at is not None:
        changes["next_attempt_at"] = retry_at
    changes.update(values or {})
    await session.execute(update(OutboxRow).where(col(OutboxRow.id) == row_id).values(**changes))


async def release(*, session: AsyncSession, owner: str, row_ids: Sequence[int]) -> None:
    """Give back leased rows that were never sent (shutdown, a long pause, 401)."""
    if row_ids:
        await session.execute(
            update(OutboxRow)
            .where(
                col(OutboxRow.id).in_(list(row_ids)),
                col(OutboxRow.lease_owner) == owner,
                col(OutboxRow.state).in_(RETRYABLE),
            )
            .values(lease_owner=None, lease_until=None)
        )


async def recover_stale(*, session: AsyncSession, now: datetime) -> int:
    """Rows left `sending` by a worker that died: the request may have gone out, so uncertain."""
    result: Any = await session.execute(
        update(OutboxRow)
        .where(col(OutboxRow.state) == SENDING, col(OutboxRow.lease_until) < now)
        .values(state=UNCERTAIN, lease_owner=None, lease_until=None, last_error="worker died")
    )
    return int(result.rowcount or 0)


async def take_over(*, session: AsyncSession, owner: str) -> tuple[int, int]:
    """A new leader inherits every other worker's leases at once rather than when they expire.

    Only the leader sends, so another owner's lease belongs to a leader that died or lost
    its lock: its claimed rows go back to the queue, and its rows left `sending` become
    uncertain (the request may have gone out). A deposed leader still running cannot send
    them: mark_sending checks the lease owner. Returns (uncertain, released).
    """
    others = or_(col(OutboxRow.lease_owner).is_(None), col(OutboxRow.lease_owner) != owner)
    uncertain: Any = await session.execute(
        update(OutboxRow)
        .where(col(OutboxRow.state) == SENDING, others)
        .values(
            state=UNCERTAIN, lease_owner=None, lease_until=None, last_error="previous leader died"
        )
    )
    released: Any = await session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.state).in_(RETRYABLE),
            col(OutboxRow.lease_owner).is_not(None),
            col(OutboxRow.lease_owner) != owner,
        )
        .values(lease_owner=None, lease_until=None)
    )
    return int(uncertain.rowcount or 0), int(released.rowcount or 0)


async def count_by_state(*, session: AsyncSession) -> dict[str, int]:
    """How many rows are in each state (every state present, zero included)."""
    counts = dict.fromkeys(STATES, 0)
    rows = await session.execute(
        select(col(OutboxRow.state), func.count()).group_by(col(OutboxRow.state))
    )
    counts.update({state: int(n) for state, n in rows})
    return counts


async def next_due_at(*, session: AsyncSession) -> datetime | None:
    """When the earliest retryable row becomes due (None when the queue is empty)."""
    return (
        await session.execute(
            select(func.min(OutboxRow.next_attempt_at)).where(col(OutboxRow.state).in_(RETRYABLE))
        )
    ).scalar_one_or_none()


async def prune_sent(*, session: AsyncSession, before: datetime) -> int:
    """Delete settled rows (sent, dead, uncertain) older than `before`."""
    result: Any = await session.execute(
        delete(OutboxRow).where(
            col(OutboxRow.state).in_((SENT, DEAD, UNCERTAIN)),
            func.coalesce(OutboxRow.sent_at, OutboxRow.created_at) < before,
        )
    )
    return int(result.rowcount or 0)
