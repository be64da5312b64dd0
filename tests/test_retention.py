"""Retention: old items, stories and settled outbox rows go; what is still owed stays."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Feed, Item, OutboxRow, Story
from bot.delivery import outbox
from bot.delivery.digests import prune
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from tests.support.feedserver import FeedServer
from tests.test_poller import NOW as POLLER_NOW
from tests.test_poller import entries, rss

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


async def test_pruning_deletes_old_items_and_settled_rows_but_keeps_pending_ones(
    engine: AsyncEngine,
) -> None:
    database = Database.on(engine)
    old, recent = NOW - timedelta(days=100), NOW - timedelta(days=5)
    async with database.write() as session:
        session.add(
            Feed(
                id="f",
                url="https://f.example/rss",
                title="F",
                publisher="ngo",
                language="en",
                scope="belarus",
                interval_seconds=900,
                created_at=old,
            )
        )
        session.add(Story(first_seen_at=old, last_seen_at=old, signature="a b"))
        for key, seen in (("old", old), ("new", recent)):
            session.add(
                Item(
                    feed_id="f",
                    key=key,
                    title=key,
                    summary="",
                    published_at=seen,
                    first_seen_at=seen,
                    language="en",
                    content_hash=key,
                )
            )
        chat = await chats.add_chat(session=session, chat_id=9, kind="private", now=old)
        rows = [
            outbox.outbox_row(
                chat_pk=chat.id or 0, kind="alert", ref=f"item:{n}", body="x", now=old
            )
            for n in range(3)
        ]
        await outbox.enqueue(session=session, rows=rows)
        ids = list((await session.scalars(select(col(OutboxRow.id)))).all())
        await outbox.settle(session=session, row_id=ids[0] or 0, state="sent", now=old)
        await outbox.settle(session=session, row_id=ids[1] or 0, state="dead", now=old)
    items, settled = await prune(database=database, now=NOW, keep_days=90)
    assert (items, settled) == (1, 2)
    async with database.read() as session:
        assert list((await session.scalars(select(col(Item.key)))).all()) == ["new"]
        assert (await session.scalars(select(Story))).all() == []
        assert list((await session.scalars(select(col(OutboxRow.state)))).all()) == ["pending"]


async def test_entries_published_before_the_retention_horizon_are_not_stored(
    engine: AsyncEngine, feed_server: FeedServer
) -> None:
    """A stored copy may have been pruned: storing the entry again would alert on old news."""
    feed_server.add("/a.xml", rss(entries(3)))  # published on 2026-05-04
    database = Database.on(engine)
    async with database.write() as session:
        session.add(
            Feed(
                id="a",
                url=feed_server.url("/a.xml"),
                title="A",
                publisher="ngo",
                language="en",
                scope="belarus",
                interval_seconds=900,
                created_at=POLLER_NOW,
            )
        )
    policy = FetchPolicy(allow_private=True, allow_any_port=True)
    later = POLLER_NOW + timedelta(days=40)
    async with Fetcher(policy) as fetcher, ParserPool(workers=1) as parser:
        for max_age, expected in ((30, 0), (60, 3)):
            poller = Poller(
                database=database,
                fetcher=fetcher,
                parser=parser,
                policy=PollPolicy(max_item_age_days=max_age),
                rng=random.Random(1),
            )
            report = await poller.poll_due_feeds(later)
            assert report.new_items == expected
            async with database.write() as session:  # due again for the next round
                await session.execute(update(Feed).values(next_check_at=None, body_hash=None))
