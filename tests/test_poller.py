"""The poller end to end over loopback HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.db import engine as engine_module
from bot.db import queries
from bot.db.engine import Database, create_engine
from bot.db.migrate import upgrade
from bot.db.tables import Feed, Item
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from bot.ingest.types import Entry
from tests.support.feedrows import add_due_feed
from tests.support.feedserver import FeedServer

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def rss(items: Sequence[tuple[str, str, str]], *, title: str = "Test feed") -> str:
    """An RSS 2.0 document from (guid, link, title) triples."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><link>{link}</link>"
        f"<title>{text}</title><description>About {text}.</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=i + 1))}</pubDate></item>"
        for i, (guid, link, text) in enumerate(items)
    )
    head = (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
    )
    return f"{head}{body}</channel></rss>"


def entries(n: int, prefix: str = "a") -> list[tuple[str, str, str]]:
    return [
        (f"{prefix}{i}", f"https://news.example/{prefix}/{i}", f"Story {prefix}{i}")
        for i in range(n)
    ]


@dataclass
class Harness:
    database: Database
    poller: Poller
    server: FeedServer
    fetcher: Fetcher
    parser: ParserPool

    async def add_feed(self, feed_id: str, path: str, *, interval: int = 900) -> None:
        await add_due_feed(
            self.database, feed_id, self.server.url(path), now=NOW, interval=interval
        )

    async def feed(self, feed_id: str) -> Feed:
        async with self.database.sessions() as session:
            feed = await queries.get_feed(session=session, feed_id=feed_id)
            assert feed is not None
            return feed

    async def item_keys(self, feed_id: str) -> list[str]:
        async with self.database.sessions() as session:
            stmt = select(col(Item.key)).where(col(Item.feed_id) == feed_id).order_by(col(Item.id))
            return list((await session.scalars(stmt)).all())


@pytest.fixture
async def harness(engine: AsyncEngine, feed_server: FeedServer) -> AsyncIterator[Harness]:
    policy = FetchPolicy(
        total_timeout=3.0,
        read_timeout=2.0,
        connect_timeout=2.0,
        max_bytes=1_000_000,
        concurrency=10,
        per_host=10,
        max_redirects=5,
        allow_private=True,
    )
    async with Fetcher(policy) as fetcher, ParserPool(workers=1, timeout=5.0) as parser:
        poller = Poller(
            database=Database.on(engine),
            fetcher=fetcher,
            parser=parser,
            policy=PollPolicy(concurrency=10, feed_timeout_seconds=5.0, failing_after=3),
            rng=random.Random(7),
        )
        yield Harness(Database.on(engine), poller, feed_server, fetcher, parser)


async def test_cold_poll_stores_every_item_once_and_records_health(harness: Harness) -> None:
    harness.server.add("/a.xml", rss(entries(12)), etag='"v1"')
    await harness.add_feed("a", "/a.xml")
    report = await harness.poller.poll_due_feeds(NOW)
    assert report.new_items == 12
    assert sorted(await harness.item_keys("a")) == sorted(f"a{i}" for i in range(12))
    feed = await harness.feed("a")
    assert feed.etag == '"v1"'
    assert feed.last_status == 200
    assert feed.consecutive_errors == 0
    assert feed.last_new_item_at == NOW
    assert feed.next_check_at is not None
    assert timedelta(minutes=15) <= feed.next_check_at - NOW <= timedelta(minutes=17)


async def test_feeds_not_yet_due_are_left_alone(harness: Harness) -> None:
    harness.server.add("/a.xml", rss(entries(2)))
    await harness.add_feed("a", "/a.xml")
    await harness.poller.poll_due_feeds(NOW)
    report = await harness.poller.poll_due_feeds(NOW + timedelta(minutes=5))
    assert report.outcomes == []


async def test_second_poll_sends_validators_and_304_stores_nothing(harness: Harness) -> None:
    harness.server.add(
        "/a.xml", rss(entries(3)), etag='"v1"', last_modified="Mon, 04 May 2026 08:00:00 GMT"
    )
    await harness.add_feed("a", "/a.xml")
    await harness.poller.poll_due_feeds(NOW)
    later = NOW + timedelta(hours=1)
    report = await harness.poller.poll_due_feeds(later)
    assert [o.status for o in report.outcomes] == ["not_modified"]
    assert report.new_items == 0
    feed = await harness.feed("a")
    assert feed.last_status == 304
    assert feed.last_checked_at == later


async def test_same_body_without_validators_is_not_parsed_again(harness: Harness) -> None:
    harness.server.add("/a.xml", rss(entries(3)))
    await harness.add_feed("a", "/a.xml")
    await harness.poller.poll_due_feeds(NOW)
    report = await harness.poller.poll_due_feeds(NOW + timedelta(hours=1))
    assert [o.status for o in report.outcomes] == ["unchanged"]


