"""The poller's pipeline: 304s pass by, bodies wait their turn, the parser starts early."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.settings import Settings
from bot.db.engine import Database
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import FeedOutcome, PollPolicy, PollReport
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from bot.ingest.types import ParsedFeed
from bot.runtime import poll_policy
from tests.support.feedrows import add_due_feed
from tests.support.feedserver import FeedServer
from tests.test_poller import NOW, entries, rss


class WatchedParser:
    """The real parser pool behind a gate that counts the bodies being parsed at once."""

    def __init__(self, inner: ParserPool, *, hold_seconds: float = 0.0) -> None:
        self.inner = inner
        self.hold_seconds = hold_seconds
        self.in_flight = 0
        self.most = 0
        self.events: list[str] = []
        self.release = asyncio.Event()
        self.release.set()

    async def start(self) -> None:
        self.events.append("start")
        await self.inner.start()

    async def parse(self, body: bytes, **options: Any) -> ParsedFeed:
        self.events.append("parse")
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(self.hold_seconds)
            await self.release.wait()
            return await self.inner.parse(body, **options)
        finally:
            self.in_flight -= 1


@pytest.fixture
async def tools() -> AsyncIterator[tuple[Fetcher, ParserPool]]:
    policy = FetchPolicy(allow_private=True, allow_any_port=True, concurrency=20, per_host=20)
    async with Fetcher(policy) as fetcher, ParserPool(workers=1, timeout=5.0) as parser:
        yield fetcher, parser


def poller_for(
    engine: AsyncEngine, fetcher: Fetcher, parser: WatchedParser, *, max_bodies: int
) -> Poller:
    return Poller(
        database=Database.on(engine),
        fetcher=fetcher,
        parser=parser,
        policy=PollPolicy(concurrency=20, max_bodies=max_bodies, feed_timeout_seconds=10.0),
    )


async def test_no_more_bodies_are_held_than_allowed(
    engine: AsyncEngine, feed_server: FeedServer, tools: tuple[Fetcher, ParserPool]
) -> None:
    fetcher, pool = tools
    parser = WatchedParser(pool, hold_seconds=0.1)
    for n in range(8):
        feed_server.add(f"/{n}.xml", rss(entries(3, prefix=f"f{n}-")))
        await add_due_feed(Database.on(engine), f"feed-{n}", feed_server.url(f"/{n}.xml"), now=NOW)
    report = await poller_for(engine, fetcher, parser, max_bodies=2).poll_due_feeds(NOW)
    assert [o.error for o in report.outcomes if o.error] == []
    assert report.new_items == 8 * 3
    assert parser.most == 2  # the limit, reached and never passed


async def test_a_304_goes_by_while_every_body_place_is_taken(
    engine: AsyncEngine, feed_server: FeedServer, tools: tuple[Fetcher, ParserPool]
) -> None:
    fetcher, pool = tools
    parser = WatchedParser(pool)
    database = Database.on(engine)
    feed_server.add("/busy.xml", rss(entries(2, prefix="a")), etag='"a1"')
    feed_server.add("/quiet.xml", rss(entries(2, prefix="b")), etag='"b1"')
    await add_due_feed(database, "busy", feed_server.url("/busy.xml"), now=NOW)
    await add_due_feed(database, "quiet", feed_server.url("/quiet.xml"), now=NOW)
    poller = poller_for(engine, fetcher, parser, max_bodies=1)
    await poller.poll_due_feeds(NOW)

    # Next cycle: "busy" has changed and its parse holds the only place for a body until
    # "quiet" has been answered 304 and recorded, which must not need that place.
    feed_server.add("/busy.xml", rss(entries(3, prefix="a")), etag='"a2"')
    parser.release.clear()
    seen: list[FeedOutcome] = []

    def progress(outcome: FeedOutcome) -> None:
        seen.append(outcome)
        if outcome.feed_id == "quiet":
            parser.release.set()

    later = NOW + timedelta(hours=1)
    async with asyncio.timeout(10):
        report = await poller.poll_due_feeds(later, progress=progress)
    assert [(o.feed_id, o.status) for o in seen] == [("quiet", "not_modified"), ("busy", "new")]
    assert report.new_items == 1


def test_the_service_takes_both_limits_from_the_settings() -> None:
    policy = poll_policy(Settings(fetch_concurrency=120, fetch_max_bodies=30))
    assert (policy.concurrency, policy.max_bodies) == (120, 30)
    defaults = poll_policy(Settings())
    # Most feeds answer 304 on a given cycle: more requests than bodies keeps them moving.
    assert defaults.concurrency > defaults.max_bodies


def test_a_limit_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bodies"):
        PollPolicy(max_bodies=0)
    with pytest.raises(ValidationError, match="fetch_max_bodies"):
        Settings(fetch_max_bodies=0)


class FailingStart(WatchedParser):
    """A parser whose early start fails; parsing itself still works."""

    async def start(self) -> None:
        self.events.append("start failed")
        raise RuntimeError("no processes today")


async def add_feeds(engine: AsyncEngine, server: FeedServer, count: int) -> None:
    for n in range(count):
        server.add(f"/{n}.xml", rss(entries(2, prefix=f"f{n}-")), etag=f'"{n}"')
        await add_due_feed(Database.on(engine), f"feed-{n}", server.url(f"/{n}.xml"), now=NOW)


async def first_cycle(
    engine: AsyncEngine, server: FeedServer, fetcher: Fetcher, parser: WatchedParser, feeds: int
) -> tuple[Poller, PollReport]:
    """A poller over `feeds` new feeds of two entries each, after its first cycle."""
    await add_feeds(engine, server, feeds)
    poller = poller_for(engine, fetcher, parser, max_bodies=feeds)
    return poller, await poller.poll_due_feeds(NOW)


async def test_a_never_fetched_feed_starts_the_parser_before_its_body_arrives(
    engine: AsyncEngine, feed_server: FeedServer, tools: tuple[Fetcher, ParserPool]
) -> None:
    fetcher, pool = tools
    parser = WatchedParser(pool)
    poller, first = await first_cycle(engine, feed_server, fetcher, parser, 3)
    assert first.new_items == 6
    assert parser.events == ["start", "parse", "parse", "parse"]

    # Every feed has been read once now: a cycle of 304s starts nothing.
    second = await poller.poll_due_feeds(NOW + timedelta(hours=1))
    assert [o.status for o in second.outcomes] == ["not_modified"] * 3
    assert parser.events == ["start", "parse", "parse", "parse"]


async def test_a_failed_early_start_costs_nothing_but_the_attempt(
    engine: AsyncEngine, feed_server: FeedServer, tools: tuple[Fetcher, ParserPool]
) -> None:
    fetcher, pool = tools
    parser = FailingStart(pool)
    _, report = await first_cycle(engine, feed_server, fetcher, parser, 2)
    assert [o.error for o in report.outcomes if o.error] == []
    assert report.new_items == 4
    assert parser.events == ["start failed", "parse", "parse"]
