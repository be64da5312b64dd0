"""What a one-off command costs before its work: lazy imports, the skipped catalog sync, GC.

The import checks run the command line in a subprocess and read which modules it loaded, so
a new top-level import of the service, the Telegram client, the scheduler or the metrics
endpoint into a command module shows up here rather than as a slower benchmark.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.cli.common import (
    ONE_OFF_GC_GEN0,
    SERVICE_GC_THRESHOLD,
    one_off_gc,
    service_gc,
    spare_exit_collection,
)
from bot.cli.service_cmd import catalog_in_sync
from bot.config.catalog import Catalog, parse_catalog
from bot.db import queries
from bot.db.engine import Database
from bot.db.tables import Feed
from bot.errors import BlockedURLError
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.poller import _update_feeds
from bot.ingest.types import NotModified, Validators
from tests.support.feedserver import FeedServer
from tests.test_cli import REPO, RSS, catalog

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# Nothing a one-off command line needs: the Telegram client, the scheduler, the charts, the
# metrics endpoint, translations and briefbot's own service-only modules.
SERVICE_ONLY = (
    "aiogram",
    "apscheduler",
    "matplotlib",
    "prometheus_client",
    "babel",
    "aiohttp.web",
    "bot.telegram",
    "bot.observability",
    "bot.jobs",
    "bot.leader",
    "bot.delivery.sender",
    "bot.delivery.transport",
)
# What `--help` must not load either: the database, HTTP, the parser and the settings.
HEAVY = ("sqlalchemy", "alembic", "aiohttp", "feedparser", "pebble", "yaml", "bot.db")

# Runs the command line like the console script and writes the loaded module names to a file
# at exit; `-c` has no main module for a parser fork server to re-run.
PROBE = """
import atexit, json, sys
out, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["briefbot", *args]
from bot.__main__ import main
main()
"""


def read_modules(report: Path) -> set[str]:
    """The module names a PROBE run wrote."""
    return set(json.loads(report.read_text()))


async def loaded_modules(
    report: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, set[str]]:
    """Run `briefbot ARGS` in a subprocess: exit code, stdout and the modules it imported."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PROBE,
        str(report),
        *args,
        cwd=report.parent,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None, err.decode()
    return proc.returncode, out.decode(), read_modules(report)


def present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The modules of `names` (or below them) that were imported."""
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


@pytest.mark.parametrize("args", [("--help",), ("poll", "--help"), ("config", "--help")])
async def test_help_loads_only_the_command_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    code, out, modules = await loaded_modules(tmp_path / "modules.json", *args)
    assert code == 0
    assert "Usage" in out
    assert present(modules, SERVICE_ONLY + HEAVY) == []


async def test_poll_once_loads_no_service_machinery(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A cycle where nothing changed needs neither the parser, Alembic nor the service."""
    feed_server.add("/a.xml", RSS, etag='"a1"')
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ALLOW_PRIVATE_NETWORKS": "true",
        "LOG_LEVEL": "WARNING",
        "FEEDS_FILE": str(catalog(tmp_path / "feeds.yaml", {"loop": feed_server.url("/a.xml")})),
    }
    code, out, first = await loaded_modules(tmp_path / "first.json", "poll", "--once", env=env)
    assert code == 0
    assert "new_items=2" in out
    assert present(first, SERVICE_ONLY) == []
    code, out, again = await loaded_modules(
        tmp_path / "again.json", "poll", "--once", "--all", env=env
    )
    assert code == 0
    assert "not_modified=1" in out
    # Nothing new: no parser workers, no matcher, no alert rendering; the database is current:
    # no Alembic; on SQLite: no PostgreSQL dialect.
    unused = (
        *SERVICE_ONLY,
        "alembic",
        "feedparser",
        "pebble",
        "bot.matching.hook",
        "bot.matching.matcher",
        "bot.digest",
        "bot.delivery.outbox",
        "sqlalchemy.dialects.postgresql",
    )
    assert present(again, unused) == []


# --- the catalog sync a one-off poll skips ---------------------------------------------------


