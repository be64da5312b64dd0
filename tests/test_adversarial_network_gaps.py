"""Adversarial network cases the other files leave open (ADVERSARIAL A8, D44, B20, B22, C34).

Real parts throughout: loopback HTTP and TLS servers, the real Fetcher, ParserPool, Poller,
APScheduler and aiogram, and SQLite and PostgreSQL through the `database_url` fixture.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import select
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp.connector
import pytest
from aiogram import Bot
from aiohttp import web
from aiohttp.abc import ResolveResult
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from bot.config.settings import Settings
from bot.db import queries
from bot.db.engine import Database
from bot.db.tables import Feed, Item
from bot.delivery.outbox import FAILED, PENDING, SENDING, SENT
from bot.delivery.policy import BACKOFF_BASE_SECONDS
from bot.delivery.telegram import TelegramTransport
from bot.delivery.transport import Sent
from bot.errors import BlockedURLError
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy, PollReport
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from bot.ingest.types import Entry, FetchResult, ParsedFeed
from bot.jobs import add_poll_job, build_scheduler
from bot.telegram.runner import make_bot
from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotAPI
from tests.support.fakedns import FakeResolver
from tests.support.feedrows import add_due_feed
from tests.support.feedserver import FeedServer
from tests.support.outbox import add_chats, all_rows, make_sender, queue

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
PUBLIC_IP = "93.184.215.14"  # a global address the guard accepts; the test network routes it
FEED_HOST = "feeds.example"  # a "public" name mapped to the loopback servers (allowed host)
USER = 7_301_555_001


def rss(prefix: str, count: int) -> str:
    """An RSS 2.0 document with `count` items whose guids start with `prefix`."""
    items = "".join(
        f"<item><guid isPermaLink='false'>{prefix}{n}</guid>"
        f"<link>https://news.example/{prefix}/{n}</link><title>Story {prefix}{n}</title>"
        f"<description>About {prefix}{n}.</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=n + 1))}</pubDate></item>"
        for n in range(count)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{prefix}</title>{items}</channel></rss>"
    )


async def add_feed(database: Database, feed_id: str, url: str, *, interval: int = 900) -> None:
    """Store one enabled feed that is due now."""
    await add_due_feed(database, feed_id, url, now=NOW, interval=interval)


async def stored_feed(database: Database, feed_id: str) -> Feed:
    """The feed row as stored now."""
    async with database.read() as session:
        feed = await queries.get_feed(session=session, feed_id=feed_id)
    assert feed is not None
    return feed


async def item_count(database: Database, feed_id: str) -> int:
    """How many items are stored for a feed."""
    async with database.read() as session:
        stmt = sql_select(func.count()).select_from(Item).where(col(Item.feed_id) == feed_id)
        return int((await session.execute(stmt)).scalar_one())


def loopback_policy(**overrides: Any) -> FetchPolicy:
    """A fetch policy for loopback servers (guard off unless a test turns it on)."""
    values: dict[str, Any] = {
        "total_timeout": 5.0,
        "read_timeout": 5.0,
        "connect_timeout": 2.0,
        "allow_private": True,
        "allow_any_port": True,
    }
    values.update(overrides)
    return FetchPolicy(**values)


def guarded_fetcher(table: Mapping[str, list[list[str]]] | None = None) -> Fetcher:
    """A Fetcher with the SSRF guard on; FEED_HOST is the allowed test host on loopback."""
    resolver = FakeResolver({FEED_HOST: [["127.0.0.1"]], **(table or {})})
    return Fetcher(
        loopback_policy(allow_private=False), resolver=resolver, allowed_hosts=[FEED_HOST]
    )


async def wait_for(condition: Callable[[], Awaitable[bool]], *, within: float) -> None:
    """Await `condition` every 20 ms until it holds; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


@pytest.fixture
def database(engine: AsyncEngine) -> Database:
    """The test's migrated database (SQLite and PostgreSQL)."""
    return Database.on(engine)


@pytest.fixture
async def parser() -> AsyncIterator[ParserPool]:
    """A started one-worker parser pool (started here so no timing below pays for it)."""
    async with ParserPool(workers=1, timeout=5.0) as pool:
        await pool.start()
        yield pool


