"""New relevant items become alert rows in the feed's own transaction, for the right chats."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.config.catalog import Catalog, parse_catalog
from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat, Feed, OutboxRow
from bot.delivery.alerts import AlertEnqueuer
from bot.delivery.sender import Sender
from bot.delivery.telegram import TelegramTransport
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from bot.service import ServiceHook
from tests.fakes.botapi import FakeBotAPI, RateLimits
from tests.fakes.botapi_html import parse_html
from tests.support.feedserver import FeedServer
from tests.test_matching_hook import CATALOG

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SANCTIONS = "EU widens sanctions on Belarus"


def rss(titles: Sequence[str], *, published: datetime = NOW - timedelta(hours=1)) -> str:
    """An RSS document, one item per title, all published at `published`."""
    items = "".join(
        f"<item><guid>{i}-{t}</guid><link>https://news.example/{i}</link><title>{t}</title>"
        f"<description>About {t}.</description><pubDate>{format_datetime(published)}</pubDate>"
        "</item>"
        for i, t in enumerate(titles)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>W</title>{items}</channel></rss>"
    )


@dataclass
class World:
    """A database with one feed, a catalog, and a poller factory."""

    database: Database
    catalog: Catalog
    server: FeedServer

    async def add_feed(self, feed_id: str, *, polled_before: bool = True) -> None:
        async with self.database.write() as session:
            session.add(
                Feed(
                    id=feed_id,
                    url=self.server.url(f"/{feed_id}.xml"),
                    title=feed_id.title(),
                    publisher="independent-media",
                    language="en",
                    scope="global",
                    interval_seconds=900,
                    created_at=NOW,
                    last_success_at=NOW - timedelta(hours=2) if polled_before else None,
                )
            )

    async def add_chat(self, chat_id: int, **settings: object) -> int:
        async with self.database.write() as session:
            chat = await chats.add_chat(
                session=session, chat_id=chat_id, kind="private", now=NOW, **settings
            )
            topics = settings.get("follow_all") is False
            if topics:
                await chats.set_topics(session=session, chat_pk=chat.id or 0, topics=["sanctions"])
            return chat.id or 0

    async def poll(self, now: datetime = NOW) -> None:
        policy = FetchPolicy(allow_private=True, allow_any_port=True)
        hook = ServiceHook(self.catalog, alerts=AlertEnqueuer(self.catalog.topics))
        await hook.refresh(self.database)
        async with Fetcher(policy) as fetcher, ParserPool(workers=1) as parser:
            poller = Poller(
                database=self.database,
                fetcher=fetcher,
                parser=parser,
                policy=PollPolicy(),
                on_new_items=hook,
                rng=random.Random(1),
            )
            await poller.poll_due_feeds(now)

    async def alerts(self) -> list[tuple[int, str, str]]:
        async with self.database.read() as session:
            rows = await session.execute(
                select(col(Chat.chat_id), col(OutboxRow.ref), col(OutboxRow.body))
                .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
                .where(col(OutboxRow.kind) == "alert")
                .order_by(col(Chat.chat_id), col(OutboxRow.id))
            )
            return [(c, r, b) for c, r, b in rows]


@pytest.fixture
async def world(engine: AsyncEngine, feed_server: FeedServer) -> World:
    return World(Database.on(engine), parse_catalog(CATALOG), feed_server)


async def test_relevant_items_alert_the_chats_whose_mode_and_topics_want_them(world: World) -> None:
    world.server.add("/wire.xml", rss([SANCTIONS, "Weather in Vilnius"]))
    await world.add_feed("wire")
    await world.add_chat(1, alert_mode="instant")
    await world.add_chat(2, alert_mode="urgent")  # the sanctions topic is urgent
    await world.add_chat(3, alert_mode="digest")
    await world.add_chat(4, alert_mode="instant", paused=True)
    await world.add_chat(5, alert_mode="instant", follow_all=False)  # follows sanctions
    await world.poll()
    alerts = await world.alerts()
    assert [chat for chat, _, _ in alerts] == [1, 2, 5]
    assert all(SANCTIONS in body for _, _, body in alerts)
    assert all(ref.startswith("story:") for _, ref, _ in alerts)
    for _, _, body in alerts:
        parse_html(body)  # valid Telegram HTML, or this raises


async def test_a_personal_keyword_rule_alerts_its_chat_even_outside_the_topics(
    world: World,
) -> None:
    world.server.add("/wire.xml", rss([SANCTIONS, "Weather in Vilnius"]))
    await world.add_feed("wire")
    await world.add_chat(1, alert_mode="urgent", keywords="vilni* OR sanction*")
    await world.add_chat(2, alert_mode="digest", keywords="vilni*")  # digest only: no alert
    await world.add_chat(3, alert_mode="instant", keywords="vilni*", paused=True)
    await world.poll()
    alerts = await world.alerts()
    assert sorted((chat, body.split("</a>")[0].rsplit(">", 1)[-1]) for chat, _, body in alerts) == [
        (1, SANCTIONS),
        (1, "Weather in Vilnius"),
    ]


async def test_a_feed_polled_for_the_first_time_sends_no_alerts(world: World) -> None:
    world.server.add("/wire.xml", rss([SANCTIONS]))
    await world.add_feed("wire", polled_before=False)
    await world.add_chat(1, alert_mode="instant")
    await world.poll()
    assert await world.alerts() == []


async def test_old_news_is_not_an_alert(world: World) -> None:
    world.server.add("/wire.xml", rss([SANCTIONS], published=NOW - timedelta(days=5)))
    await world.add_feed("wire")
    await world.add_chat(1, alert_mode="instant")
    await world.poll()
    assert await world.alerts() == []


async def test_one_story_from_two_outlets_alerts_once(world: World) -> None:
    world.server.add("/wire.xml", rss([SANCTIONS]))
    world.server.add("/post.xml", rss(["EU widens its sanctions against Belarus"]))
    await world.add_feed("wire")
    await world.add_feed("post")
    await world.add_chat(1, alert_mode="instant")
    await world.poll()
    assert len(await world.alerts()) == 1


async def test_polling_again_queues_nothing_new(world: World) -> None:
    world.server.add("/wire.xml", rss([SANCTIONS]))
    await world.add_feed("wire")
    await world.add_chat(1, alert_mode="instant")
    await world.poll()
    async with world.database.write() as session:
        await session.execute(update(Feed).values(next_check_at=None, etag=None, body_hash=None))
    await world.poll(NOW + timedelta(minutes=20))
    assert len(await world.alerts()) == 1


async def test_a_failed_feed_transaction_leaves_neither_items_nor_alerts(world: World) -> None:
    """D39: the alert row commits with the item or not at all; a re-run then alerts once."""
    world.server.add("/wire.xml", rss([SANCTIONS]))
    await world.add_feed("wire")
    chat_pk = await world.add_chat(1, alert_mode="instant")

    queued: list[int] = []

    # The rows are queued, then the feed's transaction dies before its commit.
    class Failing(AlertEnqueuer):
        async def enqueue(self, **kwargs: Any) -> int:
            queued.append(await super().enqueue(**kwargs))
            raise RuntimeError("crash before commit")

    policy = FetchPolicy(allow_private=True, allow_any_port=True)
    async with Fetcher(policy) as fetcher, ParserPool(workers=1) as parser:
        poller = Poller(
            database=world.database,
            fetcher=fetcher,
            parser=parser,
            policy=PollPolicy(),
            on_new_items=ServiceHook(world.catalog, alerts=Failing(world.catalog.topics)),
            rng=random.Random(1),
        )
        await poller.poll_due_feeds(NOW)
    assert queued == [1]
    assert await world.alerts() == []
    async with world.database.write() as session:
        await session.execute(update(Feed).values(next_check_at=None))
    await world.poll(NOW + timedelta(minutes=1))
    alerts = await world.alerts()
    assert len(alerts) == 1
    assert chat_pk


async def test_an_alert_reaches_telegram_as_valid_html_with_its_link(
    world: World, fake_botapi: FakeBotAPI
) -> None:
    world.server.add("/wire.xml", rss([SANCTIONS + " <b>&amp; more</b>"]))
    await world.add_feed("wire")
    await world.add_chat(77, alert_mode="instant", timezone="Europe/Minsk")
    await world.poll()
    # Rows were queued at NOW (in the past): due at once for the real-clock sender.
    fake_botapi.set_rate_limits(RateLimits.disabled())
    sender = Sender(database=world.database, transport=TelegramTransport(fake_botapi.make_bot()))
    await sender.drain(within_seconds=10)
    [message] = fake_botapi.messages(77)
    assert SANCTIONS in message.visible
    assert "Belarus & more" in message.visible  # feed markup dropped, text kept
    assert "https://news.example/0" in (message.text or "")
    assert "10:00" in message.visible  # published 07:00 UTC, shown in Minsk (UTC+3)
