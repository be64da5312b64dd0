"""Builds the digests that are due: one transaction per batch of chats, rows keyed per period."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.config.catalog import TopicSpec
from bot.db import chats
from bot.db.engine import Database
from bot.db.queries import prune_items
from bot.db.tables import Chart, Chat, Item, ItemTopic
from bot.delivery import outbox
from bot.digest.chart import last_week_starts, render_weekly_chart, weekly_series
from bot.digest.compose import compose_digest
from bot.digest.load import LoadedStory, stories_between
from bot.digest.model import DigestRequest, Reader
from bot.digest.schedule import DigestSchedule, catch_up, next_due, period_bounds, period_key
from bot.digest.topics import topic_texts
from bot.i18n import translator

log = logging.getLogger(__name__)
CHATS_PER_TRANSACTION = 500
CHART_WEEKS = 8


def schedule_of(chat: Chat) -> DigestSchedule:
    """A chat's digest schedule."""
    frequency = chat.digest_frequency if chat.digest_frequency in ("daily", "weekly") else "off"
    return DigestSchedule(
        frequency,  # type: ignore[arg-type]
        weekday=chat.digest_weekday,
        minute_of_day=chat.digest_minute,
        timezone=chat.timezone,
    )


def first_digest_at(chat: Chat, now: datetime) -> datetime | None:
    """When a chat's next digest is due after a settings change (None: digests off)."""
    return next_due(schedule_of(chat), now)


@dataclass(slots=True)
class _Batch:
    """Caches shared by every chat in one run: stories per period, digests per audience."""

    stories: dict[tuple[datetime, datetime], list[LoadedStory]] = field(default_factory=dict)
    digests: dict[tuple[object, ...], list[str]] = field(default_factory=dict)
    charts: set[str] = field(default_factory=set)


class DigestBuilder:
    """Composes due digests into the outbox and moves each chat's schedule forward."""

    def __init__(self, topics: Sequence[TopicSpec]) -> None:
        self._topics = list(topics)

    async def build_due(self, *, database: Database, now: datetime) -> int:
        """Build every digest due at `now`; returns how many chats got one queued."""
        built = 0
        batch = _Batch()
        while True:
            async with database.write() as session:
                due = await chats.digests_due(session=session, now=now, limit=CHATS_PER_TRANSACTION)
                for chat in due:
                    built += await self._build_one(session, chat, now, batch)
            if len(due) < CHATS_PER_TRANSACTION:
                break
        if built:
            log.info("digests queued chats=%d", built)
        return built

    async def _build_one(
        self, session: AsyncSession, chat: Chat, now: datetime, batch: _Batch
    ) -> int:
        assert chat.id is not None
        assert chat.next_digest_at is not None
        schedule = schedule_of(chat)
        due, following = catch_up(schedule, chat.next_digest_at, now)
        values: dict[str, object] = {"next_digest_at": following}
        queued = 0
        if due is not None:
            # After downtime the digest runs up to now, so nothing falls between two digests.
            start, _ = period_bounds(schedule, due, chat.last_digest_end)
            key = period_key(schedule, due)
            parts = await self._compose(session, chat, start, now, batch)
            rows = [
                outbox.outbox_row(
                    chat_pk=chat.id,
                    kind="digest",
                    ref=key,
                    part=i,
                    body=body,
                    now=now,
                    priority=outbox.DIGEST,
                )
                for i, body in enumerate(parts)
            ]
            if parts and schedule.frequency == "weekly":
                rows.append(await self._chart_row(session, chat, key, now, batch))
            await outbox.enqueue(session=session, rows=rows)
            values["last_digest_end"] = now
            queued = 1 if rows else 0
        await session.execute(update(Chat).where(col(Chat.id) == chat.id).values(**values))
        return queued

    async def _compose(
        self, session: AsyncSession, chat: Chat, start: datetime, end: datetime, batch: _Batch
    ) -> list[str]:
        if (start, end) not in batch.stories:
            batch.stories[(start, end)] = await stories_between(
                session=session, start=start, end=end
            )
        followed = (
            None
            if chat.follow_all
            else frozenset(await chats.chat_topics(session=session, chat_pk=chat.id or 0))
        )
        audience = (
            start,
            end,
            followed,
            chat.language,
            chat.timezone,
            chat.empty_digest_note,
            chat.digest_frequency,
        )
        if audience not in batch.digests:
            stories = [
                s.entry
                for s in batch.stories[(start, end)]
                if followed is None or s.topics & followed
            ]
            request = DigestRequest(
                period="week" if chat.digest_frequency == "weekly" else "day",
                start=start,
                end=end,
                stories=tuple(stories),
                topics=topic_texts(self._topics, chat.language),
                send_when_empty=chat.empty_digest_note,
            )
            reader = Reader(chat.language, chat.timezone)
            batch.digests[audience] = compose_digest(request, reader, translator(chat.language))
        return batch.digests[audience]

    async def _chart_row(
        self, session: AsyncSession, chat: Chat, key: str, now: datetime, batch: _Batch
    ) -> dict[str, object]:
        chart_key = f"{key}:{chat.language}"
        translate = translator(chat.language)
        if chart_key not in batch.charts:
            exists = await session.get(Chart, chart_key)
            if exists is None:
                png = await self._render_chart(session, chat.language, now)
                session.add(Chart(key=chart_key, png=png, created_at=now))
                await session.flush()
            batch.charts.add(chart_key)
        caption = translate("Matched items per week, by recommendation and theme (last 8 weeks)")
        return outbox.outbox_row(
            chat_pk=chat.id or 0,
            kind="chart",
            ref=key,
            body=caption,
            now=now,
            priority=outbox.DIGEST,
            parse_mode=None,
            chart_key=chart_key,
        )

    async def _render_chart(self, session: AsyncSession, language: str, now: datetime) -> bytes:
        weeks = last_week_starts(now.date(), CHART_WEEKS)
        since = datetime.combine(weeks[0], datetime.min.time(), tzinfo=UTC)
        rows = await session.execute(
            select(col(Item.first_seen_at), col(ItemTopic.topic_id))
            .join(ItemTopic, col(ItemTopic.item_id) == col(Item.id))
            .where(col(Item.first_seen_at) >= since)
        )
        series_of = {t.id: t.recommendation or t.id for t in self._topics}
        counted = weekly_series(
            ((seen.date(), series_of.get(topic, topic)) for seen, topic in rows), weeks
        )
        texts = topic_texts(self._topics, language)
        labels = {t.recommendation or t.topic_id: t.title for t in texts}
        title = translator(language)("Matched items per week")
        return render_weekly_chart(counted, labels, weeks, title)


async def prune(*, database: Database, now: datetime, keep_days: int) -> tuple[int, int]:
    """Retention: delete items and settled outbox rows older than `keep_days`."""
    cutoff = now - timedelta(days=keep_days)
    async with database.write() as session:
        items = await prune_items(session=session, before=cutoff)
        rows = await outbox.prune_sent(session=session, before=cutoff)
    return items, rows