@pytest.fixture
async def lazy_parser() -> AsyncIterator[ParserPool]:
    """A parser pool whose worker starts only if something is parsed."""
    async with ParserPool(workers=1, timeout=5.0) as pool:
        yield pool


# --- A8 / D44: the scheduler keeps polling while a cycle hangs ---------------------------------


@dataclass
class PollRun:
    """One run of the scheduled poll job: loop times and what it polled."""

    started: float
    ended: float
    report: PollReport


LOST_RUN_EVENTS = {
    EVENT_JOB_MAX_INSTANCES: "skipped: max instances",
    EVENT_JOB_MISSED: "missed",
    EVENT_JOB_ERROR: "raised",
}


@dataclass
class SchedulerWatch:
    """APScheduler's signals of a run that was lost or failed."""

    events: list[str] = field(default_factory=list)

    def on_event(self, event: Any) -> None:
        """Scheduler listener: record what happened."""
        self.events.append(LOST_RUN_EVENTS[event.code])


TICK = 0.3  # poll interval in the scheduler test
DRIP_TIMEOUT = 1.2  # the fetcher's total timeout; the dripping feed holds a cycle this long


async def test_a_dripping_feed_holds_a_cycle_but_no_scheduled_poll_is_skipped(
    database: Database,
    feed_server: FeedServer,
    parser: ParserPool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A8/D44: ticks due during a slowloris cycle run after it, none is skipped as max instances."""
    caplog.set_level(logging.INFO, logger="apscheduler")
    caplog.set_level(logging.INFO, logger="bot.jobs")
    feed_server.add("/ok.xml", rss("ok", 2))
    feed_server.slow("/drip.xml", every_seconds=0.2)  # never silent long enough for read_timeout
    await add_feed(database, "ok", feed_server.url("/ok.xml"), interval=1)
    await add_feed(database, "drip", feed_server.url("/drip.xml"), interval=3600)
    loop = asyncio.get_running_loop()
    runs: list[PollRun] = []
    async with Fetcher(loopback_policy(total_timeout=DRIP_TIMEOUT)) as fetcher:
        poller = Poller(
            database=database,
            fetcher=fetcher,
            parser=parser,
            policy=PollPolicy(feed_timeout_seconds=10.0),
        )

        async def poll() -> None:
            started = loop.time()
            report = await poller.poll_due_feeds(datetime.now(UTC))
            runs.append(PollRun(started, loop.time(), report))

        watch = SchedulerWatch()
        scheduler = build_scheduler()
        scheduler.add_listener(
            watch.on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR
        )
        add_poll_job(scheduler, poll, every_seconds=TICK, now=datetime.now(UTC))
        scheduler.start()
        try:
            # The hung run, then polling goes on: the ok feed (1 s interval) is polled again.
            async def polling_went_on() -> bool:
                return len(runs) >= 3 and feed_server.hits("/ok.xml") >= 2

            await wait_for(polling_went_on, within=8.0)
        finally:
            scheduler.shutdown(wait=False)

    hung = runs[0]
    assert hung.ended - hung.started >= DRIP_TIMEOUT - 0.1  # several ticks fell due meanwhile
    assert {o.feed_id: o.status for o in hung.report.outcomes} == {"ok": "new", "drip": "error"}
    for earlier, later in itertools.pairwise(runs):
        assert later.started >= earlier.ended  # one run at a time
    # The ticks that fell due while the drip held the cycle were merged into one run, made
    # right after it (not dropped until a later tick), and the merge was logged.
    assert runs[1].started - hung.ended < 0.1
    assert watch.events == []
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "maximum number of running instances" in m] == []
    assert "job=poll-due-feeds still running: the tick runs once it ends" in messages
    assert feed_server.hits("/drip.xml") == 1
    drip = await stored_feed(database, "drip")
    assert (drip.last_error_reason, drip.consecutive_errors) == ("timeout", 1)
    assert await item_count(database, "ok") == 2


# --- D44: the poller's own per-feed backstop (a hang after the fetch) -------------------------


class StuckFeed:
    """Fault injection around the real parser: one feed stalls in parse or in storage.

    The stall is after a successful fetch, so the fetcher's timeouts cannot end it; only the
    poller's per-feed asyncio.timeout can. The other feeds parse only once the stuck one is
    stalled, so on SQLite they queue for the write gate behind it in the storage case.
    """

    def __init__(self, pool: ParserPool, *, stuck_url: str, stage: str) -> None:
        self._pool = pool
        self._stuck_url = stuck_url
        self._stage = stage
        self.stalled = asyncio.Event()

    async def start(self) -> None:
        """The real pool's start."""
        await self._pool.start()

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        headers: Mapping[str, str],
        now: datetime,
        language: str,
        max_entries: int,
    ) -> ParsedFeed:
        """The real parse, except the stuck feed's when the stage is "parse"."""
        if url == self._stuck_url:
            if self._stage == "parse":
                await self._stall()
        else:
            await self.stalled.wait()
        return await self._pool.parse(
            body, url=url, headers=headers, now=now, language=language, max_entries=max_entries
        )

    def prepare(self, feed: Feed, entries: Sequence[Entry]) -> dict[str, object]:
        """Nothing to precompute."""
        return {}

    async def store(
        self,
        *,
        session: AsyncSession,
        feed: Feed,
        stored: Sequence[tuple[int, Entry]],
        prepared: Mapping[str, object],
        now: datetime,
    ) -> None:
        """The new-items hook: the stuck feed stalls inside its write transaction."""
        if feed.id == "stuck" and self._stage == "store":
            await self._stall()

    async def _stall(self) -> None:
        self.stalled.set()
        await asyncio.Event().wait()  # never set: only a cancellation ends this


