"""Reads matched items back from the database as stories, ready for composition."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import Feed, Item, ItemTopic, Verdict
from bot.digest.model import Source, StoryEntry, WhyHit


@dataclass(frozen=True, slots=True)
class LoadedStory:
    """A story for digests: what to show, and every topic any of its items matched."""

    entry: StoryEntry
    topics: frozenset[str]
    first_seen_at: datetime


def why_hits(raw: str) -> tuple[WhyHit, ...]:
    """Decode the verdict's JSON list of hits."""
    try:
        hits = json.loads(raw)
    except ValueError:
        return ()
    return tuple(
        WhyHit(h["topic"], h["term"], h["word"], h["field"], h["snippet"])
        for h in hits
        if isinstance(h, dict)
    )


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


async def stories_between(
    *, session: AsyncSession, start: datetime, end: datetime
) -> list[LoadedStory]:
    """Relevant items first seen in [start, end), one per story (its best-scored item)."""
    rows = (
        await session.execute(
            select(Item, Verdict, col(Feed.title), col(Feed.publisher))
            .join(Verdict, col(Verdict.item_id) == col(Item.id))
            .join(Feed, col(Feed.id) == col(Item.feed_id))
            .where(
                col(Verdict.relevant).is_(True),
                col(Item.first_seen_at) >= start,
                col(Item.first_seen_at) < end,
            )
        )
    ).all()
    item_ids = [item.id for item, *_ in rows if item.id is not None]
    topics = await _topics_of(session=session, item_ids=item_ids)
    groups: dict[str, list[tuple[Item, Verdict, Source]]] = defaultdict(list)
    for item, verdict, feed_title, publisher in rows:
        key = f"story:{item.story_id}" if item.story_id else f"item:{item.id}"
        groups[key].append((item, verdict, Source(feed_title, publisher)))
    return [_story(members, topics) for members in groups.values()]


def _story(members: list[tuple[Item, Verdict, Source]], topics: dict[int, set[str]]) -> LoadedStory:
    members.sort(key=lambda m: (-m[1].score, m[0].first_seen_at))
    item, verdict, source = members[0]
    others = tuple(dict.fromkeys(s for _, _, s in members[1:] if s != source))
    all_topics = frozenset().union(*(topics.get(m[0].id or 0, set()) for m in members))
    entry = StoryEntry(
        item_id=item.id or 0,
        title=item.title,
        url=item.url,
        source=source,
        published_at=item.published_at,
        score=verdict.score,
        urgent=any(m[1].urgent for m in members),
        recommendations=_split(verdict.recommendations),
        themes=_split(verdict.themes),
        why=why_hits(verdict.why),
        also_reported_by=others,
    )
    first_seen = min(m[0].first_seen_at for m in members)
    return LoadedStory(entry, all_topics, first_seen)


async def _topics_of(*, session: AsyncSession, item_ids: Sequence[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(item_ids), 500):
        rows = await session.execute(
            select(col(ItemTopic.item_id), col(ItemTopic.topic_id)).where(
                col(ItemTopic.item_id).in_(list(item_ids[start : start + 500]))
            )
        )
        for item_id, topic in rows:
            found[item_id].add(topic)
    return found


async def other_sources(
    *, session: AsyncSession, story_ids: Sequence[int], exclude_feed: str
) -> dict[int, tuple[Source, ...]]:
    """For each story, the other outlets that reported it (for "also reported by")."""
    if not story_ids:
        return {}
    rows = await session.execute(
        select(col(Item.story_id), col(Feed.title), col(Feed.publisher))
        .join(Feed, col(Feed.id) == col(Item.feed_id))
        .where(col(Item.story_id).in_(list(story_ids)), col(Item.feed_id) != exclude_feed)
        .distinct()
    )
    found: dict[int, list[Source]] = defaultdict(list)
    for story_id, title, publisher in rows:
        if story_id is not None:
            found[story_id].append(Source(title, publisher))
    return {k: tuple(v) for k, v in found.items()}
