"""The poller stores each new item's verdict and topics in the feed's transaction."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.config.catalog import parse_catalog
from bot.db.engine import Database, session_factory
from bot.db.tables import Feed, Item, ItemTopic, Story, Verdict
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from bot.service import new_items_hook
from tests.support.feedserver import FeedServer
from tests.test_poller import rss

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
CATALOG = """
version: 1
feeds:
  - {id: wire, url: "https://example.org/wire.xml", title: Wire, publisher: international,
     language: en, scope: global, interval: 15m}
topics:
  - id: sanctions
    titles: {en: Sanctions, be: Санкцыі, ru: Санкции}
    urgent: true
    rules: ["sanction*", "санкц*"]
aliases:
  belarus: ["Belarus", "Belarusian", "Беларусь"]
context: ["@belarus"]
"""


async def test_poller_stores_verdicts_and_topics_with_the_items(
    engine: AsyncEngine, feed_server: FeedServer
) -> None:
    catalog = parse_catalog(CATALOG)
    feed_server.add(
        "/wire.xml",
        rss(
            [
                ("1", "https://news.example/1", "EU widens sanctions on Belarus"),
                ("2", "https://news.example/2", "US sanctions Iranian shipping firms"),
                ("3", "https://news.example/3", "Weather: a warm week in Vilnius"),
            ]
        ),
    )
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        session.add(
            Feed(
                id="wire",
                url=feed_server.url("/wire.xml"),
                title="Wire",
                publisher="international",
                language="en",
                scope="global",
                interval_seconds=900,
                created_at=NOW,
            )
        )
    policy = FetchPolicy(allow_private=True, allow_any_port=True)
    async with Fetcher(policy) as fetcher, ParserPool(workers=1) as parser:
        poller = Poller(
            database=Database.on(engine),
            fetcher=fetcher,
            parser=parser,
            policy=PollPolicy(),
            on_new_items=new_items_hook(catalog),
            rng=random.Random(1),
        )
        report = await poller.poll_due_feeds(NOW)
    assert report.new_items == 3
    async with sessions() as session:
        stmt = select(col(Item.title), Verdict).join(Verdict, col(Verdict.item_id) == col(Item.id))
        verdicts = {row[0]: row[1] for row in (await session.execute(stmt)).all()}
        topics = (await session.scalars(select(ItemTopic))).all()
    assert len(verdicts) == 3
    eu = verdicts["EU widens sanctions on Belarus"]
    assert (eu.relevant, eu.urgent, eu.themes, eu.recommendations) == (True, True, "sanctions", "")
    assert json.loads(eu.why)[0]["word"] == "sanctions"
    assert eu.matched_at == NOW
    assert not verdicts["US sanctions Iranian shipping firms"].relevant
    assert not verdicts["Weather: a warm week in Vilnius"].relevant
    assert [(t.topic_id) for t in topics] == ["sanctions"]
    assert topics[0].item_id == eu.item_id


async def test_the_same_story_from_two_feeds_gets_one_story_id(
    engine: AsyncEngine, feed_server: FeedServer
) -> None:
    catalog = parse_catalog(CATALOG)
    feed_server.add(
        "/a.xml",
        rss(
            [
                (
                    "a1",
                    "https://a.example/1",
                    "EU sanctions Belarus firms Belaruskali and Belavia",
                )
            ]
        ),
    )
    feed_server.add(
        "/b.xml",
        rss(
            [
                (
                    "b1",
                    "https://b.example/1",
                    "Belaruskali and Belavia hit by new EU sanctions on Belarus",
                ),
                ("b2", "https://b.example/2", "Belarus sanctions: UK targets judges in Hrodna"),
            ]
        ),
    )
    database = Database.on(engine)
    async with database.sessions() as session, session.begin():
        for feed_id in ("a", "b"):
            session.add(
                Feed(
                    id=feed_id,
                    url=feed_server.url(f"/{feed_id}.xml"),
                    title=feed_id,
                    publisher="international",
                    language="en",
                    scope="global",
                    interval_seconds=900,
                    created_at=NOW,
                )
            )
    policy = FetchPolicy(allow_private=True, allow_any_port=True)
    async with Fetcher(policy) as fetcher, ParserPool(workers=1) as parser:
        poller = Poller(
            database=database,
            fetcher=fetcher,
            parser=parser,
            policy=PollPolicy(concurrency=1),
            on_new_items=new_items_hook(catalog),
        )
        await poller.poll_due_feeds(NOW)
    async with database.sessions() as session:
        rows = (await session.execute(select(col(Item.key), col(Item.story_id)))).all()
        stories = (await session.scalars(select(Story))).all()
    story_of = {row[0]: row[1] for row in rows}
    assert story_of["a1"] is not None
    assert story_of["a1"] == story_of["b1"]
    assert story_of["b2"] not in (None, story_of["a1"])
    counts = sorted(s.item_count for s in stories)
    assert counts == [1, 2]
