"""The staff audit log. Keyword-only; the caller owns the transaction, nothing here commits.

Every change a staff member makes writes one row here in the same transaction as the change,
so the log and the data can never disagree. `before`/`after` are JSON snapshots of what the
change touched (None when it created or removed the thing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import AuditEntry

# PostgreSQL advisory lock that serialises staff edits (feed adds, rule lists) across
# sessions and processes; on SQLite the write gate and BEGIN IMMEDIATE already do it.
PG_STAFF_EDIT_LOCK = 0x73746166  # "staf"

Snapshot = Mapping[str, Any] | None


def _json(value: Snapshot) -> str | None:
    if value is None:
        return None
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True, default=str)


async def record(
    *,
    session: AsyncSession,
    staff_id: int,
    action: str,
    target: str,
    before: Snapshot,
    after: Snapshot,
    now: datetime,
) -> AuditEntry:
    """Add one audit row (flushed, so it fails inside the caller's transaction if it must)."""
    entry = AuditEntry(
        staff_id=staff_id,
        action=action[:32],
        target=target[:128],
        before=_json(before),
        after=_json(after),
        at=now,
    )
    session.add(entry)
    await session.flush()
    return entry


async def recent(*, session: AsyncSession, limit: int = 20) -> list[AuditEntry]:
    """The newest audit rows first."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def for_target(*, session: AsyncSession, target: str) -> list[AuditEntry]:
    """Every audit row about one target, oldest first."""
    stmt = select(AuditEntry).where(col(AuditEntry.target) == target).order_by(col(AuditEntry.id))
    return list((await session.scalars(stmt)).all())


async def serialize_staff_edits(*, session: AsyncSession) -> None:
    """Hold the staff-edit lock until the transaction ends (PostgreSQL; no-op on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_STAFF_EDIT_LOCK})


def loads(value: str | None) -> dict[str, Any] | None:
    """A snapshot column back as a dict."""
    if value is None:
        return None
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else {"value": loaded}