@pytest.mark.parametrize("stage", ["parse", "store"])
async def test_a_feed_stuck_after_its_fetch_is_ended_by_the_poller_backstop(
    database: Database, feed_server: FeedServer, parser: ParserPool, stage: str
) -> None:
    """D44: a hang in parse or storage ends at the per-feed timeout; the other feeds are stored."""
    for feed_id in ("stuck", "a", "b"):
        feed_server.add(f"/{feed_id}.xml", rss(feed_id, 3))
        await add_feed(database, feed_id, feed_server.url(f"/{feed_id}.xml"))
    faults = StuckFeed(parser, stuck_url=feed_server.url("/stuck.xml"), stage=stage)
    # The fetch timeout is far longer than the feed's budget: it cannot be what fires.
    async with Fetcher(loopback_policy(total_timeout=30.0, read_timeout=30.0)) as fetcher:
        poller = Poller(
            database=database,
            fetcher=fetcher,
            parser=faults,
            policy=PollPolicy(feed_timeout_seconds=1.0),
            on_new_items=faults,
        )
        started = time.monotonic()
        report = await asyncio.wait_for(poller.poll_due_feeds(NOW), timeout=15)
        elapsed = time.monotonic() - started

    assert faults.stalled.is_set()
    assert 0.9 <= elapsed < 5.0
    by_id = {o.feed_id: o for o in report.outcomes}
    assert by_id["stuck"].error is not None
    assert by_id["stuck"].error.reason == "timeout"
    assert "longer than 1 s" in by_id["stuck"].error.detail
    assert [(by_id[f].status, by_id[f].new_items) for f in ("a", "b")] == [("new", 3)] * 2
    assert feed_server.hits("/stuck.xml") == 1  # the fetch itself finished
    stuck = await stored_feed(database, "stuck")
    assert (stuck.last_error_reason, stuck.consecutive_errors) == ("timeout", 1)
    assert stuck.body_hash is None  # nothing marked seen: the next cycle parses it again
    assert await item_count(database, "stuck") == 0  # a stalled write was rolled back
    for feed_id in ("a", "b"):
        feed = await stored_feed(database, feed_id)
        assert (feed.last_error_reason, feed.consecutive_errors) == (None, 0)
        assert await item_count(database, feed_id) == 3


# --- B20: the address connected to is the address validated ----------------------------------


