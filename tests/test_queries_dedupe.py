"""queries.stored_matches and insert_items: the poller's dedupe reads and item writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import queries
from bot.db.engine import Database
from tests.support.feedrows import add_due_feed

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def row(
    feed_id: str, key: str, *, url: str | None, digest: str, seen: datetime
) -> dict[str, object]:
    return {
        "feed_id": feed_id, "key": key, "guid": None, "url": url, "title": key, "summary": "",
        "published_at": seen, "first_seen_at": seen, "language": "en", "content_hash": digest,
    }  # fmt: skip


async def stored(database: Database) -> None:
    await add_due_feed(database, "a", "https://a.example/feed", now=NOW)
    await add_due_feed(database, "b", "https://b.example/feed", now=NOW)
    old = NOW - timedelta(days=40)
    rows = [
        row("a", "k-old", url="https://a.example/old", digest="h-old", seen=old),
        row("a", "k-new", url="https://a.example/new", digest="h-new", seen=NOW),
        row("a", "k-nolink", url=None, digest="h-nolink", seen=NOW),
        row("b", "k-b", url="https://a.example/new", digest="h-b", seen=NOW),
    ]
    async with database.write() as session:
        inserted = await queries.insert_items(session=session, rows=rows)
    assert sorted(key for _, key in inserted) == ["k-b", "k-new", "k-nolink", "k-old"]
    assert len({item_id for item_id, _ in inserted}) == 4


async def test_keys_at_any_age_links_and_hashes_only_since_the_cut_off(engine: AsyncEngine) -> None:
    database = Database.on(engine)
    await stored(database)
    async with database.read() as session:
        found = await queries.stored_matches(
            session=session,
            feed_id="a",
            keys=["k-old", "k-new", "k-missing"],
            urls=["https://a.example/old", "https://a.example/new", "https://a.example/none"],
            hashes=["h-old", "h-nolink", "h-b"],
            since=NOW - timedelta(days=30),
        )
    assert found.keys == {"k-old", "k-new"}
    assert found.urls == {"https://a.example/new"}  # the old link is past the cut-off
    assert found.hashes == {"h-nolink"}  # h-b belongs to another feed


async def test_empty_lists_and_lists_longer_than_one_statement(engine: AsyncEngine) -> None:
    database = Database.on(engine)
    await stored(database)
    filler = [f"x{n}" for n in range(queries.IN_CHUNK * 2)]
    async with database.read() as session:
        nothing = await queries.stored_matches(
            session=session, feed_id="a", keys=[], urls=[], hashes=[], since=NOW
        )
        long = await queries.stored_matches(
            session=session,
            feed_id="a",
            keys=[*filler, "k-nolink"],  # in the third statement
            urls=[],
            hashes=["h-new"],
            since=NOW - timedelta(days=1),
        )
    assert (nothing.keys, nothing.urls, nothing.hashes) == (set(), set(), set())
    assert (long.keys, long.urls, long.hashes) == ({"k-nolink"}, set(), {"h-new"})


async def test_rows_stored_meanwhile_are_skipped_not_duplicated(engine: AsyncEngine) -> None:
    database = Database.on(engine)
    await stored(database)
    again = [
        row("a", "k-new", url=None, digest="other", seen=NOW),
        row("a", "k-fresh", url=None, digest="h-fresh", seen=NOW),
    ]
    async with database.write() as session:
        inserted = await queries.insert_items(session=session, rows=again)
    assert [key for _, key in inserted] == ["k-fresh"]
    async with database.read() as session:
        counts = await queries.item_counts_by_feed(session=session)
    assert counts == {"a": 4, "b": 1}