def feeds_yaml(feeds: dict[str, dict[str, Any]]) -> str:
    """A catalog with these feeds (id -> overrides of a default entry)."""
    lines = ["version: 1", "feeds:"]
    for feed_id, changes in feeds.items():
        entry = {
            "url": f"https://news.example/{feed_id}.xml",
            "title": f"Feed {feed_id}",
            "publisher": "independent-media",
            "language": "be",
            "scope": "belarus",
            "interval": "15m",
            **changes,
        }
        lines.append(f"  - id: {feed_id}")
        lines += [f"    {key}: {json.dumps(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


BASE = {"fa": {}, "fb": {}, "fc": {"enabled": False}}


async def stored_rows(database: Database) -> list[Feed]:
    """Every feeds row, as the one-off poll reads them."""
    async with database.read() as session:
        return await queries.list_feeds(session=session)


async def sync_counts(database: Database, cat: Catalog) -> dict[str, int]:
    """What a sync of `cat` does (it runs and commits)."""
    async with database.write() as session:
        return await queries.sync_catalog_feeds(session=session, feeds=cat.feeds, now=NOW)


async def in_sync_then_sync(database: Database, cat: Catalog) -> tuple[bool, dict[str, int]]:
    """catalog_in_sync's answer for `cat`, then what the full sync did; never True and busy."""
    in_sync = catalog_in_sync(await stored_rows(database), cat.feeds)
    counts = await sync_counts(database, cat)
    if in_sync:
        assert not any(counts.values()), counts  # a skipped sync must have had nothing to do
    return in_sync, counts


@pytest.fixture
async def synced(engine: AsyncEngine) -> Database:
    """A database where feeds.yaml's BASE catalog was synced."""
    database = Database.on(engine)
    await sync_counts(database, parse_catalog(feeds_yaml(BASE)))
    return database


async def test_an_unchanged_catalog_is_in_sync(synced: Database) -> None:
    assert await in_sync_then_sync(synced, parse_catalog(feeds_yaml(BASE))) == (True, {
        "added": 0, "updated": 0, "disabled": 0, "adopted": 0, "conflicts": 0
    })  # fmt: skip


@pytest.mark.parametrize(
    ("feeds", "count"),
    [
        ({**BASE, "fa": {"title": "Renamed"}}, "updated"),
        ({**BASE, "fa": {"url": "https://news.example/moved.xml"}}, "updated"),
        ({**BASE, "fa": {"interval": "1h"}}, "updated"),
        ({**BASE, "fa": {"language": "ru"}}, "updated"),
        ({**BASE, "fa": {"scope": "global"}}, "updated"),
        ({**BASE, "fa": {"publisher": "ngo"}}, "updated"),
        ({**BASE, "fc": {}}, "updated"),  # enabled again
        ({**BASE, "fd": {}}, "added"),
        ({"fa": {}, "fc": {"enabled": False}}, "disabled"),  # fb left feeds.yaml
    ],
)
async def test_any_change_runs_the_sync(
    synced: Database, feeds: dict[str, dict[str, Any]], count: str
) -> None:
    in_sync, counts = await in_sync_then_sync(synced, parse_catalog(feeds_yaml(feeds)))
    assert not in_sync
    assert counts[count] == 1
    again, _ = await in_sync_then_sync(synced, parse_catalog(feeds_yaml(feeds)))
    assert again  # once synced, the same catalog is in sync


async def test_a_staff_pause_is_in_sync_and_a_staff_feed_is_not(synced: Database) -> None:
    async with synced.write() as session:
        await session.execute(
            update(Feed).where(col(Feed.id) == "fa").values(staff_enabled=False, enabled=False)
        )
    cat = parse_catalog(feeds_yaml(BASE))
    assert await in_sync_then_sync(synced, cat) == (True, {
        "added": 0, "updated": 0, "disabled": 0, "adopted": 0, "conflicts": 0
    })  # fmt: skip
    async with synced.write() as session:
        await session.execute(update(Feed).where(col(Feed.id) == "fb").values(origin="staff"))
    in_sync, counts = await in_sync_then_sync(synced, cat)
    assert (in_sync, counts["adopted"]) == (False, 1)


def staff_feed(feed_id: str, url: str) -> Feed:
    """A feed added in the bot."""
    return Feed(
        id=feed_id,
        url=url,
        title="Staff feed",
        publisher="ngo",
        language="be",
        scope="belarus",
        interval_seconds=900,
        origin="staff",
        created_at=NOW,
    )


async def test_a_conflict_with_a_staff_feed_runs_the_sync_every_time(synced: Database) -> None:
    """The sync logs and counts the conflict on each run; skipping it would hide that."""
    async with synced.write() as session:
        session.add(staff_feed("staff-s", "https://news.example/s.xml"))
    cat = parse_catalog(feeds_yaml({**BASE, "fd": {"url": "https://news.example/s.xml"}}))
    for _ in range(2):
        in_sync, counts = await in_sync_then_sync(synced, cat)
        assert (in_sync, counts["conflicts"]) == (False, 1)


async def test_two_rows_with_one_normalised_url_run_the_sync(synced: Database) -> None:
    """Which row owns a shared URL depends on the sync's row order: never guessed."""
    async with synced.write() as session:
        session.add(staff_feed("staff-twin", "https://news.example/fa.xml?utm_source=bot"))
    in_sync, _ = await in_sync_then_sync(synced, parse_catalog(feeds_yaml(BASE)))
    assert not in_sync


# --- the poller's batched health write --------------------------------------------------------


async def test_update_feeds_writes_what_update_feed_writes(synced: Database) -> None:
    values: dict[str, Any] = {
        "etag": '"v2"',
        "last_modified": "Mon, 01 Jun 2026 11:00:00 GMT",
        "body_hash": "ab" * 32,
        "last_status": 304,
        "last_checked_at": NOW,
        "last_success_at": NOW,
        "consecutive_errors": 0,
        "last_error_reason": None,
        "last_error": None,
        "failing_since": None,
        "next_check_at": NOW + timedelta(minutes=15),
    }
    async with synced.write() as session:
        await queries.update_feed(session=session, feed_id="fa", values=values)
    async with synced.write() as session:
        await _update_feeds(session, [("fb", values), ("fc", {**values, "last_status": 200})])
    async with synced.read() as session:
        rows = {f.id: f for f in (await session.scalars(select(Feed))).all()}

    def health(row: Feed) -> dict[str, Any]:
        return {name: getattr(row, name) for name in values}

    assert health(rows["fa"]) == health(rows["fb"]) == values
    assert health(rows["fc"]) == {**values, "last_status": 200}
    assert [(rows[i].title, rows[i].enabled) for i in ("fb", "fc")] == [
        ("Feed fb", True),
        ("Feed fc", False),
    ]


# --- the fetcher's URL guard memo --------------------------------------------------------------


async def test_a_refused_url_is_refused_every_time(feed_server: FeedServer) -> None:
    feed_server.add("/a.xml", RSS, etag='"a1"')
    url = feed_server.url("/a.xml")
    async with Fetcher(FetchPolicy()) as strict:
        for _ in range(2):
            with pytest.raises(BlockedURLError):
                await strict.fetch(url)
    async with Fetcher(FetchPolicy(allow_private=True, allow_any_port=True)) as open_:
        first = await open_.fetch(url)
        again = await open_.fetch(url, Validators(etag='"a1"'))
    assert not isinstance(first, NotModified)
    assert first.body == RSS.encode()
    assert isinstance(again, NotModified)
    assert feed_server.hits("/a.xml") == 2


# --- garbage collection of one-off commands ---------------------------------------------------


@pytest.fixture
def gc_thresholds() -> Iterator[None]:
    """Put the test process's collector thresholds back afterwards."""
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("gc_thresholds")
def test_one_off_commands_collect_less_often_and_the_service_as_python_does() -> None:
    one_off_gc()
    assert gc.get_threshold() == (ONE_OFF_GC_GEN0, *SERVICE_GC_THRESHOLD[1:])
    service_gc()
    assert gc.get_threshold() == SERVICE_GC_THRESHOLD


def test_an_exiting_command_spares_its_objects_the_last_collection() -> None:
    try:
        spare_exit_collection()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this test process goes on