async def test_new_entries_are_stored_when_the_feed_changes(harness: Harness) -> None:
    harness.server.add("/a.xml", rss(entries(3)), etag='"v1"')
    await harness.add_feed("a", "/a.xml")
    await harness.poller.poll_due_feeds(NOW)
    harness.server.add("/a.xml", rss(entries(2, "b") + entries(3)), etag='"v2"')
    report = await harness.poller.poll_due_feeds(NOW + timedelta(hours=1))
    assert report.new_items == 2
    assert sorted(await harness.item_keys("a")) == ["a0", "a1", "a2", "b0", "b1"]


async def test_one_failing_feed_does_not_stop_the_others(harness: Harness) -> None:
    harness.server.add("/ok.xml", rss(entries(2)))
    harness.server.add("/broken.xml", "oops", status=500, content_type="text/plain")
    await harness.add_feed("ok", "/ok.xml")
    await harness.add_feed("broken", "/broken.xml")
    report = await harness.poller.poll_due_feeds(NOW)
    by_id = {o.feed_id: o for o in report.outcomes}
    assert by_id["ok"].status == "new"
    assert by_id["broken"].status == "error"
    broken = await harness.feed("broken")
    assert broken.consecutive_errors == 1
    assert broken.last_error_reason == "http_status"
    assert "500" in (broken.last_error or "")
    assert broken.failing_since is None


async def test_failing_feed_backs_off_exponentially_and_is_marked_failing(harness: Harness) -> None:
    harness.server.add("/broken.xml", "oops", status=503, content_type="text/plain")
    await harness.add_feed("broken", "/broken.xml", interval=600)
    now, waits = NOW, []
    for _ in range(4):
        await harness.poller.poll_due_feeds(now)
        feed = await harness.feed("broken")
        assert feed.next_check_at is not None
        waits.append((feed.next_check_at - now).total_seconds())
        now = feed.next_check_at
    assert waits == sorted(waits)
    assert waits[3] >= 600 * 8 * 0.8
    feed = await harness.feed("broken")
    assert feed.consecutive_errors == 4
    assert feed.failing_since is not None


async def test_recovery_clears_the_error_state(harness: Harness) -> None:
    harness.server.add("/f.xml", "oops", status=500, content_type="text/plain")
    await harness.add_feed("f", "/f.xml")
    await harness.poller.poll_due_feeds(NOW)
    harness.server.add("/f.xml", rss(entries(1)))
    feed = await harness.feed("f")
    assert feed.next_check_at is not None
    await harness.poller.poll_due_feeds(feed.next_check_at)
    feed = await harness.feed("f")
    assert (feed.consecutive_errors, feed.last_error, feed.failing_since) == (0, None, None)


async def test_retry_after_on_429_delays_the_next_check(harness: Harness) -> None:
    harness.server.add(
        "/f.xml",
        "slow down",
        status=429,
        content_type="text/plain",
        headers={"Retry-After": "7200"},
    )
    await harness.add_feed("f", "/f.xml", interval=300)
    await harness.poller.poll_due_feeds(NOW)
    feed = await harness.feed("f")
    assert feed.last_error_reason == "rate_limited"
    assert feed.next_check_at is not None
    assert feed.next_check_at - NOW >= timedelta(seconds=7200)


async def test_permanent_redirect_updates_the_stored_url(harness: Harness) -> None:
    harness.server.add("/new.xml", rss(entries(1)))
    harness.server.redirect("/old.xml", "/new.xml", status=301)
    await harness.add_feed("f", "/old.xml")
    await harness.poller.poll_due_feeds(NOW)
    assert (await harness.feed("f")).url == harness.server.url("/new.xml")


async def test_temporary_redirect_keeps_the_stored_url(harness: Harness) -> None:
    harness.server.add("/new.xml", rss(entries(1)))
    harness.server.redirect("/old.xml", "/new.xml", status=302)
    await harness.add_feed("f", "/old.xml")
    await harness.poller.poll_due_feeds(NOW)
    assert (await harness.feed("f")).url == harness.server.url("/old.xml")


async def test_reserved_article_with_new_guid_is_not_stored_twice(harness: Harness) -> None:
    first = [("g1", "https://news.example/story?id=5", "Minsk court jails activist")]
    harness.server.add("/f.xml", rss(first))
    await harness.add_feed("f", "/f.xml")
    await harness.poller.poll_due_feeds(NOW)
    again = [
        (
            "g1-new",
            "https://news.example/story?id=5&utm_source=rss",
            "Minsk court jails activist (updated)",
        )
    ]
    harness.server.add("/f.xml", rss(again))
    report = await harness.poller.poll_due_feeds(NOW + timedelta(hours=1))
    assert report.new_items == 0
    assert await harness.item_keys("f") == ["g1"]


async def test_fifty_items_sharing_one_guid_and_link_are_all_kept(harness: Harness) -> None:
    shared = [("same", "https://news.example/live", f"Update number {i}") for i in range(50)]
    harness.server.add("/f.xml", rss(shared))
    await harness.add_feed("f", "/f.xml")
    report = await harness.poller.poll_due_feeds(NOW)
    assert report.new_items == 50
    assert len(set(await harness.item_keys("f"))) == 50


