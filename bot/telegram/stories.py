"""What /now and /recent show: the current digest, and the last matched stories.

Both read only; /now does not move the chat's digest schedule or its last_digest_end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.config.catalog import Catalog
from bot.db.tables import Chat, Item, ItemTopic, Verdict
from bot.digest.compose import MAX_TEXT, compose_alert, compose_digest
from bot.digest.html import telegram_length
from bot.digest.load import LoadedStory, stories_between
from bot.digest.model import DigestRequest, Reader
from bot.digest.topics import topic_texts
from bot.i18n import translator

# Rows read per wanted story: several items of one story are usually close together.
ROWS_PER_STORY = 10


def _wanted(story: LoadedStory, followed: frozenset[str] | None) -> bool:
    return followed is None or bool(story.topics & followed)


async def current_digest(
    *,
    session: AsyncSession,
    chat: Chat,
    followed: frozenset[str] | None,
    catalog: Catalog,
    now: datetime,
) -> list[str]:
    """The digest as it would be now: since the last digest (at most one period), up to now."""
    period = timedelta(days=1) if chat.digest_frequency == "daily" else timedelta(days=7)
    start = now - period
    if chat.last_digest_end is not None:
        start = min(max(start, chat.last_digest_end), now)
    stories = await stories_between(session=session, start=start, end=now)
    request = DigestRequest(
        period="day" if chat.digest_frequency == "daily" else "week",
        start=start,
        end=now,
        stories=tuple(s.entry for s in stories if _wanted(s, followed)),
        topics=topic_texts(catalog.topics, chat.language),
        send_when_empty=True,
    )
    return compose_digest(request, Reader(chat.language, chat.timezone), translator(chat.language))


async def recent_stories(
    *, session: AsyncSession, followed: frozenset[str] | None, limit: int, now: datetime
) -> list[LoadedStory]:
    """The `limit` most recently seen matched stories for these topics (None: all), newest first."""
    query = (
        select(col(Item.story_id), col(Item.id), col(Item.first_seen_at))
        .join(Verdict, col(Verdict.item_id) == col(Item.id))
        .where(col(Verdict.relevant).is_(True), col(Item.first_seen_at) <= now)
        .order_by(col(Item.first_seen_at).desc())
        .limit(limit * ROWS_PER_STORY)
    )
    if followed is not None:
        tagged = select(col(ItemTopic.item_id)).where(col(ItemTopic.topic_id).in_(sorted(followed)))
        query = query.where(col(Item.id).in_(tagged))
    keys: dict[str, datetime] = {}
    for story_id, item_id, seen in await session.execute(query):
        keys.setdefault(f"story:{story_id}" if story_id else f"item:{item_id}", seen)
        if len(keys) == limit:
            break
    if not keys:
        return []
    start, end = min(keys.values()), max(keys.values()) + timedelta(microseconds=1)
    found = await stories_between(session=session, start=start, end=end)
    chosen = [s for s in found if _wanted(s, followed)]
    chosen.sort(key=lambda s: s.first_seen_at, reverse=True)
    return chosen[:limit]


def render_recent(
    stories: Sequence[LoadedStory], chat: Chat, catalog: Catalog, header: str
) -> list[str]:
    """The stories as alerts, packed into as few messages as Telegram's limit allows."""
    translate = translator(chat.language)
    topics = topic_texts(catalog.topics, chat.language)
    reader = Reader(chat.language, chat.timezone)
    parts = [header]
    for story in stories:
        alert = compose_alert(story.entry, reader, topics, translate)
        joined = f"{parts[-1]}\n\n{alert}"
        if telegram_length(joined) <= MAX_TEXT and len(joined) <= 2 * MAX_TEXT:
            parts[-1] = joined
        else:
            parts.append(alert)
    return parts
