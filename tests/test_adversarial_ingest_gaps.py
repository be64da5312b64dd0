"""ADVERSARIAL.md A1, A2, A5, A9, A15 and B23: the gaps left by the other ingest tests.

Real parts only: feeds come over loopback HTTP, parsing runs in the real ParserPool workers,
and storage runs on SQLite and PostgreSQL (the `engine` fixture).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col

from bot.config.catalog import parse_catalog
from bot.db import chats, queries
from bot.db.engine import Database
from bot.db.tables import Chat, Feed, Item, OutboxRow
from bot.delivery.alerts import AlertEnqueuer
from bot.errors import ParseError
from bot.ingest import parsepool
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import FeedOutcome, PollPolicy, PollReport
from bot.ingest.parse import parse_feed
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import NewItemsHook, Poller
from bot.service import ServiceHook
from tests.fakes.botapi import FakeBotAPI
from tests.support.botchat import chatting
from tests.support.feeds_gen import billion_laughs, quadratic_blowup, redos_authors
from tests.support.feedserver import FeedServer
from tests.test_matching_hook import CATALOG

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
MIB = 1024 * 1024
# The replacement text of the hostile entities: it must never reach a row, a message or a log.
PAYLOAD = "ENTITYPAYLOADQX"
SANCTIONS = "EU widens sanctions on Belarus"
# What the feedparser spy in the workers puts before every entry title it returns.
SPY_TAG = "[spy:BytesIO] "


# --- documents -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Post:
    """One RSS item."""

    guid: str
    link: str
    title: str
    description: str
    published: datetime = NOW - timedelta(hours=1)


def rss(posts: Sequence[Post], *, prolog: str = "", title: str = "Wire") -> str:
    """An RSS 2.0 document; `prolog` goes between the XML declaration and the root."""
    items = "".join(
        f"<item><guid isPermaLink='false'>{p.guid}</guid><link>{p.link}</link>"
        f"<title>{p.title}</title><description>{p.description}</description>"
        f"<pubDate>{format_datetime(p.published)}</pubDate></item>"
        for p in posts
    )
    return (
        f"<?xml version='1.0' encoding='utf-8'?>{prolog}<rss version='2.0'><channel>"
        f"<title>{title}</title><link>https://news.example/</link>{items}</channel></rss>"
    )


def stories(n: int, prefix: str) -> list[Post]:
    """`n` relevant items (sanctions on Belarus), each with its own guid and link."""
    return [
        Post(
            f"{prefix}{i}",
            f"https://news.example/{prefix}/{i}",
            f"{SANCTIONS}: {prefix} round {i + 10}",
            f"Brussels adds firms to the list, {prefix} {i}.",
        )
        for i in range(n)
    ]


def nested_entity_bomb() -> str:
    """A1: ten levels of ten references over PAYLOAD (10^9 copies), in a relevant item."""
    levels = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    prolog = f'<!DOCTYPE rss [<!ENTITY l0 "{PAYLOAD}">{levels}]>'
    bomb = Post("bomb-1", "https://bomb.example/1", f"{SANCTIONS} &l9;", "&l9;")
    return rss([bomb], prolog=prolog, title="&l9;")


def quadratic_entity_bomb() -> str:
    """A2: one 50 KB entity (PAYLOAD repeated) referenced 10,000 times in a relevant item."""
    entity = PAYLOAD * (50_000 // len(PAYLOAD))
    prolog = f'<!DOCTYPE rss [<!ENTITY a "{entity}">]>'
    bomb = Post("bomb-1", "https://bomb.example/1", f"{SANCTIONS} " + "&a;" * 10_000, "&a;")
    return rss([bomb], prolog=prolog)


# --- a poller on a real database, fed over loopback -------------------------------------------


@dataclass
class Stack:
    """A migrated database, the loopback feed server, and a real fetcher and parser pool."""

    database: Database
    server: FeedServer
    fetcher: Fetcher
    parser: ParserPool

    async def add_feed(self, feed_id: str, url: str, *, polled_before: bool = True) -> None:
        """A feed row; `polled_before` makes its new items alert (a first fetch never does)."""
        async with self.database.write() as session:
            session.add(
                Feed(
                    id=feed_id,
                    url=url,
                    title=feed_id.title(),
                    publisher="independent-media",
                    language="en",
                    scope="global",
                    interval_seconds=900,
                    created_at=NOW - timedelta(days=1),
                    last_success_at=NOW - timedelta(hours=2) if polled_before else None,
                )
            )

    async def serve(self, feed_id: str, body: str | bytes) -> None:
        """Serve `body` at /<feed_id>.xml and add the feed polling it."""
        self.server.add(f"/{feed_id}.xml", body)
        await self.add_feed(feed_id, self.server.url(f"/{feed_id}.xml"))

    async def add_chat(self, chat_id: int, alert_mode: str) -> None:
        """A private chat following every topic."""
        async with self.database.write() as session:
            await chats.add_chat(
                session=session, chat_id=chat_id, kind="private", now=NOW, alert_mode=alert_mode
            )

    def poller(self, hook: NewItemsHook | None = None, *, timeout: float = 10.0) -> Poller:
        """A poller over this stack; `hook` as the service gives it (matching and alerts)."""
        return Poller(
            database=self.database,
            fetcher=self.fetcher,
            parser=self.parser,
            policy=PollPolicy(concurrency=10, feed_timeout_seconds=timeout, failing_after=3),
            on_new_items=hook,
            rng=random.Random(3),
        )

    async def poll_with_alerts(self, now: datetime = NOW) -> PollReport:
        """One cycle with the service's hook: verdicts, stories and alert rows."""
        catalog = parse_catalog(CATALOG)
        hook = ServiceHook(catalog, alerts=AlertEnqueuer(catalog.topics))
        await hook.refresh(self.database)
        return await self.poller(hook).poll_due_feeds(now)

    async def feed(self, feed_id: str) -> Feed:
        """The feed row as stored."""
        async with self.database.read() as session:
            feed = await queries.get_feed(session=session, feed_id=feed_id)
        assert feed is not None
        return feed

    async def titles(self, feed_id: str) -> list[str]:
        """Stored item titles of a feed, in insertion order."""
        async with self.database.read() as session:
            stmt = select(col(Item.title)).where(col(Item.feed_id) == feed_id)
            return list((await session.scalars(stmt.order_by(col(Item.id)))).all())

    async def alerts(self) -> list[tuple[int, str, str]]:
        """Queued alert rows as (chat id, ref, body)."""
        async with self.database.read() as session:
            rows = await session.execute(
                select(col(Chat.chat_id), col(OutboxRow.ref), col(OutboxRow.body))
                .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
                .where(col(OutboxRow.kind) == "alert")
                .order_by(col(Chat.chat_id), col(OutboxRow.id))
            )
            return [(chat, ref, body) for chat, ref, body in rows]

    async def every_stored_value(self) -> str:
        """Every value of every row of every table, as one text (for leak checks)."""
        parts: list[str] = []
        async with self.database.read() as session:
            for table in SQLModel.metadata.sorted_tables:
                rows = (await session.execute(select(table))).all()
                parts.extend(repr(tuple(row)) for row in rows)
        return "\n".join(parts)


