"""ADVERSARIAL B26, D43, G54, G56, G57: the parts tests/ADVERSARIAL.md listed as missing.

B26: `briefbot run` (a real subprocess) starts on the valid part of a hostile feeds.yaml.
D43: real faults during a save (SQLITE_FULL from `max_page_count`, a PostgreSQL database cut
off and refusing connections, a read-only PostgreSQL) roll back cleanly and recover.
G54: a pg_dump taken after /stop holds no trace of the chat; the documented rotation works.
G56: `config export` and staff notices name no subscriber. G57: the privacy-mode warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import random
import re
import shlex
import shutil
import signal
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.cli.service_cmd import poll_once
from bot.config.catalog import Catalog, parse_catalog, read_catalog_lenient
from bot.config.settings import Settings
from bot.db import chats
from bot.db.audit import PG_STAFF_EDIT_LOCK
from bot.db.engine import Database, create_engine
from bot.db.migrate import upgrade
from bot.db.tables import Chat, Feed, Item, OutboxRow, TopicRule
from bot.delivery import outbox
from bot.delivery.staff_notices import (
    check_feeds,
    report_catalog_problems,
    report_long_pause,
)
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import Poller
from bot.ingest.types import Entry
from bot.service import sync_catalog
from bot.staff import feeds as staff_feeds
from bot.staff import rules as staff_rules
from bot.telegram.runner import check_privacy_mode
from tests.conftest import PG_ADMIN_DSN
from tests.fakes.botapi import FakeBotAPI
from tests.support.botchat import chatting
from tests.support.feedrows import add_due_feed
from tests.support.feedserver import FeedServer
from tests.support.staffkit import CATALOG, STAFF, staff_bot
from tests.support.staffkit import settings as staff_settings
from tests.test_opml import FEEDS_YAML as OPML_FEEDS_YAML
from tests.test_opml import opml

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
# Subscribers with values no feed, rule or notice would ever contain by chance.
SUBSCRIBERS = {
    7340012345: "zqprivatekeyword OR xyzzy-hrodna-4711",
    -1009988776655: "qqgroupsecret NEAR/3 vvmeeting",
    5550001234: None,
}
SECRET_BODY = "an alert addressed to one subscriber only, body-marker-90817"
FAILED = "Something went wrong; the service log has the details."


# --- shared helpers -----------------------------------------------------------------------


@dataclass
class Run:
    """A finished subprocess."""

    code: int
    stdout: str
    stderr: str


def cli_env(database_url: str, feeds_file: Path, **extra: str) -> dict[str, str]:
    """The environment for `python -m bot`: this repo, one database, one feeds file."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COLUMNS": "200",
        "DATABASE_URL": database_url,
        "FEEDS_FILE": str(feeds_file),
        "ALLOW_PRIVATE_NETWORKS": "true",  # the loopback feed server
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def briefbot(*args: str, env: Mapping[str, str], cwd: Path) -> Run:
    """Run `python -m bot ARGS` to the end (the test's loop keeps serving meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await finish(proc, seconds=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def finish(proc: asyncio.subprocess.Process, *, seconds: float) -> tuple[bytes, bytes]:
    """The process's output once it exits; killed (never left running) if it does not."""
    try:
        return await asyncio.wait_for(proc.communicate(), timeout=seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise


def rss(prefix: str, count: int, *, summary: str = "") -> str:
    """An RSS 2.0 document with `count` items whose guids, links and titles start `prefix`."""
    # Dated from the real clock: the CLI polls skip items older than RETENTION_DAYS.
    recent = datetime.now(UTC)
    items = "".join(
        f"<item><guid>{prefix}-{n}</guid><link>https://news.example/{prefix}/{n}</link>"
        f"<title>{prefix} story {n}</title><description>{summary or prefix} {n}</description>"
        f"<pubDate>{format_datetime(recent - timedelta(hours=n + 1))}</pubDate></item>"
        for n in range(count)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{prefix}</title>{items}</channel></rss>"
    )


def feed_entry(feed_id: str, url: str) -> str:
    """One feeds.yaml list entry (a belarus-scope feed polled every 15 minutes)."""
    return (
        f"  - id: {feed_id}\n    url: {url}\n    title: Feed {feed_id}\n"
        "    publisher: independent-media\n    language: be\n    scope: belarus\n"
        "    interval: 15m\n"
    )


def pg_name(database_url: str) -> str:
    """The database name at the end of a PostgreSQL URL."""
    return database_url.rsplit("/", 1)[1]


async def pg_admin(*statements: str, args: Sequence[object] = ()) -> None:
    """Run statements on the maintenance database (never on the one under test)."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await conn.execute(statement, *args) if args else await conn.execute(statement)
    finally:
        await conn.close()


async def add_subscribers(database: Database) -> None:
    """The SUBSCRIBERS, each following a topic, one with a queued personal message."""
    async with database.write() as session:
        for chat_id, rule in SUBSCRIBERS.items():
            kind = "group" if chat_id < 0 else "private"
            chat = await chats.add_chat(
                session=session, chat_id=chat_id, kind=kind, now=NOW, keywords=rule
            )
            assert chat.id is not None
            await chats.set_topics(session=session, chat_pk=chat.id, topics=["sanctions"])
        first = await chats.get_chat(session=session, chat_id=next(iter(SUBSCRIBERS)))
        assert first is not None
        assert first.id is not None
        row = outbox.outbox_row(
            chat_pk=first.id, kind="alert", ref="item:1", body=SECRET_BODY, now=NOW
        )
        await outbox.enqueue(session=session, rows=[row])


def personal_markers() -> list[str]:
    """What must never appear in a staff view: chat ids, personal rule words, bodies."""
    words = [w for rule in SUBSCRIBERS.values() if rule for w in rule.split() if len(w) > 6]
    return [*(str(abs(chat_id)) for chat_id in SUBSCRIBERS), *words, "body-marker-90817"]


# --- B26: the service starts on the valid part of a hostile feeds.yaml ---------------------


def hostile_catalog(path: Path, url_a: str, tripwire: Path) -> Path:
    """feeds.yaml with one good feed and injected, aliased and unsafe entries around it."""
    injected = f'!!python/object/apply:os.system ["touch {tripwire}"]'
    text = (
        "version: 1\nfeeds:\n"
        + feed_entry("loop-a", url_a)
        # The entry of a feed that worked, its URL replaced by an object constructor.
        + feed_entry("loop-b", injected)
        + feed_entry("local-file", "file:///etc/passwd")
        + "  - &laugh\n    "
        + feed_entry("laughs", "https://example.org/laughs.xml")[4:]
        + "  - *laugh\n"
        + "topics:\n"
        + "  - id: sanctions\n    titles: {en: Sanctions, be: Санкцыі, ru: Санкции}\n"
        + "    rules: ['санкц* OR sanction*']\n"
        + f"  - id: injected\n    titles: {injected}\n"
        + 'lol: &a ["lol", "lol"]\nlol2: [*a, *a, *a, *a]\n'
    )
    path.write_text(text, encoding="utf-8")
    return path


def sqlite_rows(database_file: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of a query on the SQLite file a subprocess writes."""
    with sqlite3.connect(database_file) as conn:
        return conn.execute(query, args).fetchall()


async def wait_for(condition: Any, seconds: float = 30.0) -> None:
    """Poll `condition()` until it is true (or fail after `seconds`)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_run_starts_on_the_valid_entries_and_names_each_refused_line(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """B26: `run` polls the valid feed and the last good one; logs and tells staff the rest."""
    feed_server.add("/a.xml", rss("alpha", 2))
    feed_server.add("/b.xml", rss("bravo", 2))
    url_a, url_b = feed_server.url("/a.xml"), feed_server.url("/b.xml")
    database_file = tmp_path / "run.db"
    # The last good start: feeds.yaml then listed loop-a and loop-b, both valid.
    engine = create_engine(f"sqlite:///{database_file}")
    try:
        await upgrade(engine)
        good = "version: 1\nfeeds:\n" + feed_entry("loop-a", url_a) + feed_entry("loop-b", url_b)
        await sync_catalog(Database.on(engine), parse_catalog(good, allow_private=True), NOW)
    finally:
        await engine.dispose()
    tripwire = tmp_path / "tripwire"
    feeds_file = hostile_catalog(tmp_path / "feeds.yaml", url_a, tripwire)
    problems = read_catalog_lenient(
        feeds_file.read_text(encoding="utf-8"), source=str(feeds_file), allow_private=True
    ).problems
    assert len(problems) >= 6  # the python tags, file: URL, anchor, alias, unknown keys
    env = cli_env(f"sqlite:///{database_file}", feeds_file, STAFF_IDS=str(STAFF))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        def started() -> bool:
            found = sqlite_rows(database_file, "SELECT feed_id, count(*) FROM items GROUP BY 1")
            staff = sqlite_rows(database_file, "SELECT count(*) FROM outbox WHERE kind='staff'")
            return dict(found) == {"loop-a": 2, "loop-b": 2} and staff[0][0] == 1

        await wait_for(started)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await finish(proc, seconds=30)
    log = err.decode()
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    for problem in problems:  # every refused line, at WARNING, with its file and line
        assert f"level=WARNING logger=bot.cli.common feeds.yaml entry refused: {problem}" in log
    assert any(":os.system is not allowed" in p for p in problems)
    assert "feeds loop-b keep their last loaded settings" in log
    assert not tripwire.exists()  # the injected constructor never ran
    feeds = sqlite_rows(database_file, "SELECT id, url, enabled FROM feeds ORDER BY id")
    assert feeds == [("loop-a", url_a, 1), ("loop-b", url_b, 1)]
    (body,) = sqlite_rows(database_file, "SELECT body FROM outbox WHERE kind='staff'")[0]
    shown = html.unescape(body)
    assert f"feeds.yaml has {len(problems)} problem(s)" in shown
    assert "feeds loop-b keep their last loaded settings" in shown
    assert problems[0] in shown


async def test_only_an_unusable_file_stops_run_and_validate_stays_strict(tmp_path: Path) -> None:
    """B26: a first `run` exits 2 on a 50 MB file (no traceback); `validate` refuses the hostile."""
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB long, no disk used
    tripwire = tmp_path / "tripwire"
    hostile = hostile_catalog(tmp_path / "feeds.yaml", "https://example.org/a.xml", tripwire)
    problems = read_catalog_lenient(
        hostile.read_text(encoding="utf-8"), source=str(hostile), allow_private=True
    ).problems
    database = f"sqlite:///{tmp_path / 'x.db'}"
    # Two processes at once: each spends most of its time importing.
    run, validate = await asyncio.gather(
        briefbot("run", env=cli_env(database, huge), cwd=tmp_path),
        briefbot("config", "validate", env=cli_env(database, hostile), cwd=tmp_path),
    )
    assert run.code == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines[0] == f"{huge}: {50 * 1024 * 1024} bytes is over the 1048576-byte limit"
    # A first start: the strict report of `config validate` (later starts run on what is valid).
    assert lines[1] == f"1 problem(s) in {huge}"
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened
    assert validate.code == 2
    assert validate.stderr.splitlines() == [*problems, f"{len(problems)} problem(s) in {hostile}"]
    assert not tripwire.exists()


# --- D43: real storage faults during a save -------------------------------------------------


class Fault(Protocol):
    """A real storage fault that can be switched on and off."""

    strikes_inside_the_write: bool
    signs: tuple[str, ...]

    async def arm(self) -> None:
        """Start the fault."""
        ...

    async def disarm(self) -> None:
        """End it: space returns, the server is back."""
        ...


class SqliteFull:
    """SQLITE_FULL for real: while armed, no connection may grow the database by a page."""

    strikes_inside_the_write: bool = False
    signs: tuple[str, ...] = ("database or disk is full",)

    def __init__(self, engine: AsyncEngine) -> None:
        self.armed = False
        event.listen(engine.sync_engine, "checkout", self._limit)

    def _limit(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # max_page_count never drops below the current size: 1 means "not one page more".
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {1 if self.armed else 1_073_741_823}")
        cursor.close()

    async def arm(self) -> None:
        """Fill the disk, as far as SQLite can tell."""
        self.armed = True

    async def disarm(self) -> None:
        """Space returns."""
        self.armed = False


class PostgresDown:
    """The database under test goes away: open connections are cut, new ones refused."""

    strikes_inside_the_write: bool = True
    signs: tuple[str, ...] = (
        "terminating connection due to administrator command",
        "is not currently accepting connections",
        "connection was closed",
        "ConnectionDoesNotExistError",
    )

    def __init__(self, database_url: str) -> None:
        self.name = pg_name(database_url)

    async def arm(self) -> None:
        """Refuse new connections and terminate every open one (the server stays up)."""
        await pg_admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        await pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            args=[self.name],
        )

    async def disarm(self) -> None:
        """The database is back."""
        await pg_admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


@pytest.fixture
async def fault(database_url: str, engine: AsyncEngine) -> AsyncIterator[Fault]:
    """The backend's real fault, always lifted at the end."""
    made: Fault = (
        SqliteFull(engine) if database_url.startswith("sqlite") else PostgresDown(database_url)
    )
    try:
        yield made
    finally:
        await made.disarm()


class StrikingHook:
    """A new-items hook that starts the fault inside the feed's write transaction."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.armed = False

    def prepare(self, feed: Feed, entries: Sequence[Entry]) -> dict[str, object]:
        """Nothing to compute."""
        return {}

    async def store(self, *, session: AsyncSession, **_: object) -> None:
        """Once armed: the items were inserted, the commit is still to come."""
        if self.armed:
            self.armed = False
            await self.fault.arm()


async def add_feed(database: Database, feed_id: str, url: str, *, interval: int = 900) -> None:
    """Store one enabled feed that is due now."""
    await add_due_feed(database, feed_id, url, now=NOW, interval=interval)


async def feed_row(database: Database, feed_id: str) -> Feed:
    """The feed as stored now."""
    async with database.read() as session:
        row = await session.get(Feed, feed_id)
        assert row is not None
        return row


async def item_titles(database: Database, feed_id: str) -> list[str]:
    """Stored titles of a feed's items."""
    async with database.read() as session:
        rows = await session.scalars(
            select(col(Item.title)).where(col(Item.feed_id) == feed_id).order_by(col(Item.id))
        )
        return list(rows)


def error_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged at ERROR or above, tracebacks included."""
    handler = caplog.handler
    return "\n".join(handler.format(r) for r in caplog.records if r.levelno >= logging.ERROR)


@pytest.fixture
async def poller_parts() -> AsyncIterator[tuple[Fetcher, ParserPool]]:
    """A loopback-allowed fetcher and a one-worker parser pool."""
    policy = FetchPolicy(
        total_timeout=5.0,
        read_timeout=3.0,
        connect_timeout=3.0,
        max_bytes=1_000_000,
        concurrency=4,
        per_host=4,
        max_redirects=2,
        allow_private=True,
    )
    async with Fetcher(policy) as fetcher, ParserPool(workers=1, timeout=5.0) as parser:
        yield fetcher, parser


async def test_a_storage_fault_in_the_poll_write_keeps_nothing_half_and_recovers(
    engine: AsyncEngine,
    fault: Fault,
    feed_server: FeedServer,
    poller_parts: tuple[Fetcher, ParserPool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """D43: disk full / PG gone while a feed's items are saved; the next poll stores them."""
    await poll_through_a_fault(engine, fault, feed_server, poller_parts, caplog)


class FilesystemFull:
    """The filesystem under the SQLite database runs out of space: a filler file takes it all."""

    strikes_inside_the_write: bool = False

    def __init__(self, mount: Path, signs: tuple[str, ...] = ("database or disk is full",)) -> None:
        self.filler = mount / "filler"
        self.signs = signs

    async def arm(self) -> None:
        """Write until the filesystem has not one byte left."""
        fill_up(self.filler)

    async def disarm(self) -> None:
        """Space returns."""
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for this test (needs root, as on this project's machine and CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    mount_tmpfs(mount, "4m")
    try:
        yield mount
    finally:
        unmount(mount)


def mount_tmpfs(mount: Path, size: str) -> Path:
    """Mount a tmpfs of `size` on the directory `mount` (0755, so any user can reach it)."""
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mount)], check=True
    )
    mount.chmod(0o755)
    return mount