async def test_hostile_body_marks_the_feed_with_a_clear_reason(harness: Harness) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<rss><channel><title>&b;</title></channel></rss>"
    )
    harness.server.add("/f.xml", laughs)
    await harness.add_feed("f", "/f.xml")
    await harness.poller.poll_due_feeds(NOW)
    feed = await harness.feed("f")
    assert feed.last_error_reason == "xml_entities_forbidden"
    assert await harness.item_keys("f") == []


async def test_hung_feed_times_out_and_the_cycle_finishes(harness: Harness) -> None:
    harness.server.add("/ok.xml", rss(entries(2)))
    harness.server.slow("/hang.xml", every_seconds=10.0)
    await harness.add_feed("ok", "/ok.xml")
    await harness.add_feed("hang", "/hang.xml")
    report = await asyncio.wait_for(harness.poller.poll_due_feeds(NOW), timeout=15)
    by_id = {o.feed_id: o for o in report.outcomes}
    assert by_id["ok"].new_items == 2
    assert by_id["hang"].status == "error"
    assert by_id["hang"].error is not None
    assert by_id["hang"].error.reason == "timeout"


async def test_paused_feeds_are_not_polled(harness: Harness) -> None:
    harness.server.add("/f.xml", rss(entries(1)))
    await harness.add_feed("f", "/f.xml")
    async with harness.database.sessions() as session, session.begin():
        await queries.update_feed(session=session, feed_id="f", values={"enabled": False})
    report = await harness.poller.poll_due_feeds(NOW)
    assert report.outcomes == []
    assert harness.server.hits("/f.xml") == 0


class ExplodingHook:
    """Crashes while storing, after the items were inserted in the same transaction."""

    def prepare(self, feed: Feed, entries: Sequence[Entry]) -> dict[str, object]:
        return {}

    async def store(self, **_: object) -> None:
        raise RuntimeError("matcher crashed")


async def test_a_failing_new_items_hook_rolls_back_and_is_isolated(harness: Harness) -> None:
    harness.server.add("/f.xml", rss(entries(3)))
    await harness.add_feed("f", "/f.xml")
    poller = Poller(
        database=harness.database,
        fetcher=harness.fetcher,
        parser=harness.parser,
        policy=PollPolicy(),
        on_new_items=ExplodingHook(),
    )
    report = await poller.poll_due_feeds(NOW)
    assert report.outcomes[0].error is not None
    assert report.outcomes[0].error.reason == "internal_error"
    # Nothing was marked seen, so the next cycle sees (and matches) the items again.
    assert await harness.item_keys("f") == []
    assert (await harness.feed("f")).body_hash is None


class SlowHook:
    """Holds each feed's write transaction open a little, as a slow disk would."""

    def prepare(self, feed: Feed, entries: Sequence[Entry]) -> dict[str, object]:
        return {}

    async def store(self, **_: object) -> None:
        await asyncio.sleep(0.1)


async def test_many_feeds_writing_at_once_on_sqlite_lose_nothing(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's waiting writers sleep and retry rather than queue: with fifty feeds finishing
    # together, some outwaited busy_timeout ("database is locked") and lost their items.
    # A short busy_timeout and slow writes make that certain without the write gate.
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    engine = create_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    await upgrade(engine)
    database = Database.on(engine)
    policy = FetchPolicy(allow_private=True, allow_any_port=True, per_host=50, concurrency=50)
    try:
        async with Fetcher(policy) as fetcher, ParserPool(workers=2) as parser:
            poller = Poller(
                database=database,
                fetcher=fetcher,
                parser=parser,
                policy=PollPolicy(concurrency=50),
                on_new_items=SlowHook(),
            )
            harness = Harness(database, poller, feed_server, fetcher, parser)
            for n in range(50):
                feed_server.add(f"/{n}.xml", rss(entries(30, prefix=f"f{n}-")))
                await harness.add_feed(f"feed-{n}", f"/{n}.xml")
            report = await poller.poll_due_feeds(NOW)
    finally:
        await engine.dispose()
    assert [o.error for o in report.outcomes if o.error] == []
    assert report.new_items == 50 * 30


async def test_a_feed_with_nothing_stored_yet_asks_no_dedupe_question(
    harness: Harness, engine: AsyncEngine
) -> None:
    # A first poll (every feed of a new catalog) has nothing to compare against: the look-up
    # of stored keys, links and hashes is skipped, and runs again once the feed has items.
    lookups: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "AS kind" in statement:  # queries.stored_matches
            lookups.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        harness.server.add("/a.xml", rss(entries(3)), etag='"v1"')
        await harness.add_feed("a", "/a.xml")
        first = await harness.poller.poll_due_feeds(NOW)
        after_first = len(lookups)
        harness.server.add("/a.xml", rss(entries(4)), etag='"v2"')
        second = await harness.poller.poll_due_feeds(NOW + timedelta(hours=1))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert (first.new_items, after_first) == (3, 0)
    assert second.new_items == 1  # the three known entries were recognised
    assert len(lookups) == 1