@pytest.fixture
async def stack(engine: AsyncEngine, feed_server: FeedServer) -> AsyncIterator[Stack]:
    """A Stack on both backends, with a started one-worker parser pool."""
    policy = FetchPolicy(
        total_timeout=5.0, read_timeout=3.0, connect_timeout=2.0, allow_private=True,
        allow_any_port=True,
    )  # fmt: skip
    async with Fetcher(policy) as fetcher, ParserPool(workers=1, timeout=5.0) as parser:
        await parser.start()
        yield Stack(Database.on(engine), feed_server, fetcher, parser)


# --- A1, A2: entity bombs --------------------------------------------------------------------


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in bytes."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024
    return values


def _reset_peak(pid: int) -> None:
    """Reset a process's VmHWM to its current RSS (Linux clear_refs, value 5)."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")


def _children(pids: set[int]) -> set[int]:
    """Live (not zombie) processes whose parent is one of `pids`."""
    found: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) in pids:
            found.add(int(entry.name))
    return found


def _parser_workers() -> set[int]:
    """Pids of this process's parser workers: the children of its multiprocessing fork server."""
    servers = set()
    for pid in _children({os.getpid()}):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"forkserver" in cmdline:
            servers.add(pid)
    return _children(servers)


async def _worker_peak_growth(parser: ParserPool, worker: int, body: bytes) -> tuple[str, int]:
    """Parse `body` in the pool; the ParseError reason and the worker's peak RSS growth."""
    _reset_peak(worker)
    before = _status(worker)["VmRSS"]
    with pytest.raises(ParseError) as caught:
        await parser.parse(
            body, url="https://feeds.example/rss", headers={}, now=NOW, language="en",
            max_entries=500,
        )  # fmt: skip
    return caught.value.reason, _status(worker)["VmHWM"] - before


