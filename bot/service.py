"""The long-running service behind `briefbot run`: catalog sync, then polling on schedule."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import queries
from bot.db.engine import Database
from bot.db.tables import Feed
from bot.ingest.poller import NewItemsHook
from bot.ingest.types import Entry
from bot.jobs import add_poll_job, build_scheduler
from bot.matching.hook import MatchingHook, Prepared, rules_version
from bot.matching.matcher import Matcher
from bot.runtime import open_database, open_poller

log = logging.getLogger(__name__)
TITLES_LOGGED_PER_FEED = 3


class ServiceHook:
    """Matching, then (until delivery exists) a log line naming the relevant new items."""

    def __init__(self, catalog: Catalog, *, announce: bool, eager: bool = True) -> None:
        self._catalog = catalog
        self._announce = announce
        self._hook: MatchingHook | None = None
        if eager:
            self._matching()  # a long-running service reports rule problems at start

    def _matching(self) -> MatchingHook:
        # Compiling the catalog takes a noticeable fraction of a second: a one-off poll where
        # nothing changed never needs it.
        if self._hook is None:
            catalog = self._catalog
            self._hook = MatchingHook(Matcher.from_catalog(catalog), version=rules_version(catalog))
        return self._hook

    def prepare(self, feed: Feed, entries: Sequence[Entry]) -> Mapping[str, object]:
        """Verdicts per entry key."""
        return self._matching().prepare(feed, entries)

    async def store(
        self,
        *,
        session: AsyncSession,
        feed: Feed,
        stored: Sequence[tuple[int, Entry]],
        prepared: Mapping[str, object],
        now: datetime,
    ) -> None:
        """Store verdicts; log relevant titles (public feed text, nothing personal)."""
        await self._matching().store(
            session=session, feed=feed, stored=stored, prepared=prepared, now=now
        )
        if not self._announce:
            return
        relevant = [
            entry
            for _, entry in stored
            if isinstance(ready := prepared[entry.key], Prepared) and ready.verdict.relevant
        ]
        titles = " | ".join(e.title for e in relevant[:TITLES_LOGGED_PER_FEED])
        log.info(
            "feed=%s new_items=%d relevant=%d e.g. %s", feed.id, len(stored), len(relevant), titles
        )


def new_items_hook(catalog: Catalog, *, announce: bool, eager: bool = True) -> NewItemsHook:
    """The hook the service and `poll` give the poller."""
    return ServiceHook(catalog, announce=announce, eager=eager)


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
        hook = new_items_hook(catalog, announce=True)
        async with open_poller(settings, database, on_new_items=hook) as poller:

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
