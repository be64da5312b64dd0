"""Composition: builds the database, fetcher, parser pool and poller from Settings, on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db.engine import Database, create_engine
from bot.db.migrate import current_revision, upgrade
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.outcomes import PollPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.poller import NewItemsHook, Poller

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.delivery.sender import SenderPolicy


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Open the configured database, bringing its schema up to date first."""
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        yield Database.on(engine)
    finally:
        await engine.dispose()


def _sqlite_file_missing(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists())


async def has_run_before(settings: Settings) -> bool:
    """Whether the database already holds feeds (False on a first start); creates nothing."""
    if _sqlite_file_missing(settings.database_url):
        return False  # connecting would create the file
    engine = create_engine(settings.database_url)
    try:
        if await current_revision(engine) is None:
            return False
        async with engine.connect() as connection:
            return bool(await connection.scalar(text("SELECT count(*) FROM feeds")))
    finally:
        await engine.dispose()


def poll_policy(settings: Settings) -> PollPolicy:
    """The poller's limits from Settings; a feed gets its fetch and parse budget plus slack."""
    return PollPolicy(
        concurrency=settings.fetch_concurrency,
        max_bodies=settings.fetch_max_bodies,
        feed_timeout_seconds=settings.fetch_timeout_seconds + settings.parse_timeout_seconds + 30,
        max_entries=settings.max_entries_per_feed,
        failing_after=settings.feed_failing_after,
        backoff_cap_seconds=settings.backoff_max_seconds,
        max_item_age_days=settings.retention_days,
    )


@asynccontextmanager
async def open_fetch_and_parse(settings: Settings) -> AsyncIterator[tuple[Fetcher, ParserPool]]:
    """A fetcher (one HTTP session) and a parser pool, closed on exit."""
    async with (
        Fetcher(FetchPolicy.from_settings(settings)) as fetcher,
        ParserPool(
            workers=settings.parse_workers or None, timeout=settings.parse_timeout_seconds
        ) as parser,
    ):
        yield fetcher, parser


@asynccontextmanager
async def open_poller(
    settings: Settings, database: Database, *, on_new_items: NewItemsHook | None = None
) -> AsyncIterator[Poller]:
    """A poller wired to the database, a fetcher and a parser pool."""
    async with open_fetch_and_parse(settings) as (fetcher, parser):
        yield Poller(
            database=database,
            fetcher=fetcher,
            parser=parser,
            policy=poll_policy(settings),
            on_new_items=on_new_items,
        )


def sender_policy(settings: Settings) -> SenderPolicy:
    """The sender's limits and retry policy from Settings."""
    # Imported here: a one-off poll never sends, so it need not load the sender.
    from bot.delivery.pacing import SendLimits
    from bot.delivery.sender import SenderPolicy

    return SenderPolicy(
        limits=SendLimits(per_second=settings.send_rate_per_second),
        concurrency=settings.send_concurrency,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        max_attempts=settings.send_max_attempts,
    )
