"""Assigns stored relevant items to stories (same event, several outlets, 72 hours)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import Item, Story
from bot.matching.cluster import STORY_WINDOW, StoryCandidate, StoryIndex

# An arbitrary constant naming the "assign stories" lock among PostgreSQL advisory locks.
STORY_LOCK_KEY = 0x62726966_0001


async def open_stories(*, session: AsyncSession, now: datetime) -> StoryIndex:
    """An index of the stories seen within the window, each with the feeds it came from."""
    since = now - STORY_WINDOW
    stories = select(col(Story.id), col(Story.signature), col(Story.last_seen_at)).where(
        col(Story.last_seen_at) >= since
    )
    # Which feeds reported each story: a story from one feed only needs the stricter
    # same-feed similarity to take another item of that feed, on later polls as in this one.
    sources = (
        select(col(Item.story_id), col(Item.feed_id))
        .join(Story, col(Story.id) == col(Item.story_id))
        .where(col(Story.last_seen_at) >= since)
        .distinct()
    )
    feeds: dict[int, set[str]] = {}
    for story_id, feed_id in (await session.execute(sources)).all():
        if story_id is not None:
            feeds.setdefault(story_id, set()).add(feed_id)
    candidates = [
        StoryCandidate(
            story_id, frozenset(signature.split()), last_seen, frozenset(feeds.get(story_id, ()))
        )
        for story_id, signature, last_seen in (await session.execute(stories)).all()
        if story_id is not None
    ]
    return StoryIndex(candidates)


async def assign_stories(
    *,
    session: AsyncSession,
    feed_id: str,
    items: Sequence[tuple[int, frozenset[str]]],
    now: datetime,
) -> dict[int, int]:
    """Join each (item id, signature) to an open story or start one; returns item -> story."""
    if not items:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent feed transactions must see each other's new stories, or one event
        # reported by two outlets at once becomes two stories (and two alerts). SQLite's
        # single writer serialises this already.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK_KEY})
    index = await open_stories(session=session, now=now)
    assigned: dict[int, int] = {}
    for item_id, signature in items:
        found = index.find(signature, feed_id=feed_id, seen_at=now)
        if found is None:
            row = {
                "first_seen_at": now,
                "last_seen_at": now,
                "signature": " ".join(sorted(signature)),
                "item_count": 1,
            }
            result = await session.execute(insert(Story).values(**row).returning(col(Story.id)))
            new_id = result.scalar_one()
            assert new_id is not None
            story_id = new_id
            index.add(StoryCandidate(story_id, signature, now, frozenset({feed_id})))
        else:
            story_id = found
            merged = index.update(story_id, signature, feed_id=feed_id, seen_at=now)
            await session.execute(
                update(Story)
                .where(col(Story.id) == story_id)
                .values(
                    last_seen_at=now,
                    signature=" ".join(sorted(merged.signature)),
                    item_count=Story.item_count + 1,
                )
            )
        assigned[item_id] = story_id
        await session.execute(update(Item).where(col(Item.id) == item_id).values(story_id=story_id))
    return assigned
