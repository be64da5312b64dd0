"""Counts for the staff /stats view. Aggregates only: nothing here returns a chat id (G56)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import Chat, Feed, Item, ItemTopic, Verdict
from bot.delivery.outbox import count_by_state

WEEKS = 4


@dataclass(slots=True)
class Stats:
    """Every number /stats shows."""

    chats_total: int = 0
    chats_paused: int = 0
    by_mode: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    # Newest week first: items stored, items found relevant, matched items per topic.
    items_per_week: list[int] = field(default_factory=list)
    relevant_per_week: list[int] = field(default_factory=list)
    topic_per_week: dict[str, list[int]] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)


async def _grouped(session: AsyncSession, column: Any) -> dict[str, int]:
    stmt = select(column, func.count()).select_from(Chat).group_by(column)
    return {str(key): int(n) for key, n in (await session.execute(stmt)).all()}


async def _week_counts(
    session: AsyncSession, stats: Stats, start: datetime, end: datetime, week: int
) -> None:
    window = (col(Item.first_seen_at) >= start, col(Item.first_seen_at) < end)
    stats.items_per_week.append(
        int(await session.scalar(select(func.count()).select_from(Item).where(*window)) or 0)
    )
    relevant = (
        select(func.count())
        .select_from(Verdict)
        .join(Item, col(Item.id) == col(Verdict.item_id))
        .where(*window, col(Verdict.relevant).is_(True))
    )
    stats.relevant_per_week.append(int(await session.scalar(relevant) or 0))
    per_topic = (
        select(col(ItemTopic.topic_id), func.count())
        .join(Item, col(Item.id) == col(ItemTopic.item_id))
        .where(*window)
        .group_by(col(ItemTopic.topic_id))
    )
    for topic, count in (await session.execute(per_topic)).all():
        stats.topic_per_week.setdefault(str(topic), [0] * WEEKS)[week] = int(count)


async def collect(*, session: AsyncSession, now: datetime) -> Stats:
    """Subscribers by mode, language and kind; items and matches per week; outbox by state."""
    stats = Stats()
    stats.chats_total = int(await session.scalar(select(func.count()).select_from(Chat)) or 0)
    stats.chats_paused = int(
        await session.scalar(
            select(func.count()).select_from(Chat).where(col(Chat.paused).is_(True))
        )
        or 0
    )
    stats.by_mode = await _grouped(session, col(Chat.alert_mode))
    stats.by_language = await _grouped(session, col(Chat.language))
    stats.by_kind = await _grouped(session, col(Chat.kind))
    for week in range(WEEKS):
        end = now - timedelta(weeks=week)
        await _week_counts(session, stats, end - timedelta(weeks=1), end, week)
    stats.outbox = await count_by_state(session=session)
    return stats


async def poll_summary(*, session: AsyncSession, since: datetime) -> tuple[int, int, int]:
    """(feeds checked, of them failing now, items stored) since `since`: a /poll_now report."""
    checked = (col(Feed.last_checked_at) >= since,)
    feeds = int(await session.scalar(select(func.count()).select_from(Feed).where(*checked)) or 0)
    failed = int(
        await session.scalar(
            select(func.count()).select_from(Feed).where(*checked, col(Feed.consecutive_errors) > 0)
        )
        or 0
    )
    items = int(
        await session.scalar(
            select(func.count()).select_from(Item).where(col(Item.first_seen_at) >= since)
        )
        or 0
    )
    return feeds, failed, items