def unmount(mount: Path, *, remove: bool = False) -> None:
    """Lazily unmount (nothing may stay busy), and remove the empty directory if asked."""
    subprocess.run(["umount", "-l", str(mount)], check=True)
    if remove:
        mount.rmdir()


def fill_up(filler: Path) -> None:
    """Write `filler` until even one more byte does not fit (unbuffered, shrinking chunks)."""
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, chunk)
    finally:
        os.close(descriptor)


async def test_a_really_full_filesystem_under_sqlite_keeps_nothing_half_and_recovers(
    small_filesystem: Path,
    feed_server: FeedServer,
    poller_parts: tuple[Fetcher, ParserPool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """D43: no space left on the device itself; the poll fails cleanly and recovers."""
    engine = create_engine(f"sqlite:///{small_filesystem / 'briefbot.db'}")
    await upgrade(engine)
    fault = FilesystemFull(small_filesystem)
    try:
        await poll_through_a_fault(engine, fault, feed_server, poller_parts, caplog)
    finally:
        await fault.disarm()
        await engine.dispose()


@pytest.fixture
async def postgres_on_a_small_filesystem() -> AsyncIterator[tuple[str, Path]]:
    """A PostgreSQL database whose tablespace is a 16 MiB tmpfs (root, as on CI): its URL, mount."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = mount_tmpfs(Path(tempfile.mkdtemp(prefix="briefbot-pgdisk-", dir="/tmp")), "16m")
    # The server runs as postgres and must reach the location (/tmp/pytest-of-root is 0700).
    shutil.chown(mount, "postgres", "postgres")
    name = f"briefbot_disk_{os.getpid()}_{int(time.time())}"
    try:
        await pg_admin(f"CREATE TABLESPACE {name} LOCATION '{mount}'")
        await pg_admin(f'CREATE DATABASE "{name}" TABLESPACE {name}')
        yield PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}", mount
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await pg_admin(f"DROP TABLESPACE IF EXISTS {name}")
        unmount(mount, remove=True)


@pytest.mark.postgres
async def test_postgresql_out_of_disk_keeps_nothing_half_and_recovers(
    postgres_on_a_small_filesystem: tuple[str, Path],
    feed_server: FeedServer,
    poller_parts: tuple[Fetcher, ParserPool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """D43: PostgreSQL's own disk-full error (could not extend file), then recovery."""
    url, mount = postgres_on_a_small_filesystem
    engine = create_engine(url)
    await upgrade(engine)
    fault = FilesystemFull(mount, signs=("No space left on device", "could not extend file"))
    try:
        await poll_through_a_fault(engine, fault, feed_server, poller_parts, caplog)
    finally:
        await fault.disarm()
        await engine.dispose()


async def test_a_feeds_yaml_edit_on_a_full_filesystem_leaves_the_file_whole_then_saves(
    small_filesystem: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D43: `feeds-opml import --write` with no space left: a clear line, feeds.yaml intact."""
    feeds_yaml = small_filesystem / "feeds.yaml"
    feeds_yaml.write_text(OPML_FEEDS_YAML, encoding="utf-8")
    (tmp_path / "in.opml").write_bytes(
        opml('<outline text="Good" xmlUrl="https://good.example/rss"/>')
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEEDS_FILE", str(feeds_yaml))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    fault = FilesystemFull(small_filesystem)
    await fault.arm()
    try:
        full = CliRunner().invoke(cli_app, ["feeds-opml", "import", "in.opml", "--write"])
        assert full.exit_code == 1
        assert f"cannot write {feeds_yaml}: No space left on device (the file is unchanged)" in (
            full.stderr
        )
        assert "Traceback" not in full.stderr
        assert feeds_yaml.read_text(encoding="utf-8") == OPML_FEEDS_YAML
        assert sorted(os.listdir(small_filesystem)) == ["feeds.yaml", "filler"]  # no temp file left
        await fault.disarm()
        saved = CliRunner().invoke(cli_app, ["feeds-opml", "import", "in.opml", "--write"])
    finally:
        await fault.disarm()
        root.handlers[:] = handlers
        root.setLevel(level)
    assert saved.exit_code == 0, saved.stderr
    assert "https://good.example/rss" in feeds_yaml.read_text(encoding="utf-8")


async def poll_through_a_fault(
    engine: AsyncEngine,
    fault: Fault,
    feed_server: FeedServer,
    poller_parts: tuple[Fetcher, ParserPool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Poll one feed, strike while a second feed's items are saved, lift it, poll again."""
    database = Database.on(engine)
    feed_server.add("/kept.xml", rss("kept", 2))
    # Long summaries that do not compress: the insert has to grow the SQLite file and
    # PostgreSQL's TOAST table.
    noise = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=6000))
    feed_server.add("/hit.xml", rss("hit-title-marker", 4, summary=noise))
    await add_feed(database, "kept", feed_server.url("/kept.xml"))
    await add_feed(database, "hit", feed_server.url("/hit.xml"))
    hook = StrikingHook(fault)
    poller = Poller(
        database=database,
        fetcher=poller_parts[0],
        parser=poller_parts[1],
        policy=PollPolicy(concurrency=1, feed_timeout_seconds=10.0),
        on_new_items=hook,
        rng=random.Random(3),
    )
    kept_before = await poller.poll_feeds([await feed_row(database, "kept")], NOW)
    assert kept_before.new_items == 2  # accepted before the fault: must survive it
    if fault.strikes_inside_the_write:
        hook.armed = True
    else:
        await fault.arm()
    caplog.set_level(logging.INFO)
    report = await poller.poll_feeds([await feed_row(database, "hit")], NOW)
    await fault.disarm()

    (outcome,) = report.outcomes
    assert outcome.error is not None
    assert outcome.error.reason == "internal_error"
    logged = error_text(caplog)
    assert any(sign in logged for sign in fault.signs), logged
    # The failed statement's values (item text here; chat ids elsewhere) stay out of the log.
    assert "hit-title-marker" not in caplog.text
    assert await item_titles(database, "hit") == []  # nothing half-written
    hit = await feed_row(database, "hit")
    assert hit.body_hash is None  # not marked as read, so the next poll parses it again
    assert await item_titles(database, "kept") == ["kept story 0", "kept story 1"]

    later = max(NOW, hit.next_check_at or NOW)
    recovered = await poller.poll_due_feeds(later)
    assert recovered.new_items == 4
    titles = await item_titles(database, "hit")
    assert sorted(titles) == [f"hit-title-marker story {n}" for n in range(4)]
    healthy = await feed_row(database, "hit")
    assert healthy.consecutive_errors == 0
    assert healthy.last_error is None


def long_rule(prefix: str) -> str:
    """A rule of nearly 2,000 characters (the most one rule may have)."""
    return " OR ".join(f"{prefix}{n:03d}" for n in range(230))[:1990].rsplit(" OR ", 1)[0]


def bulky_catalog() -> Catalog:
    """The staff catalog with three long sanctions rules: a rule edit stores them all again."""
    first = '      - "sanction* OR санкц*"\n'
    extra = "".join(f'      - "{long_rule(p)}"\n' for p in ("alpha", "bravo", "charlie"))
    assert first in CATALOG
    return parse_catalog(CATALOG.replace(first, first + extra), allow_private=True)


@contextlib.asynccontextmanager
async def strike_while_a_staff_edit_waits(fault: Fault, database_url: str) -> AsyncIterator[None]:
    """Arm the fault once a staff edit is inside its write transaction.

    On PostgreSQL the edit's first statement takes the staff-edit lock; holding that lock
    makes the edit wait there, after the chat row was read, and the outage cuts it off.
    On SQLite the fault is armed at once: the edit's write is what meets the full disk.
    """
    if not isinstance(fault, PostgresDown):
        await fault.arm()
        yield
        return
    holder = await asyncpg.connect(database_url)
    await holder.execute("SELECT pg_advisory_lock($1)", PG_STAFF_EDIT_LOCK)

    async def strike() -> None:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            while not await admin.fetchval(  # noqa: ASYNC110 (polls the server's view)
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
                " AND wait_event = 'advisory'",
                fault.name,
            ):
                await asyncio.sleep(0.02)
        finally:
            await admin.close()
        await fault.arm()  # also ends the lock holder's session

    striking = asyncio.create_task(strike())
    try:
        yield
        await asyncio.wait_for(striking, timeout=10)
    finally:
        striking.cancel()
        with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            await holder.close(timeout=1)


async def test_a_staff_edit_during_a_storage_fault_is_refused_plainly_then_saves(
    engine: AsyncEngine,
    database_url: str,
    fault: Fault,
    fake_botapi: FakeBotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """D43: /rule_add meets a full disk or a PG outage mid-save: plain answer, nothing kept."""
    added = "zzembargomarker*"
    async with staff_bot(fake_botapi, engine, cat=bulky_catalog()) as kit:
        before = await kit.state()
        caplog.set_level(logging.INFO)
        async with strike_while_a_staff_edit_waits(fault, database_url):
            refused = await kit.send(STAFF, f"/rule_add sanctions {added}")
        await fault.disarm()
        assert refused.visible.startswith(FAILED)
        for leak in ("Traceback", "Error", "SQL", "full", "connection"):
            assert leak not in refused.visible
        assert await kit.state() == before  # no rule, no audit row, nothing half-saved
        logged = error_text(caplog)
        assert any(sign in logged for sign in fault.signs), logged
        assert "zzembargomarker" not in caplog.text  # the rule is not in the traceback

        saved = await kit.send(STAFF, f"/rule_add sanctions {added}")
        assert FAILED not in saved.visible
        assert "now has 5 rules" in saved.visible
        assert await kit.count(TopicRule) == 5
        assert [entry.action for entry in await kit.audit()] == ["rule.add"]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_cli_poll_on_a_read_only_postgres_fails_in_one_line_then_recovers(
    database_url: str, tmp_path: Path, feed_server: FeedServer
) -> None:
    """D43: PG refusing writes (as managed PG does when its disk fills) gives one plain line."""
    feed_server.add("/a.xml", rss("ro", 2))
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("version: 1\nfeeds:\n" + feed_entry("loop", feed_server.url("/a.xml")))
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    name = pg_name(database_url)
    await pg_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        run = await briefbot("poll", "--once", env=cli_env(database_url, feeds_file), cwd=tmp_path)
    finally:
        await pg_admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    assert run.code == 1
    assert run.stderr.count("\n") == 1, run.stderr  # one line, no traceback
    assert run.stderr.startswith(
        "error: the database failed: ReadOnlySQLTransactionError: cannot execute INSERT in a"
        " read-only transaction."
    )
    assert "[SQL" not in run.stderr
    engine = create_engine(database_url)
    try:
        database = Database.on(engine)
        async with database.read() as session:
            assert await session.scalar(select(func.count()).select_from(Feed)) == 0
        # Writes are allowed again: what `poll --once` runs now syncs and stores, no repair.
        settings = Settings(
            database_url=database_url, feeds_file=feeds_file, allow_private_networks=True
        )
        cat = parse_catalog(feeds_file.read_text(), allow_private=True)
        report = await poll_once(
            settings, cat, datetime.now(UTC), every_feed=True, show_progress=False
        )
        assert report.new_items == 2
        assert sorted(await item_titles(database, "loop")) == ["ro story 0", "ro story 1"]
    finally:
        await engine.dispose()


# --- G54: PostgreSQL backups after /stop, and their rotation --------------------------------


async def tool(*args: str, cwd: Path | None = None) -> str:
    """Run a command-line tool (pg_dump, pg_restore, find); its output, or AssertionError."""
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def dump_text(dump: Path) -> str:
    """A custom-format dump (compressed) as the SQL it would restore."""
    return await tool("pg_restore", "-f", "-", str(dump))


def rotation_command() -> tuple[list[str], int]:
    """The dump rotation command docs/operations.md gives, and its window in days."""
    docs = (REPO / "docs/operations.md").read_text(encoding="utf-8")
    found = re.search(r"`(find backups -name '\*\.dump' -mtime \+(\d+) -delete)`", docs)
    assert found is not None, "docs/operations.md no longer shows the rotation command"
    return shlex.split(found.group(1)), int(found.group(2))


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_dump_after_stop_holds_no_trace_and_old_dumps_rotate_out(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """G54: pg_dump after /stop has neither id nor rule; the documented rotation drops old dumps."""
    database = Database.on(engine)
    await add_feed(database, "wire", "https://wire.example/rss")
    await add_subscribers(database)
    backups = tmp_path / "backups"
    backups.mkdir()
    old, new = backups / "briefbot-2026-04-01.dump", backups / "briefbot-2026-05-04.dump"
    await tool("pg_dump", "-Fc", "-d", database_url, "-f", str(old))
    leaked = await dump_text(old)
    assert all(marker in leaked for marker in personal_markers())  # the check can see them

    async with database.write() as session:
        for chat_id in SUBSCRIBERS:
            assert await chats.delete_chat_by_telegram_id(session=session, chat_id=chat_id)
    await tool("pg_dump", "-Fc", "-d", database_url, "-f", str(new))
    after = await dump_text(new)
    assert "COPY public.chats" in after  # the table is dumped, with no row left in it
    assert "wire.example" in after  # the rest is still backed up
    for marker in personal_markers():
        assert marker not in after

    # The documented restore gives a database without the chats.
    scratch = f"{pg_name(database_url)}_restore"
    await pg_admin(f'CREATE DATABASE "{scratch}"')
    try:
        target = database_url.rsplit("/", 1)[0] + f"/{scratch}"
        await tool("pg_restore", "-d", target, "--clean", "--if-exists", str(new))
        restored = await asyncpg.connect(target)
        try:
            assert await restored.fetchval("SELECT count(*) FROM chats") == 0
            assert await restored.fetchval("SELECT count(*) FROM feeds") == 1
        finally:
            await restored.close()
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')

    command, window = rotation_command()
    assert 7 <= window <= 14  # the window the same section tells operators to keep
    aged = time.time() - (window + 1) * 86400
    os.utime(old, (aged, aged))
    await tool(*command, cwd=tmp_path)
    assert sorted(p.name for p in backups.iterdir()) == [new.name]


# --- G56: staff views name no subscriber ------------------------------------------------------


async def test_config_export_names_no_subscriber(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """G56: `briefbot config export` carries staff changes but no chat id or personal rule."""
    database = Database.on(engine)
    cat = parse_catalog(CATALOG, allow_private=True)
    await sync_catalog(database, cat, NOW)
    await add_subscribers(database)
    request = staff_feeds.parse_request(
        ["http://127.0.0.1:8089/wire.xml", "ngo", "be", "belarus"], staff_settings()
    )
    await staff_feeds.add_feed(
        database=database, staff_id=STAFF, request=request, title="Wire", now=NOW
    )
    await staff_rules.change_rules(
        database=database,
        catalog=cat,
        staff_id=STAFF,
        topic_id="sanctions",
        action="rule.add",
        edit=staff_rules.adder(cat, "embargo*"),
        now=NOW,
    )
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(CATALOG, encoding="utf-8")
    run = await briefbot("config", "export", env=cli_env(database_url, feeds_file), cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "127.0.0.1:8089/wire.xml" in run.stdout  # the staff feed
    assert "embargo*" in run.stdout  # the rule edited in the bot
    for marker in personal_markers():
        assert marker not in run.stdout
        assert marker not in run.stderr


async def staff_bodies(database: Database, staff_ids: Sequence[int]) -> dict[str, list[str]]:
    """Staff outbox rows by notice kind (the ref's first part), and who else got one."""
    async with database.read() as session:
        rows = await session.execute(
            select(col(Chat.chat_id), col(OutboxRow.ref), col(OutboxRow.body))
            .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
            .where(col(OutboxRow.kind) == "staff")
        )
        found: dict[str, list[str]] = {}
        for chat_id, ref, body in rows:
            assert chat_id in staff_ids, "a staff notice went to a subscriber"
            found.setdefault(ref.split(":")[0], []).append(html.unescape(body))
        return found


class _Pipeline:
    """The two attributes check_privacy_mode reads."""

    def __init__(self, database: Database, staff_ids: tuple[int, ...]) -> None:
        self.database = database
        self.settings = Settings(bot_token=None, staff_ids=staff_ids)


async def test_staff_notices_name_no_subscriber(
    engine: AsyncEngine, fake_botapi: FakeBotAPI
) -> None:
    """G56: every kind of staff notice, with subscribers stored, names none of them."""
    group, admin = next(c for c in SUBSCRIBERS if c < 0), 6161
    async with chatting(fake_botapi, engine, staff_ids=(STAFF,)) as chat:
        database = chat.database
        await add_subscribers(database)
        async with database.write() as session:
            for feed_id, failing in (("broken", True), ("quiet", False)):
                session.add(
                    Feed(
                        id=feed_id,
                        url=f"https://{feed_id}.example/rss",
                        title=feed_id,
                        publisher="ngo",
                        language="en",
                        scope="belarus",
                        interval_seconds=900,
                        created_at=NOW - timedelta(days=60),
                        failing_since=NOW - timedelta(hours=3) if failing else None,
                        last_error_reason="http_503" if failing else None,
                        last_new_item_at=NOW - timedelta(days=20),
                    )
                )
            await session.flush()
            for n in range(6):  # a daily rhythm, then twenty days of silence
                seen = NOW - timedelta(days=20 + n)
                session.add(
                    Item(
                        feed_id="quiet",
                        key=f"q{n}",
                        title="t",
                        summary="",
                        published_at=seen,
                        first_seen_at=seen,
                        language="en",
                        content_hash=f"q{n}",
                    )
                )
        await check_feeds(database=database, staff_ids=(STAFF,), now=NOW)
        await report_long_pause(database=database, staff_ids=(STAFF,), seconds=120, now=NOW)
        refused = ["feeds.yaml:3: feeds[0] (id x): url: only http and https are fetched"]
        for _restart in range(2):  # the same broken file twice: one notice (B26)
            await report_catalog_problems(
                database=database, staff_ids=(STAFF,), problems=refused, kept=["x"], now=NOW
            )
        fake_botapi.bot_user["can_read_all_group_messages"] = True
        await check_privacy_mode(chat.run.bot, _Pipeline(database, (STAFF,)))  # type: ignore[arg-type]
        # The group subscriber makes the bot an admin: staff hear of "a group", by tag only.
        fake_botapi.push_my_chat_member(group, admin, "administrator", old_status="member")
        await chat.run.reply_to(group)
        await wait_for_kinds(database, {"promoted"})
        found = await staff_bodies(database, (STAFF,))
    kinds = {"failing", "silent", "pause", "catalog", "privacy-mode-off", "promoted"}
    assert set(found) == kinds
    assert all(len(bodies) == 1 for bodies in found.values())
    text = "\n".join(body for bodies in found.values() for body in bodies)
    for marker in personal_markers():
        assert marker not in text


async def wait_for_kinds(database: Database, kinds: set[str]) -> None:
    """Wait until staff notices of these kinds are queued (handlers run in the background)."""
    deadline = time.monotonic() + 10
    while not kinds <= set(await staff_bodies(database, (STAFF,))):
        assert time.monotonic() < deadline, "staff notice not queued in time"
        await asyncio.sleep(0.05)


# --- G57: the privacy-mode warning --------------------------------------------------------------


async def test_privacy_mode_off_is_a_warning_and_tells_staff_how_to_fix_it(
    engine: AsyncEngine, fake_botapi: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """G57: log level WARNING+ with the BotFather steps; staff get them in their language."""
    database = Database.on(engine)
    async with database.write() as session:
        # A Belarusian-speaking staff member, and one with no chat yet (created in English).
        await chats.add_chat(session=session, chat_id=4343, kind="private", now=NOW, language="be")
    bot = fake_botapi.make_bot()
    pipeline = _Pipeline(database, (STAFF, 4343))
    caplog.set_level(logging.INFO)
    await check_privacy_mode(bot, pipeline)  # type: ignore[arg-type]
    assert not [r for r in caplog.records if "privacy mode" in r.getMessage()]
    assert await staff_bodies(database, (STAFF, 4343)) == {}

    fake_botapi.bot_user["can_read_all_group_messages"] = True
    await check_privacy_mode(bot, pipeline)  # type: ignore[arg-type]
    (record,) = [r for r in caplog.records if "privacy mode is OFF" in r.getMessage()]
    assert record.name == "bot.telegram.runner"
    assert record.levelno >= logging.WARNING
    steps = "@BotFather -> /mybots -> Bot Settings -> Group Privacy -> Turn on"
    assert steps in record.getMessage()

    bodies = (await staff_bodies(database, (STAFF, 4343)))["privacy-mode-off"]
    english = next(b for b in bodies if "Group privacy mode is off" in b)
    belarusian = next(b for b in bodies if b is not english)
    path = "@BotFather → /mybots → Bot Settings → Group Privacy → Turn on"
    assert "Telegram sends it every group message" in english
    assert "turn it back on" in english
    assert english.endswith(path + ".")
    assert "рэжым прыватнасці" in belarusian
    assert path in belarusian