class RecordingResolver(FakeResolver):
    """A FakeResolver that also records every answer it gave, in order."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        super().__init__(table)
        self.answers: list[list[str]] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Answer from the table and remember the addresses."""
        found = await super().resolve(host, port, family)
        self.answers.append([a["host"] for a in found])
        return found


@dataclass
class RoutedNetwork:
    """Every socket connect the event loop makes, and where public addresses are routed."""

    routes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    connects: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
async def test_network(monkeypatch: pytest.MonkeyPatch) -> RoutedNetwork:
    """Records connects; routes listed public addresses to loopback, refuses other ones."""
    network = RoutedNetwork()
    loop = asyncio.get_running_loop()
    original: Callable[[socket.socket, Any], Awaitable[None]] = loop.sock_connect

    async def connect(sock: socket.socket, address: Any) -> None:
        target = (str(address[0]), int(address[1]))
        network.connects.append(target)
        if target in network.routes:
            await original(sock, network.routes[target])
            return
        if target[0] not in {"127.0.0.1", "::1"}:
            raise ConnectionRefusedError(111, "test network: only loopback")
        await original(sock, address)

    monkeypatch.setattr(loop, "sock_connect", connect)
    return network


async def test_the_connection_goes_to_the_validated_address_and_a_rebind_never_connects(
    feed_server: FeedServer, test_network: RoutedNetwork
) -> None:
    """B20: the only connect is to the answer the guard passed; the rebound answer is refused."""
    feed_server.add("/rss", rss("pub", 1))
    port = feed_server.port
    test_network.routes[(PUBLIC_IP, port)] = ("127.0.0.1", port)
    # TTL 0 rebinding: the first answer is public, every later one is loopback.
    resolver = RecordingResolver({"news.example": [[PUBLIC_IP], ["127.0.0.1"]]})
    url = f"http://news.example:{port}/rss"
    async with Fetcher(loopback_policy(allow_private=False), resolver=resolver) as fetcher:
        result = await fetcher.fetch(url)
    assert isinstance(result, FetchResult)
    assert b"<title>Story pub0</title>" in result.body
    assert resolver.answers == [[PUBLIC_IP]]  # one lookup: nothing re-resolved at connect
    assert test_network.connects == [(PUBLIC_IP, port)]  # exactly the validated address
    assert feed_server.requests_to("/rss")[0].headers["Host"] == f"news.example:{port}"

    # The next lookup rebinds to loopback: refused, and still no connect anywhere else.
    async with Fetcher(loopback_policy(allow_private=False), resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError) as info:
            await fetcher.fetch(url)
    assert info.value.reason == "private_address"
    assert resolver.answers == [[PUBLIC_IP], ["127.0.0.1"]]
    assert test_network.connects == [(PUBLIC_IP, port)]
    assert feed_server.hits("/rss") == 1


# --- B22: redirects through the Fetcher and the poller -----------------------------------------


@dataclass(frozen=True)
class SelfSigned:
    """A self-signed certificate for FEED_HOST, as PEM files."""

    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> SelfSigned:
    """A throwaway certificate for FEED_HOST made with the openssl command-line tool."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", f"/CN={FEED_HOST}", "-addext", f"subjectAltName=DNS:{FEED_HOST}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return SelfSigned(cert, key)


@pytest.fixture
def trust_test_certificate(certificate: SelfSigned, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make aiohttp's default verified TLS context trust the test certificate (test only)."""
    context = ssl.create_default_context(cafile=str(certificate.cert))
    context.set_alpn_protocols(["http/1.1"])
    monkeypatch.setattr(aiohttp.connector, "_SSL_CONTEXT_VERIFIED", context)


class TLSFeedServer(FeedServer):
    """The FeedServer's routes over HTTPS, with the test certificate, named FEED_HOST."""

    def __init__(self, certificate: SelfSigned) -> None:
        super().__init__()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certificate.cert, certificate.key)

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve TLS."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._context).start()
        self._port = int(self._runner.addresses[0][1])

    def url(self, path: str = "/") -> str:
        """https://FEED_HOST:<port>/path."""
        return f"https://{FEED_HOST}:{self.port}/{path.lstrip('/')}"