@pytest.mark.parametrize("bomb", [billion_laughs, quadratic_blowup], ids=["A1", "A2"])
async def test_entity_bomb_keeps_the_parse_workers_real_rss_small(
    bomb: Callable[[], bytes],
) -> None:
    """A1/A2: the worker's peak RSS (/proc VmHWM) grows < 50 MiB on the bomb, in < 2 s."""
    before = _parser_workers()
    async with ParserPool(workers=1, timeout=10.0) as parser:
        await parser.start()
        [worker] = _parser_workers() - before
        started = time.perf_counter()
        reason, growth = await _worker_peak_growth(parser, worker, bomb())
        elapsed = time.perf_counter() - started
        # Control: the same measurement does see a worker holding a 64 MiB body.
        control, control_growth = await _worker_peak_growth(
            parser, worker, b" " * (64 * MIB) + b"{}"
        )
        assert _parser_workers() - before == {worker}  # one worker, measured throughout
    assert reason == "xml_entities_forbidden"
    assert elapsed < 2.0
    assert growth < 50 * MIB
    assert control == "not_a_feed"
    assert control_growth > 50 * MIB


@pytest.mark.parametrize("bomb", [nested_entity_bomb, quadratic_entity_bomb], ids=["A1", "A2"])
async def test_entity_bomb_feed_is_marked_and_its_text_reaches_no_row_message_or_log(
    stack: Stack, bomb: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    """A1/A2 via the poller: bomb feed errored, neighbour alerts, PAYLOAD stored nowhere."""
    caplog.set_level(logging.DEBUG)
    await stack.serve("bomb", bomb())
    await stack.serve("ok", rss(stories(2, "ok")))
    await stack.add_chat(1, "instant")
    report = await stack.poll_with_alerts()
    by_id = {o.feed_id: o for o in report.outcomes}
    assert by_id["ok"].new_items == 2
    assert by_id["bomb"].status == "error"
    assert by_id["bomb"].seconds < 2.0
    feed = await stack.feed("bomb")
    assert (feed.last_error_reason, feed.consecutive_errors) == ("xml_entities_forbidden", 1)
    assert feed.last_error == "xml_entities_forbidden: the document declares XML entities"
    assert await stack.titles("bomb") == []
    # The neighbour's alerts were queued, so outbox bodies exist to be searched.
    alerts = await stack.alerts()
    assert len(alerts) == 2
    assert all(SANCTIONS in body for _, _, body in alerts)
    stored = await stack.every_stored_value()
    assert f"{SANCTIONS}: ok round 10" in stored  # the dump does hold item text
    for entity_text in (PAYLOAD, "&l9;", "&a;"):  # neither expanded nor left as a reference
        assert entity_text not in stored
        assert entity_text not in caplog.text


# --- A5: ReDoS author ------------------------------------------------------------------------


async def test_redos_feed_is_killed_and_marked_while_the_bot_answers_start(
    engine: AsyncEngine, feed_server: FeedServer, fake_botapi: FakeBotAPI
) -> None:
    """A5: ReDoS feed ends parse_timeout, others store; /start answered in < 1 s meanwhile."""
    policy = FetchPolicy(allow_private=True, allow_any_port=True)
    done: dict[str, FeedOutcome] = {}
    healthy = asyncio.Event()

    def progress(outcome: FeedOutcome) -> None:
        done[outcome.feed_id] = outcome
        if {"ok1", "ok2"} <= done.keys():
            healthy.set()

    async with (
        Fetcher(policy) as fetcher,
        ParserPool(workers=2, timeout=2.0) as parser,
        chatting(fake_botapi, engine) as chat,
    ):
        await parser.start()
        stack = Stack(Database.on(engine), feed_server, fetcher, parser)
        await stack.serve("redos", redos_authors())
        await stack.serve("ok1", rss(stories(3, "a")))
        await stack.serve("ok2", rss(stories(2, "b")))
        started = time.perf_counter()
        cycle = asyncio.create_task(stack.poller().poll_due_feeds(NOW, progress=progress))
        await asyncio.wait_for(healthy.wait(), timeout=5)
        assert "redos" not in done  # its parse is still running in the other worker
        asked = time.perf_counter()
        reply = await chat.send(4242, "/start")
        answered = time.perf_counter() - asked
        assert "redos" not in done  # answered while the ReDoS parse was still running
        report = await cycle
        elapsed = time.perf_counter() - started
    assert answered < 1.0
    assert reply.visible
    assert 1.9 < elapsed < 8.0
    by_id = {o.feed_id: o for o in report.outcomes}
    assert by_id["redos"].status == "error"
    assert by_id["redos"].error is not None
    assert by_id["redos"].error.reason == "parse_timeout"
    assert (by_id["ok1"].new_items, by_id["ok2"].new_items) == (3, 2)
    feed = await stack.feed("redos")
    assert (feed.last_error_reason, feed.consecutive_errors) == ("parse_timeout", 1)
    assert feed.last_error == "parse_timeout: no result within 2 s"
    assert await stack.titles("redos") == []


# --- A9: malformed XML -----------------------------------------------------------------------


async def test_malformed_feed_logs_one_bozo_line_with_its_id_and_no_traceback(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A9: the poller logs one INFO bozo line naming the feed, without a traceback."""
    caplog.set_level(logging.INFO)
    first = "</title><description>Brussels adds firms to the list, m 0."
    broken = rss(stories(3, "m")).replace(first, first.removeprefix("</title>"))
    assert broken.count("</title>") == 3  # the first item's title is left unclosed
    await stack.serve("broken-feed", broken)
    await stack.serve("fine-feed", rss(stories(2, "f")))
    report = await stack.poller().poll_due_feeds(NOW)
    by_id = {o.feed_id: o for o in report.outcomes}
    assert by_id["broken-feed"].status == "new"
    assert by_id["broken-feed"].new_items == 3  # the loose parser still read every item
    assert by_id["fine-feed"].new_items == 2
    bozo = [r for r in caplog.records if "malformed XML" in r.getMessage()]
    assert len(bozo) == 1
    [record] = bozo
    assert record.name == "bot.ingest.poller"
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert message.startswith("feed=broken-feed malformed XML read loosely: ")
    note = message.split(": ", 1)[1]
    assert "mismatched tag" in note
    assert len(note) <= 200  # the parser's short note, not a dump
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (await stack.feed("broken-feed")).consecutive_errors == 0


# --- A15: 50 items sharing one GUID and link, at the alert level --------------------------------


def live_blog(count: int, *, start: int = 0) -> list[Post]:
    """`count` distinct relevant updates, all under one guid and one link (a live page)."""
    return [
        Post(
            "live-1",
            "https://news.example/live?utm_source=rss",
            f"Update {n + 10}: {SANCTIONS}",
            f"Entry {n + 10} of the live page.",
            NOW - timedelta(minutes=n + 1),
        )
        for n in range(start, start + count)
    ]


async def test_fifty_shared_guid_items_each_alert_once_and_a_repoll_adds_none(
    stack: Stack,
) -> None:
    """A15: 50 updates under one guid/link give 50 alerts per alerting chat; re-polls add 0."""
    await stack.serve("live", rss(live_blog(50)))
    await stack.add_chat(1, "instant")
    await stack.add_chat(2, "urgent")  # the sanctions topic is urgent
    await stack.add_chat(3, "digest")  # never alerted
    report = await stack.poll_with_alerts()
    assert report.new_items == 50
    alerts = await stack.alerts()
    expected = {f"Update {n + 10}: {SANCTIONS}" for n in range(50)}
    for chat_id in (1, 2):
        mine = [(ref, body) for chat, ref, body in alerts if chat == chat_id]
        assert len(mine) == 50
        assert len({ref for ref, _ in mine}) == 50  # one story each: nothing merged
        shown = {title for title in expected for _, body in mine if title in body}
        assert shown == expected  # every update is alerted (none suppressed)
        for title in expected:  # ...and once ("Update 1x" is not a prefix of another)
            assert sum(title in body for _, body in mine) == 1
    assert [chat for chat, _, _ in alerts if chat not in (1, 2)] == []
    # The same page again (a new body, so it is parsed again): nothing new, no alert.
    stack.server.add("/live.xml", rss(live_blog(50)) + "\n")
    async with stack.database.write() as session:
        await session.execute(update(Feed).values(next_check_at=None))
    report = await stack.poll_with_alerts(NOW + timedelta(minutes=20))
    assert [o.status for o in report.outcomes] == ["unchanged"]
    assert await stack.alerts() == alerts
    assert len(await stack.titles("live")) == 50


async def _live_page_polled_twice(stack: Stack) -> PollReport:
    """Poll the 50-update page, then the page with one more update on top, 20 minutes later."""
    await stack.serve("live", rss(live_blog(50)))
    await stack.add_chat(1, "instant")
    await stack.poll_with_alerts()
    stack.server.add("/live.xml", rss(live_blog(1, start=50) + live_blog(50)))
    async with stack.database.write() as session:
        await session.execute(update(Feed).values(next_check_at=None))
    return await stack.poll_with_alerts(NOW + timedelta(minutes=20))


async def test_a_later_update_under_the_shared_guid_and_link_is_stored(stack: Stack) -> None:
    """A15: a 51st update on the next poll is stored, not taken for a re-served link."""
    report = await _live_page_polled_twice(stack)
    assert [(o.status, o.new_items) for o in report.outcomes] == [("new", 1)]
    titles = await stack.titles("live")
    assert len(titles) == len(set(titles)) == 51
    assert titles[-1] == f"Update 60: {SANCTIONS}"


async def test_a_later_update_under_the_shared_guid_and_link_is_alerted(stack: Stack) -> None:
    """A15: the 51st update, new on the next poll, gets its own alert like the first 50."""
    await _live_page_polled_twice(stack)
    alerts = await stack.alerts()
    assert len(alerts) == 51
    assert f"Update 60: {SANCTIONS}" in alerts[-1][2]


# --- B23: feedparser only ever receives a BytesIO ----------------------------------------------


# Source of the parser workers' initializer in the B23 poller test. It is shipped as text
# (see _WorkerSpy) so a worker need not import this test module, which imports aiogram and
# takes seconds to load. It applies the real limits, then replaces feedparser.parse in the
# worker with a spy that refuses anything but a BytesIO (the parse then fails with
# parse_failed) and tags the entry titles it returns, so stored items show the spy ran.
_SPY_SOURCE = """
import io
import feedparser
from bot.ingest import parsepool

def init(memory_headroom):
    parsepool._limit_worker(memory_headroom)  # the worker's own, unpatched module
    real = feedparser.parse

    def spy(source, *args, **kwargs):
        if type(source) is not io.BytesIO:
            raise TypeError("feedparser.parse got " + type(source).__name__)
        result = real(source, *args, **kwargs)
        for entry in result.entries:
            entry["title"] = TAG + entry.get("title", "")
        return result

    feedparser.parse = spy
"""


class _WorkerSpy:
    """Stands in for parsepool._limit_worker; unpickled in a worker as _SPY_SOURCE's init."""

    def __reduce__(self) -> tuple[Callable[[str], Any], tuple[str]]:
        namespace = {"TAG": SPY_TAG}
        return (eval, (f"(lambda g: (exec({_SPY_SOURCE!r}, g), g['init'])[1])({namespace!r})",))

    def __call__(self, memory_headroom: int) -> None:
        raise AssertionError("only ever called in a parser worker, as _SPY_SOURCE's init")


_opened: list[str] = []
_watched: list[str] = []
_AUDIT_INSTALLED: list[Callable[[str, tuple[Any, ...]], None]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _watched and args and any(w in str(args[0]) for w in _watched):
        _opened.append(str(args[0]))


@pytest.fixture
def tripwire(tmp_path: Path) -> Iterator[Path]:
    """A file no feed may read; opening it in this process is recorded in `_opened`."""
    path = tmp_path / "tripwire.xml"
    path.write_text(rss(stories(1, "TRIPWIRE")))
    if _audit not in _AUDIT_INSTALLED:  # audit hooks cannot be removed: install once
        sys.addaudithook(_audit)
        _AUDIT_INSTALLED.append(_audit)
    _opened.clear()
    _watched[:] = [str(path), "/etc/passwd"]
    yield path
    _watched.clear()


async def test_poller_worker_hands_feedparser_only_a_bytesio(
    engine: AsyncEngine,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    tripwire: Path,
) -> None:
    """B23 on the poller's path: in the real worker feedparser gets BytesIO; bad URLs none."""
    monkeypatch.setattr(parsepool, "_limit_worker", _WorkerSpy())
    policy = FetchPolicy(allow_private=True, allow_any_port=True)
    async with Fetcher(policy) as fetcher, ParserPool(workers=1, timeout=5.0) as parser:
        await parser.start()  # the worker starts with the spy installed
        stack = Stack(Database.on(engine), feed_server, fetcher, parser)
        await stack.serve("rss", rss(stories(2, "r")))
        atom = (
            "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>A</title>"
            "<entry><id>urn:a:1</id><title>Atom story</title>"
            "<link href='https://news.example/atom/1'/><updated>2026-06-01T07:00:00Z</updated>"
            "</entry></feed>"
        )
        await stack.serve("atom", atom)
        feed_server.add("/bait.xml", rss(stories(1, "bait")))
        hostile = {
            "file": tripwire.as_uri(),
            "path": str(tripwire),
            "passwd": "/etc/passwd",
            "dotenv": "../.env",
            "ftp": "ftp://127.0.0.1/feed.xml",
            "gopher": "gopher://127.0.0.1/1",
            "feed": "feed:" + feed_server.url("/bait.xml"),
        }
        for feed_id, url in hostile.items():
            await stack.add_feed(feed_id, url)
        report = await stack.poller().poll_due_feeds(NOW)
        by_id = {o.feed_id: o for o in report.outcomes}
        assert (by_id["rss"].new_items, by_id["atom"].new_items) == (2, 1)
        assert await stack.titles("rss") == [
            SPY_TAG + f"{SANCTIONS}: r round {i}" for i in (10, 11)
        ]
        assert await stack.titles("atom") == [SPY_TAG + "Atom story"]
        for feed_id in hostile:
            outcome = by_id[feed_id]
            assert outcome.error is not None
            assert outcome.error.reason == "bad_scheme", feed_id
            assert await stack.titles(feed_id) == []
    assert feed_server.hits("/bait.xml") == 0
    assert _opened == []


def _recording_parse(calls: list[object]) -> Callable[..., Any]:
    real = feedparser.parse

    def spy(source: object, *args: Any, **kwargs: Any) -> Any:
        calls.append(source)
        return real(source, *args, **kwargs)

    return spy


@pytest.mark.parametrize(
    "body",
    [
        b"http://127.0.0.1:9/rss.xml",
        b"https://feeds.example/rss",
        b"file:///etc/passwd",
        b"/etc/passwd",
        b"../.env",
        b"feed:http://127.0.0.1/",
        b"  \n/etc/passwd",
    ],
)
def test_a_body_that_is_a_url_or_a_path_never_reaches_feedparser(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B23: a body naming a URL or a file is refused before feedparser is called at all."""
    calls: list[object] = []
    monkeypatch.setattr(feedparser, "parse", _recording_parse(calls))
    with pytest.raises(ParseError) as caught:
        parse_feed(body, url="https://feeds.example/rss", headers={}, now=NOW, language="en")
    assert caught.value.reason == "not_a_feed"
    assert calls == []


@pytest.mark.parametrize(
    "body",
    [
        rss(stories(2, "u")).encode(),
        "\ufeff".encode("utf-16-le") + rss(stories(1, "w")).encode("utf-16-le"),
        rss([Post("c", "https://n.example/c", "Санкции", "Лукашенко")])
        .replace("utf-8", "windows-1251")
        .encode("cp1251"),
    ],
    ids=["utf8", "utf16", "cp1251"],
)
def test_feedparser_receives_the_prepared_utf8_bytes_in_a_bytesio(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B23: parse_feed calls feedparser once, with a BytesIO of UTF-8 bytes, never a str."""
    calls: list[object] = []
    monkeypatch.setattr(feedparser, "parse", _recording_parse(calls))
    parsed = parse_feed(body, url="https://feeds.example/rss", headers={}, now=NOW, language="ru")
    assert parsed.entries
    [source] = calls
    assert type(source) is io.BytesIO
    text = source.getvalue().decode("utf-8")  # what it held: the document as UTF-8
    assert "<rss version='2.0'>" in text
