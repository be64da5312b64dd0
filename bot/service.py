"""The long-running service behind `briefbot run`: catalog sync, then polling on schedule."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import queries
from bot.db.tables import Feed, Item
from bot.jobs import add_poll_job, build_scheduler
from bot.runtime import Database, open_database, open_poller

log = logging.getLogger(__name__)
TITLES_LOGGED_PER_FEED = 3


async def log_new_items(
    *, session: AsyncSession, feed: Feed, item_ids: Sequence[int], now: datetime
) -> None:
    """Until delivery exists, say what was found (titles are public feed text, not personal)."""
    stmt = select(col(Item.title)).where(col(Item.id).in_(item_ids[:TITLES_LOGGED_PER_FEED]))
    titles = (await session.scalars(stmt)).all()
    log.info("feed=%s new_items=%d e.g. %s", feed.id, len(item_ids), " | ".join(titles))


async def sync_catalog(database: Database, catalog: Catalog, now: datetime) -> dict[str, int]:
    """Mirror feeds.yaml into the database in one transaction."""
    async with database.sessions() as session, session.begin():
        return await queries.sync_catalog_feeds(session=session, feeds=catalog.feeds, now=now)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def run_service(
    settings: Settings, catalog: Catalog, stop: asyncio.Event | None = None
) -> None:
    """Poll on schedule until SIGINT/SIGTERM (or `stop` is set)."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    if settings.bot_token is None:
        log.warning(
            "BOT_TOKEN is not set: items are logged here; Telegram delivery needs BOT_TOKEN"
        )
    async with open_database(settings) as database:
        counts = await sync_catalog(database, catalog, datetime.now(UTC))
        log.info("catalog synced %s", " ".join(f"{k}={v}" for k, v in counts.items()))
        async with open_poller(settings, database, on_new_items=log_new_items) as poller:

            async def poll() -> None:
                await poller.poll_due_feeds(datetime.now(UTC))

            scheduler = build_scheduler()
            add_poll_job(
                scheduler, poll, every_seconds=settings.poll_tick_seconds, now=datetime.now(UTC)
            )
            scheduler.start()
            log.info(
                "briefbot running: polling every %gs; Ctrl+C stops", settings.poll_tick_seconds
            )
            try:
                await stop.wait()
            finally:
                scheduler.shutdown(wait=False)
                log.info("briefbot stopped")