@pytest.fixture
async def tls_server(
    certificate: SelfSigned, trust_test_certificate: None
) -> AsyncIterator[TLSFeedServer]:
    """A started HTTPS feed server whose certificate the fetcher trusts."""
    async with TLSFeedServer(certificate) as server:
        yield server


def plain_url(server: FeedServer, path: str) -> str:
    """http://FEED_HOST:<port>/path on the plain loopback feed server."""
    return f"http://{FEED_HOST}:{server.port}/{path.lstrip('/')}"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_https_to_http_redirect_is_refused_by_the_fetcher(
    tls_server: TLSFeedServer, feed_server: FeedServer, status: int
) -> None:
    """B22: a redirect from https to http is refused at the hop by the Fetcher itself."""
    feed_server.add("/rss", rss("clear", 1))
    tls_server.add("/rss", rss("tls", 1))
    tls_server.redirect("/secure-move", tls_server.url("/rss"), status=status)
    tls_server.redirect("/downgrade", plain_url(feed_server, "/rss"), status=status)
    async with guarded_fetcher() as fetcher:
        # Control: the same fetcher follows an https -> https hop over verified TLS.
        moved = await fetcher.fetch(tls_server.url("/secure-move"))
        assert isinstance(moved, FetchResult)
        assert moved.final_url == tls_server.url("/rss")
        with pytest.raises(BlockedURLError) as info:
            await fetcher.fetch(tls_server.url("/downgrade"))
    assert info.value.reason == "insecure_redirect"
    assert info.value.detail.startswith("redirect 1 refused")
    assert tls_server.hits("/downgrade") == 1
    assert feed_server.hits("/rss") == 0  # no clear-text request was made


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("to_loopback", "private_address"),
        ("valid_hop_then_loopback", "private_address"),
        ("https_to_http", "insecure_redirect"),
        ("ten_hops", "too_many_redirects"),
        ("valid_move", None),  # control: a permitted 301 does replace the stored URL
    ],
)
async def test_a_refused_redirect_leaves_the_stored_feed_url_unchanged(
    database: Database,
    feed_server: FeedServer,
    tls_server: TLSFeedServer,
    lazy_parser: ParserPool,
    case: str,
    reason: str | None,
) -> None:
    """B22: after a poll whose redirect was refused, the feed row keeps its URL (both DBs)."""
    port = feed_server.port
    feed_server.add("/secret", rss("secret", 1))
    feed_server.add("/new.xml", rss("new", 2))
    original = plain_url(feed_server, "/old.xml")
    if case == "to_loopback":
        feed_server.redirect("/old.xml", f"http://127.0.0.1:{port}/secret", status=301)
    elif case == "valid_hop_then_loopback":
        feed_server.redirect("/old.xml", plain_url(feed_server, "/mid.xml"), status=301)
        feed_server.redirect("/mid.xml", f"http://127.0.0.1:{port}/secret", status=301)
    elif case == "https_to_http":
        original = tls_server.url("/old.xml")
        tls_server.redirect("/old.xml", plain_url(feed_server, "/secret"), status=301)
    elif case == "ten_hops":
        for hop in range(10):
            feed_server.redirect(f"/hop{hop}", plain_url(feed_server, f"/hop{hop + 1}"))
        feed_server.redirect("/hop10", plain_url(feed_server, "/secret"))
        original = plain_url(feed_server, "/hop0")
    else:
        feed_server.redirect("/old.xml", plain_url(feed_server, "/new.xml"), status=301)
    await add_feed(database, "f", original)
    async with guarded_fetcher() as fetcher:
        poller = Poller(database=database, fetcher=fetcher, parser=lazy_parser, policy=PollPolicy())
        report = await poller.poll_due_feeds(NOW)

    feed = await stored_feed(database, "f")
    (outcome,) = report.outcomes
    if reason is None:
        assert outcome.status == "new"
        assert feed.url == plain_url(feed_server, "/new.xml")
        assert await item_count(database, "f") == 2
        return
    assert outcome.error is not None
    assert outcome.error.reason == reason
    assert feed.url == original
    assert (feed.last_error_reason, feed.consecutive_errors) == (reason, 1)
    assert await item_count(database, "f") == 0
    assert feed_server.hits("/secret") == 0
    assert feed_server.hits("/hop6") == 0  # at most max_redirects (5) hops were followed


