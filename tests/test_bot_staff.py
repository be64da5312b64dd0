"""Staff commands end to end: the real Dispatcher, the fake Bot API, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.catalog import Catalog
from bot.db import audit, chats, queries
from bot.db.engine import Database
from bot.db.tables import Feed, Item, OutboxRow
from bot.ingest.outcomes import PollPolicy
from bot.ingest.poller import Poller
from bot.ingest.types import BodyAdmission, Entry, FetchResult, ParsedFeed, Validators
from bot.service import new_items_hook
from bot.staff import feeds as staff_feeds
from tests.fakes.botapi import FakeBotAPI
from tests.support.feedserver import FeedServer
from tests.support.staffkit import (
    OTHER_STAFF,
    STAFF,
    StaffKit,
    rss,
    settings,
    snapshot,
    staff_bot,
    staff_feed,
)
from tests.support.staffkit import catalog as staff_catalog

REPO = Path(__file__).resolve().parents[1]
FEED_TITLES = [
    "EU widens sanctions on Belarusian potash",
    "Weather in Vilnius",
    "Court orders extradition of activist",
]


@pytest.fixture
async def kit(fake_botapi: FakeBotAPI, engine: AsyncEngine) -> AsyncIterator[StaffKit]:
    async with staff_bot(fake_botapi, engine) as running:
        yield running


async def test_feed_add_test_fetches_shows_matches_and_stores_an_audited_staff_feed(
    kit: StaffKit, feed_server: FeedServer
) -> None:
    feed_server.add("/wire.xml", rss(FEED_TITLES))
    url = feed_server.url("/wire.xml")
    fetching, added = await kit.send_expecting(STAFF, f"/feed_add {url} ngo ru belarus", 2)
    assert "Test-fetching 127.0.0.1:" in fetching.visible
    assert "Added feed 127-0-0-1: Loopback News" in added.visible
    assert "3 entries" in added.visible
    assert "EU widens sanctions on Belarusian potash → sanctions" in added.visible
    assert "Weather in Vilnius → no topic" in added.visible
    assert "extradition of activist → extradition" in added.visible
    feed = (await kit.feeds())["127-0-0-1"]
    assert (feed.origin, feed.publisher, feed.language, feed.scope, feed.enabled) == (
        "staff",
        "ngo",
        "ru",
        "belarus",
        True,
    )
    [entry] = await kit.audit("feed.add")
    assert entry.staff_id == STAFF
    assert entry.target == "feed:127-0-0-1"
    assert entry.before is None
    assert snapshot(entry.after) == {**(snapshot(entry.after) or {}), "url": url, "origin": "staff"}

    # The same feed written differently (host case, a tracking parameter) is a duplicate,
    # refused before any fetch.
    hits = feed_server.hits("/wire.xml")
    again = url.replace("127.0.0.1", "127.0.0.1.") + "?utm_source=x"
    duplicate = await kit.send(STAFF, f"/feed_add {again}")
    assert "already there as 127-0-0-1" in duplicate.visible
    assert feed_server.hits("/wire.xml") == hits
    assert len(await kit.feeds()) == 2
    assert len(await kit.audit("feed.add")) == 1


async def test_concurrent_duplicate_adds_store_one_row(
    kit: StaffKit, feed_server: FeedServer
) -> None:
    feed_server.add("/race.xml", rss(FEED_TITLES))
    url = feed_server.url("/race.xml")
    # Two staff members add the same feed at once: both pass the first check and fetch it.
    kit.server.push_message(STAFF, f"/feed_add {url}")
    kit.server.push_message(OTHER_STAFF, f"/feed_add {url}")
    answers = []
    for chat in (STAFF, OTHER_STAFF):
        for _ in range(2):
            answers.append((await kit.run.reply_to(chat, within=30)).visible)
    finals = [a for a in answers if not a.startswith("Test-fetching")]
    assert sum("Added feed" in a for a in finals) == 1
    assert sum("already there as 127-0-0-1" in a for a in finals) == 1
    added = [f for f in (await kit.feeds()).values() if f.origin == "staff"]
    assert len(added) == 1
    assert len(await kit.audit("feed.add")) == 1


async def test_private_urls_are_refused_at_add_time_without_a_connection(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    accepted = 0

    async def count(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    targets = [
        f"http://127.0.0.1:{port}/feed",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://2130706433:{port}/",
        f"http://localhost:{port}/",
        "http://127.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "file:///etc/passwd",
        "https://user:pass@example.com/feed",
    ]
    try:
        async with staff_bot(fake_botapi, engine, config=settings(allow_private=False)) as kit:
            before = await kit.state()
            for target in targets:
                answer = await kit.send(STAFF, f"/feed_add {target}")
                assert answer.visible.startswith("This URL cannot be added:"), target
            assert (
                "not a public address"
                in (await kit.send(STAFF, "/feed_add http://10.0.0.5/")).visible
            )
            assert await kit.state() == before
    finally:
        listener.close()
        await listener.wait_closed()
    assert accepted == 0


async def test_idn_hosts_are_shown_in_punycode(kit: StaffKit) -> None:
    # A Cyrillic "о": the answer names the real (punycode) host. `.invalid` never resolves.
    notice, failed = await kit.send_expecting(STAFF, "/feed_add https://gоv.invalid/rss", 2)
    assert "Test-fetching xn--gv-" in notice.visible
    assert "contains non-ASCII letters" in notice.visible
    assert failed.visible.startswith("The test fetch failed")
    assert len(await kit.feeds()) == 1


async def test_pause_resume_and_remove_are_audited_with_before_and_after(kit: StaffKit) -> None:
    now = datetime.now(UTC)
    async with kit.database.write() as session:
        session.add(staff_feed("wire", "https://wire.example/rss", now))
        await session.flush()
        item = Item(
            feed_id="wire",
            key="k1",
            title="EU sanctions",
            summary="",
            published_at=now,
            first_seen_at=now,
            language="en",
            content_hash="h1",
        )
        session.add(item)
        chat = await chats.add_chat(session=session, chat_id=777001, kind="private", now=now)
        await session.flush()
        assert chat.id is not None
        assert item.id is not None
        session.add(
            OutboxRow(
                chat_pk=chat.id,
                kind="alert",
                ref=f"item:{item.id}",
                body="x",
                next_attempt_at=now,
                created_at=now,
            )
        )

    assert "paused" in (await kit.send(STAFF, "/feed_pause wire")).visible
    assert "already paused" in (await kit.send(STAFF, "/feed_pause wire")).visible
    assert (await kit.feeds())["wire"].enabled is False
    assert "resumed" in (await kit.send(STAFF, "/feed_resume wire")).visible
    assert (await kit.feeds())["wire"].enabled is True
    removed = await kit.send(STAFF, "/feed_remove wire")
    assert "removed with 1 stored items" in removed.visible
    assert "wire" not in await kit.feeds()
    assert await kit.count(Item) == 0
    assert await kit.count(OutboxRow) == 0

    pause, resume, remove = [
        (await kit.audit(a))[0] for a in ("feed.pause", "feed.resume", "feed.remove")
    ]
    assert (snapshot(pause.before) or {})["enabled"] is True
    assert (snapshot(pause.after) or {})["enabled"] is False
    assert (snapshot(resume.before) or {})["enabled"] is False
    assert (snapshot(resume.after) or {})["enabled"] is True
    assert (snapshot(remove.before) or {})["items"] == 1
    assert remove.after is None
    assert {e.staff_id for e in (pause, resume, remove)} == {STAFF}

    # feeds.yaml's own feed would come back at the next start: pausing is the way.
    refused = await kit.send(STAFF, "/feed_remove yaml-feed")
    assert "comes from feeds.yaml" in refused.visible
    assert "no feed nope" in (await kit.send(STAFF, "/feed_pause nope")).visible.lower()


async def test_feeds_shows_a_paged_monospace_health_table(kit: StaffKit) -> None:
    now = datetime.now(UTC)
    async with kit.database.write() as session:
        for n in range(150):
            feed = staff_feed(f"feed-{n:03d}-<b>", f"https://f{n}.example/rss", now)
            feed.id = f"feed-{n:03d}"
            feed.last_error_reason = "http_404" if n % 2 else None
            session.add(feed)
    pages = await kit.send_expecting(STAFF, "/feeds", 2)
    assert all(p.text and p.text.count("<pre>") == 1 and len(p.text) <= 4096 for p in pages)
    shown = "\n".join(p.visible for p in pages)
    assert "yaml-feed" in shown
    assert "feed-149" in shown
    assert "http_404" in shown
    # Without a pipeline in this process (tests, a bot-only deployment) nothing is polled.
    assert "No poller runs" in (await kit.send(STAFF, "/poll_now")).visible


async def test_a_unique_index_race_is_the_same_clear_duplicate_error(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.db import feedadmin
    from bot.staff import StaffError

    database = Database.on(engine)
    now = datetime.now(UTC)
    request = staff_feeds.parse_request(["https://wire.example/rss"], settings())
    await staff_feeds.add_feed(
        database=database, staff_id=STAFF, request=request, title="W", now=now
    )

    async def nothing_found(**_kwargs: object) -> None:
        return None

    # Another writer committed between our check and our insert (E47): only the index knows.
    monkeypatch.setattr(feedadmin, "feed_with_same_url", nothing_found)
    with pytest.raises(StaffError) as raised:
        await staff_feeds.add_feed(
            database=database, staff_id=OTHER_STAFF, request=request, title="W", now=now
        )
    assert raised.value.code == "duplicate"
    async with database.read() as session:
        assert [f.id for f in await queries.list_feeds(session=session)] == ["wire-example"]
        assert len(await audit.recent(session=session)) == 1  # the loser left no audit row


NO_VALIDATORS = Validators()


class _FetchThenRemove:
    """A fetcher whose fetch races a staff /feed_remove that commits before the store."""

    def __init__(self, database: Database, cat: Catalog) -> None:
        self.database = database
        self.catalog = cat

    async def fetch(
        self,
        url: str,
        validators: Validators = NO_VALIDATORS,
        *,
        admit_body: BodyAdmission | None = None,
    ) -> FetchResult:
        if admit_body is not None:
            await admit_body()
        await staff_feeds.remove(
            database=self.database,
            catalog=self.catalog,
            staff_id=STAFF,
            feed_id="wire",
            now=datetime.now(UTC),
        )
        return FetchResult(url, url, 200, b"<rss/>", {}, Validators(), "hash")


class _OneEntryParser:
    async def start(self) -> None:
        pass  # nothing to start

    async def parse(self, body: bytes, **_kwargs: object) -> ParsedFeed:
        now = datetime.now(UTC)
        entry = Entry(
            "g1", "g1", "https://wire.example/1", "New EU sanctions on Belarus", "", now, "en", "h1"
        )
        return ParsedFeed("Wire", None, [entry])


async def test_a_feed_removed_while_it_is_polled_stores_and_alerts_nothing(
    engine: AsyncEngine,
) -> None:
    database, cat = Database.on(engine), staff_catalog()
    now = datetime.now(UTC)
    async with database.write() as session:
        feed = staff_feed("wire", "https://wire.example/rss", now)
        feed.last_success_at = now - timedelta(hours=1)  # not a backlog: would alert at once
        session.add(feed)
        await chats.add_chat(
            session=session, chat_id=777002, kind="private", now=now, alert_mode="instant"
        )
    async with database.read() as session:
        polled = await session.get(Feed, "wire")
    assert polled is not None
    poller = Poller(
        database=database,
        fetcher=_FetchThenRemove(database, cat),
        parser=_OneEntryParser(),
        policy=PollPolicy(),
        on_new_items=new_items_hook(cat),
    )
    outcome = await poller.poll_feed(polled, now)  # no exception escapes the cycle
    assert outcome.status == "error"
    async with database.read() as session:
        assert await session.get(Feed, "wire") is None
    assert await _count(database, Item) == 0
    assert await _count(database, OutboxRow) == 0


async def _count(database: Database, table: type[Item] | type[OutboxRow]) -> int:
    async with database.read() as session:
        return len((await session.scalars(select(table))).all())
