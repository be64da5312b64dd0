"""Feed changes made by staff. Keyword-only; the caller owns the transaction."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.queries import IN_CHUNK
from bot.db.tables import Feed, Item, OutboxRow, Story
from bot.delivery.outbox import RETRYABLE
from bot.ingest.urlnorm import normalize_link

MAX_SLUG = 58  # leaves room for a "-NN" suffix within the 64-character id


def slug_for_host(host: str) -> str:
    """A feed id from a host name: `www.svaboda.org` -> `svaboda-org`."""
    name = host.lower().split(":", 1)[0].strip("[]")
    name = name.removeprefix("www.")
    slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:MAX_SLUG].strip("-")
    return slug if len(slug) >= 2 else f"feed-{slug}".strip("-")


async def free_feed_id(*, session: AsyncSession, base: str) -> str:
    """`base`, or `base-2`, `base-3`... whichever no feed uses yet."""
    taken = set(
        (
            await session.scalars(
                select(col(Feed.id)).where((col(Feed.id) == base) | col(Feed.id).like(f"{base}-%"))
            )
        ).all()
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


async def feed_with_same_url(*, session: AsyncSession, url: str) -> Feed | None:
    """The feed whose URL is this one once normalised (case, default port, tracking...)."""
    wanted = normalize_link(url) or url
    for feed in (await session.scalars(select(Feed))).all():
        if feed.url == url or (normalize_link(feed.url) or feed.url) == wanted:
            return feed
    return None


def feed_snapshot(feed: Feed) -> dict[str, Any]:
    """What the audit log keeps of a feed: its settings, not its health."""
    return {
        "id": feed.id,
        "url": feed.url,
        "title": feed.title,
        "publisher": feed.publisher,
        "language": feed.language,
        "scope": feed.scope,
        "interval_seconds": feed.interval_seconds,
        "enabled": feed.enabled,
        "origin": feed.origin,
    }


async def set_feed_enabled(*, session: AsyncSession, feed: Feed, enabled: bool) -> None:
    """Pause or resume a feed; the choice outlives a feeds.yaml sync (staff_enabled)."""
    feed.enabled = enabled
    feed.staff_enabled = enabled
    if enabled:
        feed.next_check_at = None  # polled on the next tick
    session.add(feed)
    await session.flush()


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[start : start + IN_CHUNK] for start in range(0, len(values), IN_CHUNK)]


async def remove_feed(*, session: AsyncSession, feed: Feed) -> int:
    """Delete a feed and its items; alerts still queued for them are dropped. Items removed."""
    rows = (
        await session.execute(
            select(col(Item.id), col(Item.story_id)).where(col(Item.feed_id) == feed.id)
        )
    ).all()
    item_ids = [row[0] for row in rows]
    story_ids = sorted({row[1] for row in rows if row[1] is not None})
    await session.execute(delete(Item).where(col(Item.feed_id) == feed.id))
    # Stories told only by this feed are gone with it, and so are their queued alerts.
    still_told: set[int] = set()
    for chunk in _chunks(story_ids):
        found = await session.scalars(
            select(col(Item.story_id)).where(col(Item.story_id).in_(chunk)).distinct()
        )
        still_told.update(s for s in found.all() if s is not None)
    orphaned = [s for s in story_ids if s not in still_told]
    refs = [f"item:{i}" for i in item_ids] + [f"story:{s}" for s in orphaned]
    for chunk in _chunks(refs):
        await session.execute(
            delete(OutboxRow).where(
                col(OutboxRow.kind) == "alert",
                col(OutboxRow.state).in_(RETRYABLE),
                col(OutboxRow.ref).in_(chunk),
            )
        )
    for chunk in _chunks(orphaned):
        await session.execute(delete(Story).where(col(Story.id).in_(chunk)))
    await session.execute(delete(Feed).where(col(Feed.id) == feed.id))
    await session.flush()
    return len(item_ids)