# --- C34: DNS failure and connect timeout on the way to the Bot API ---------------------------


@dataclass
class BlackHole:
    """A loopback port that listens but never accepts: once its queue is full, a connect
    hangs in SYN-SENT (the kernel drops the SYNs) until the client gives up."""

    port: int


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    """A listening socket with a full accept queue; checked to really swallow connects."""
    with socket.socket() as listener, socket.socket() as filler, socket.socket() as probe:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.settimeout(2.0)
        filler.connect(("127.0.0.1", port))  # fills the queue of one; never accepted
        probe.setblocking(False)
        assert probe.connect_ex(("127.0.0.1", port)) in {0, 115}  # 115: EINPROGRESS
        _, writable, _ = select.select([], [probe], [], 0.3)
        if writable:
            pytest.skip("this kernel completes connects to a full listen queue")
        yield BlackHole(port)


class SwitchableNetwork:
    """A transport over one of two Bots: `down` (an outage) until `up` is set."""

    def __init__(self, up: Bot, down: Bot) -> None:
        self.up = False
        self._up = TelegramTransport(up, timeout=5.0)
        self._down = TelegramTransport(down, timeout=1.0)

    async def send_text(self, chat_id: int, text: str, parse_mode: str | None) -> Sent:
        """Send over whichever network is current."""
        transport = self._up if self.up else self._down
        return await transport.send_text(chat_id, text, parse_mode)

    async def send_photo(
        self, chat_id: int, photo: bytes | str, caption: str, parse_mode: str | None
    ) -> Sent:
        """Not used here."""
        raise NotImplementedError


@pytest.mark.parametrize(
    "outage",
    [
        "dns_failure",
        "connect_timeout",
    ],
)
async def test_bot_api_unreachable_fails_with_backoff_then_delivers_once(
    database: Database, fake_botapi: FakeBotAPI, request: pytest.FixtureRequest, outage: str
) -> None:
    """C34: an unresolvable or unconnectable Bot API is `failed` with backoff, then sent once."""
    if outage == "dns_failure":
        base = f"http://nonexistent.invalid:{fake_botapi.base_url.rsplit(':', 1)[1]}"
    else:
        base = f"http://127.0.0.1:{request.getfixturevalue('black_hole').port}"
    # The production construction: TELEGRAM_API_BASE pointing where the network fails.
    down = make_bot(Settings(bot_token=DEFAULT_TOKEN, telegram_api_base=base))
    network = SwitchableNetwork(fake_botapi.make_bot(), down)
    pks = await add_chats(database, [USER])
    await queue(database, pks[USER], ["digest"])
    sender = make_sender(database, network)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))  # the service loop, with its own retries
    try:

        async def settled() -> bool:
            (row,) = await all_rows(database)
            return row.state not in {PENDING, SENDING}

        await wait_for(settled, within=10)
        seen_wall, seen_mono = datetime.now(UTC), time.monotonic()
        (row,) = await all_rows(database)
        assert (row.state, row.attempts) == (FAILED, 1)
        assert "connect failed" in (row.last_error or "")
        backoff = (row.next_attempt_at - seen_wall).total_seconds()
        assert backoff > BACKOFF_BASE_SECONDS / 2 - 0.5  # waits at least about base/2
        assert fake_botapi.calls("sendMessage") == []
        network.up = True  # the network is back

        async def delivered() -> bool:
            return bool(fake_botapi.messages(USER))

        await wait_for(delivered, within=10)
        await asyncio.sleep(0.3)  # room for a duplicate, were one coming
    finally:
        stop.set()
        await running
        await down.session.close()

    (message,) = fake_botapi.messages(USER)
    assert message.visible == "digest"
    assert message.accepted_at >= seen_mono + backoff - 0.1  # retried only once it was due
    assert len(fake_botapi.calls("sendMessage")) == 1
    (row,) = await all_rows(database)
    assert (row.state, row.attempts) == (SENT, 2)
