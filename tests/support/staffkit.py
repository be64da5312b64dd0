"""Helpers for the staff tests: a small catalog, settings, a running bot and database reads.

async with staff_bot(fake_botapi, engine) as kit:
    reply = await kit.send(STAFF, "/feeds")
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col

from bot.config.catalog import Catalog, parse_catalog
from bot.config.settings import Settings
from bot.db.audit import loads
from bot.db.engine import Database
from bot.db.tables import AuditEntry, Chat, Feed, Item, TopicRule
from bot.service import sync_catalog
from tests.fakes.botapi import FakeBotAPI, RateLimits
from tests.fakes.botapi_methods import SentMessage
from tests.support.botrun import RunningBot, running_bot

STAFF = 4242
OTHER_STAFF = 4343
OUTSIDER = 5151
YAML_FEED_URL = "https://example.org/rss"

CATALOG = f"""\
version: 1
feeds:
  - id: yaml-feed
    url: {YAML_FEED_URL}
    title: A feed from feeds.yaml
    publisher: ngo
    language: en
    scope: global
    interval: 15m
aliases:
  belarus: [Belarus, Беларусь]
topics:
  - id: sanctions
    titles: {{en: Sanctions, be: Санкцыі, ru: Санкции}}
    urgent: true
    rules:
      - "sanction* OR санкц*"
  - id: extradition
    titles: {{en: Extradition, be: Экстрадыцыя, ru: Экстрадиция}}
    rules:
      - "extradit*"
"""


def catalog(text: str = CATALOG) -> Catalog:
    """The test catalog (loopback URLs allowed, as the loader would with the same setting)."""
    return parse_catalog(text, allow_private=True)


def settings(*, allow_private: bool = True, **overrides: Any) -> Settings:
    """Two staff ids; loopback feeds allowed unless a test checks the URL guard."""
    values: dict[str, Any] = {
        "bot_token": None,
        "staff_ids": (STAFF, OTHER_STAFF),
        "allow_private_networks": allow_private,
        "parse_workers": 1,
        "fetch_timeout_seconds": 10.0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class StaffKit:
    """A running bot, its fake Bot API and the database it writes to."""

    run: RunningBot
    server: FakeBotAPI
    database: Database
    catalog: Catalog

    async def send(self, chat_id: int, text: str, **kwargs: Any) -> SentMessage:
        """Type `text` and wait for the bot's next message in that chat."""
        self.server.push_message(chat_id, text, **kwargs)
        return await self.run.reply_to(chat_id, within=30)

    async def send_expecting(self, chat_id: int, text: str, count: int) -> list[SentMessage]:
        """Type `text` and wait for `count` new messages in that chat."""
        self.server.push_message(chat_id, text)
        return [await self.run.reply_to(chat_id, within=30) for _ in range(count)]

    async def silent(self, chat_id: int, text: str, **kwargs: Any) -> list[SentMessage]:
        """Type `text`, let it be handled, and return any messages it caused there."""
        before = len(self.server.messages(chat_id))
        self.server.push_message(chat_id, text, **kwargs)
        await self.run.settle(0.35)
        return self.server.messages(chat_id)[before:]

    async def feeds(self) -> dict[str, Feed]:
        """Every feed row by id."""
        async with self.database.read() as session:
            return {f.id: f for f in (await session.scalars(select(Feed))).all()}

    async def audit(self, action: str | None = None) -> list[AuditEntry]:
        """Audit rows, oldest first, optionally of one action."""
        async with self.database.read() as session:
            stmt = select(AuditEntry).order_by(col(AuditEntry.id))
            if action is not None:
                stmt = stmt.where(col(AuditEntry.action) == action)
            return list((await session.scalars(stmt)).all())

    async def count(self, table: type[SQLModel]) -> int:
        """Rows in a table."""
        async with self.database.read() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)

    async def state(self) -> tuple[Any, ...]:
        """A fingerprint of everything staff commands can change."""
        feeds = await self.feeds()
        return (
            sorted((f.id, f.enabled, f.staff_enabled, f.url) for f in feeds.values()),
            await self.count(AuditEntry),
            await self.count(TopicRule),
            await self.count(Chat),
            await self.count(Item),
        )


def staff_feed(feed_id: str, url: str, now: datetime) -> Feed:
    """A feed row as /feed_add would store it (origin staff)."""
    return Feed(
        id=feed_id,
        url=url,
        title=feed_id,
        publisher="ngo",
        language="en",
        scope="belarus",
        interval_seconds=900,
        origin="staff",
        created_at=now,
    )


def snapshot(value: str | None) -> dict[str, Any] | None:
    """An audit column as a dict."""
    return loads(value)


@contextlib.asynccontextmanager
async def staff_bot(
    server: FakeBotAPI,
    engine: AsyncEngine,
    *,
    config: Settings | None = None,
    cat: Catalog | None = None,
    **extra: Any,
) -> AsyncIterator[StaffKit]:
    """A bot on a fresh database with feeds.yaml synced, as the service would start it."""
    # Telegram's per-chat pacing (about 1 message/s) is the sender's concern, tested there.
    server.set_rate_limits(RateLimits.disabled())
    database = Database.on(engine)
    used = cat or catalog()
    await sync_catalog(database, used, datetime.now(UTC))
    async with running_bot(
        server, database, settings=config or settings(), catalog=used, **extra
    ) as run:
        yield StaffKit(run, server, database, used)


def rss(titles: Sequence[str], *, title: str = "Loopback News") -> bytes:
    """A small RSS document with one item per title."""
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example/{n}</link>"
        f"<guid>g{n}</guid><description>{t}</description></item>"
        for n, t in enumerate(titles)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://news.example/</link>{items}</channel></rss>"
    ).encode()
