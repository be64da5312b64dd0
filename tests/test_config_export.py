"""feeds.yaml and changes made in the bot: sync keeps staff state; export writes it all back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import common, config_cmd
from bot.config.catalog import Catalog, catalog_to_yaml, load_catalog
from bot.db import queries
from bot.db.engine import Database, create_engine
from bot.db.migrate import upgrade
from bot.db.queries import sync_catalog_feeds
from bot.db.tables import Feed
from bot.staff import feeds as staff_feeds
from bot.staff import rules
from bot.staff.export import export_yaml
from tests.support.staffkit import CATALOG, STAFF, YAML_FEED_URL, catalog, settings

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


async def _sync(database: Database, cat: Catalog) -> dict[str, int]:
    async with database.write() as session:
        return await sync_catalog_feeds(session=session, feeds=cat.feeds, now=NOW)


async def _enabled(database: Database, feed_id: str) -> bool:
    async with database.read() as session:
        feed = await session.get(Feed, feed_id)
        assert feed is not None
        return feed.enabled


async def _staff_changes(database: Database, cat: Catalog) -> None:
    """A staff feed, feeds.yaml's feed paused, and a rule edited: what export must carry."""
    await _sync(database, cat)
    request = staff_feeds.parse_request(
        ["http://127.0.0.1:8089/wire.xml", "ngo", "be", "belarus"], settings()
    )
    await staff_feeds.add_feed(
        database=database, staff_id=STAFF, request=request, title="Wire", now=NOW
    )
    await staff_feeds.set_enabled(
        database=database,
        catalog=cat,
        staff_id=STAFF,
        feed_id="yaml-feed",
        enabled=False,
        now=NOW,
    )
    await rules.change_rules(
        database=database,
        catalog=cat,
        staff_id=STAFF,
        topic_id="sanctions",
        action="rule.add",
        edit=rules.adder(cat, '"Belavia" AND ban*'),
        now=NOW,
    )


async def test_a_feeds_yaml_feed_paused_in_the_bot_stays_paused_after_a_restart(
    engine: AsyncEngine,
) -> None:
    database, cat = Database.on(engine), catalog()
    await _sync(database, cat)
    await staff_feeds.set_enabled(
        database=database,
        catalog=cat,
        staff_id=STAFF,
        feed_id="yaml-feed",
        enabled=False,
        now=NOW,
    )
    await _sync(database, cat)  # a restart: feeds.yaml still says enabled
    assert await _enabled(database, "yaml-feed") is False
    await staff_feeds.set_enabled(
        database=database,
        catalog=cat,
        staff_id=STAFF,
        feed_id="yaml-feed",
        enabled=True,
        now=NOW,
    )
    disabled_in_yaml = catalog(
        CATALOG.replace("    interval: 15m\n", "    interval: 15m\n    enabled: false\n")
    )
    await _sync(database, disabled_in_yaml)  # the bot's resume wins until export + edit
    assert await _enabled(database, "yaml-feed") is True


async def test_sync_skips_feeds_yaml_entries_that_clash_with_staff_feeds(
    engine: AsyncEngine,
) -> None:
    database, cat = Database.on(engine), catalog()
    await _sync(database, cat)
    request = staff_feeds.parse_request(["https://wire.example/rss"], settings())
    await staff_feeds.add_feed(
        database=database, staff_id=STAFF, request=request, title="Wire", now=NOW
    )
    clashing = CATALOG.replace(
        "aliases:",
        "  - id: wire-copy\n    url: https://WIRE.example/rss?utm_source=x\n    title: Copy\n"
        "    publisher: ngo\n    language: en\n    scope: global\n    interval: 15m\n"
        "  - id: wire-example\n    url: https://other.example/rss\n    title: Same id\n"
        "    publisher: ngo\n    language: en\n    scope: global\n    interval: 15m\n"
        "aliases:",
    )
    counts = await _sync(database, catalog(clashing))  # no unique-index crash at start
    assert counts["conflicts"] == 2
    async with database.read() as session:
        rows = {f.id: f for f in await queries.list_feeds(session=session)}
    assert set(rows) == {"yaml-feed", "wire-example"}
    assert rows["wire-example"].url == "https://wire.example/rss"


async def test_export_round_trips_through_load_catalog(engine: AsyncEngine, tmp_path: Path) -> None:
    database, cat = Database.on(engine), catalog()
    await _staff_changes(database, cat)
    text = await export_yaml(database=database, catalog=cat, allow_private=True)
    path = tmp_path / "exported.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_catalog(path, allow_private=True)
    feeds = {f.id: f for f in loaded.feeds}
    assert list(feeds) == ["yaml-feed", "127-0-0-1"]
    assert feeds["yaml-feed"].enabled is False
    assert feeds["yaml-feed"].url == YAML_FEED_URL
    wire = feeds["127-0-0-1"]
    assert (wire.url, wire.publisher, wire.language, wire.scope, wire.enabled) == (
        "http://127.0.0.1:8089/wire.xml",
        "ngo",
        "be",
        "belarus",
        True,
    )
    topics = {t.id: t for t in loaded.topics}
    assert topics["sanctions"].rules == ["sanction* OR санкц*", '"Belavia" AND ban*']
    assert topics["extradition"].rules == ["extradit*"]
    assert loaded.aliases == cat.aliases
    assert catalog_to_yaml(loaded) == text  # stable: exporting the export changes nothing

    # Replacing feeds.yaml with the export and restarting changes nothing in the database.
    before = await _snapshot(database)
    counts = await _sync(database, loaded)
    assert counts == {"added": 0, "updated": 0, "disabled": 0, "adopted": 1, "conflicts": 0}
    # The staff feed is feeds.yaml's now (so /feed_remove points there); nothing else moved.
    assert await _snapshot(database) == [(i, u, e, "catalog") for i, u, e, _o in before]


async def _snapshot(database: Database) -> list[tuple[str, str, bool, str]]:
    async with database.read() as session:
        return [
            (f.id, f.url, f.enabled, f.origin) for f in await queries.list_feeds(session=session)
        ]


def test_config_export_command_writes_a_file_config_validate_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The commands run in-process (a subprocess costs seconds of imports); they keep the
    # test's logging set-up.
    monkeypatch.setattr(common, "configure_logging", lambda *_: None)
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(CATALOG, encoding="utf-8")
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name, value in {
        "DATABASE_URL": database_url,
        "FEEDS_FILE": str(feeds_file),
        "ALLOW_PRIVATE_NETWORKS": "true",
    }.items():
        monkeypatch.setenv(name, value)

    async def prepare() -> None:
        engine = create_engine(database_url)
        try:
            await upgrade(engine)
            await _staff_changes(Database.on(engine), catalog())
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    exported = tmp_path / "effective.yaml"
    config_cmd.export(output=exported)
    assert "127-0-0-1" in exported.read_text(encoding="utf-8")
    monkeypatch.setenv("FEEDS_FILE", str(exported))
    config_cmd.validate()  # exits 2 on any problem
    assert "2 feeds (1 enabled), 2 topics" in capsys.readouterr().out
