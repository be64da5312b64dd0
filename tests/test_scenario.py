"""The whole path through the bot: subscribe by chat, a feed publishes, the alert arrives; a
group admin sets a weekly digest, and it arrives when its time comes (the clock passed in)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.tables import Feed
from bot.delivery.alerts import AlertEnqueuer
from bot.delivery.digests import DigestBuilder
from bot.delivery.sender import Sender
from bot.delivery.telegram import TelegramTransport
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from bot.service import ServiceHook
from tests.fakes.botapi import FakeBotAPI
from tests.support.botchat import catalog, chatting
from tests.support.feedserver import FeedServer

USER, GROUP, ADMIN = 5001, -1002003004, 6001
HEADLINE = "EU adopts new sanctions against Belarus over political prisoners"


def rss(*titles: str) -> str:
    """A feed whose items were published a minute ago."""
    when = format_datetime(datetime.now(UTC) - timedelta(minutes=1))
    items = "".join(
        f"<item><guid>{t}</guid><link>https://news.example/{i}</link><title>{t}</title>"
        f"<pubDate>{when}</pubDate></item>"
        for i, t in enumerate(titles)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>W</title>{items}</channel></rss>"
    )


async def test_alert_within_one_poll_and_group_digest_at_its_scheduled_time(
    engine: AsyncEngine, fake_botapi: FakeBotAPI, feed_server: FeedServer
) -> None:
    feed_server.add("/wire.xml", rss("Weather in Minsk"))
    async with chatting(fake_botapi, engine) as chat:
        database = chat.database
        async with database.write() as session:
            session.add(
                Feed(
                    id="wire",
                    url=feed_server.url("/wire.xml"),
                    title="Wire",
                    publisher="independent-media",
                    language="en",
                    scope="belarus",
                    interval_seconds=900,
                    created_at=datetime.now(UTC) - timedelta(days=1),
                    last_success_at=datetime.now(UTC) - timedelta(hours=1),
                )
            )
        # A subscriber sets up by typing.
        for command in ("/lang en", "/subscribe sanctions political-prisoners", "/mode instant"):
            await chat.send(USER, command)
        # The bot joins a group; its admin asks for a weekly digest on Mondays at 09:00 Minsk.
        fake_botapi.set_member(GROUP, ADMIN, "administrator")
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "member", old_status="left")
        await chat.run.reply_to(GROUP)  # the introduction
        await chat.send(GROUP, "/tz Europe/Minsk", from_id=ADMIN)
        await chat.send(GROUP, "/digest weekly mon 09:00", from_id=ADMIN)
        group = await chat.row(GROUP)
        assert group is not None
        assert group.next_digest_at is not None

        # The feed publishes a matching item; one poll later the alert is in the chat.
        feed_server.add("/wire.xml", rss("Weather in Minsk", HEADLINE))
        now = datetime.now(UTC)
        hook = ServiceHook(catalog(), alerts=AlertEnqueuer(catalog().topics))
        async with (
            Fetcher(FetchPolicy(allow_private=True, allow_any_port=True)) as fetcher,
            ParserPool(workers=1) as parser,
        ):
            poller = Poller(
                database=database,
                fetcher=fetcher,
                parser=parser,
                policy=PollPolicy(),
                on_new_items=hook,
                rng=random.Random(3),
            )
            report = await poller.poll_due_feeds(now)
        assert report.new_items == 2
        sender = Sender(database=database, transport=TelegramTransport(fake_botapi.make_bot()))
        await sender.drain(within_seconds=10)
        alerts = [m for m in fake_botapi.messages(USER) if HEADLINE in m.visible]
        assert len(alerts) == 1
        assert "Weather" not in alerts[0].visible
        assert not [m for m in fake_botapi.messages(GROUP) if HEADLINE in m.visible]

        # The digest is not due a minute early, and arrives at its time: once, with the item.
        builder = DigestBuilder(catalog().topics)
        due = group.next_digest_at
        assert await builder.build_due(database=database, now=due - timedelta(minutes=1)) == 0
        # The subscriber's default digest (weekly, Monday 09:00 Minsk) falls due with it.
        assert await builder.build_due(database=database, now=due) == 2
        assert await builder.build_due(database=database, now=due + timedelta(minutes=1)) == 0
        at_due = Sender(
            database=database,
            transport=TelegramTransport(fake_botapi.make_bot()),
            now=lambda: due + timedelta(minutes=1),  # the sender's clock, moved to Monday
        )
        await at_due.drain(within_seconds=10)
        digests = [m for m in fake_botapi.messages(GROUP) if "Weekly digest" in m.visible]
        assert len(digests) == 1
        assert HEADLINE in digests[0].visible
        assert [m.method for m in fake_botapi.messages(GROUP)][-1] == "sendPhoto"
        local = due.astimezone(ZoneInfo("Europe/Minsk"))
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
