"""The long-running service behind `briefbot run`: poll, match, queue, build digests, send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.db import chats, queries
from bot.delivery.alerts import AlertEnqueuer

if TYPE_CHECKING:
    # `briefbot poll --once` uses this module for the catalog sync and the matching hook:
    # the scheduler, the sender, the metrics endpoint (aiohttp.web, prometheus) and the
    # matcher are imported where the service starts or the first new item arrives.
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config.catalog import Catalog, FeedSpec
    from bot.config.settings import Settings
    from bot.db.engine import Database
    from bot.db.tables import Feed
    from bot.delivery.digests import DigestBuilder
    from bot.delivery.sender import Sender
    from bot.delivery.transport import Transport
    from bot.ingest.poller import Poller
    from bot.ingest.types import Entry
    from bot.leader import Lead
    from bot.matching.hook import MatchingHook
    from bot.observability import ServiceStatus

log = logging.getLogger(__name__)
# A standby retries the leader lock this often; the leader re-checks it this often. A dead
# leader's lock goes with its connection, so a standby takes over within LEAD_RETRY_SECONDS.
LEAD_RETRY_SECONDS = 5.0
LEAD_CHECK_SECONDS = 2.0
# The terminal's own subscriber in console mode (no BOT_TOKEN): Telegram never uses 0.
CONSOLE_CHAT_ID = 0


class ServiceHook:
    """Matching (compiled on first use unless eager) and alert enqueuing, per feed."""

    def __init__(
        self, catalog: Catalog, *, alerts: AlertEnqueuer | None, eager: bool = True
    ) -> None:
        self._catalog = catalog
        self._alerts = alerts
        self._hook: MatchingHook | None = None
        if eager:
            self._matching()  # a long-running service reports rule problems at start

    def _matching(self) -> MatchingHook:
        # Compiling the catalog takes a noticeable fraction of a second: a one-off poll where
        # nothing changed never needs it.
        if self._hook is None:
            from bot.matching.hook import MatchingHook, rules_version
            from bot.matching.matcher import Matcher

            catalog = self._catalog
            self._hook = MatchingHook(
                Matcher.from_catalog(catalog), version=rules_version(catalog), alerts=self._alerts
            )
        return self._hook

    async def refresh(self, database: Database) -> None:
        """Load subscribers' personal rules as they are now (before a poll cycle)."""
        if self._alerts is None:
            return
        async with database.read() as session:
            texts = await chats.personal_rules(session=session)
        if texts or self._hook is not None:  # compile the matcher only when there is a use
            self._matching().personal.refresh(texts)

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
        """Store verdicts and stories, and queue alerts, in the feed's transaction."""
        await self._matching().store(
            session=session, feed=feed, stored=stored, prepared=prepared, now=now
        )


def new_items_hook(catalog: Catalog, *, alerts: bool = True, eager: bool = True) -> ServiceHook:
    """The hook the service and `poll` give the poller."""
    return ServiceHook(
        catalog, alerts=AlertEnqueuer(catalog.topics) if alerts else None, eager=eager
    )


async def sync_catalog(database: Database, catalog: Catalog, now: datetime) -> dict[str, int]:
    """Mirror feeds.yaml into the database in one transaction."""
    async with database.write() as session:
        return await queries.sync_catalog_feeds(session=session, feeds=catalog.feeds, now=now)


async def last_good_feeds(
    database: Database, catalog: Catalog, refused: Sequence[str], *, allow_private: bool
) -> list[FeedSpec]:
    """Feeds whose feeds.yaml entry was refused, as the database last had them from the file.

    Without this the sync would disable them: a typo in one entry would silence a feed that
    worked. A stored row is checked again; one that no longer passes, or whose URL another
    feed now uses, stays out (and is disabled by the sync, as before).
    """
    if not refused:
        return []
    from pydantic import ValidationError

    from bot.config.catalog import FeedSpec
    from bot.ingest.urlnorm import normalize_link

    async with database.read() as session:
        rows = await queries.catalog_feeds(session=session, ids=refused)
    taken = {normalize_link(feed.url) or feed.url for feed in catalog.feeds}
    order = {feed_id: n for n, feed_id in enumerate(refused)}  # feeds.yaml's order
    kept = []
    for row in sorted(rows, key=lambda feed: order[feed.id]):
        data = {
            "id": row.id,
            "url": row.url,
            "title": row.title,
            "publisher": row.publisher,
            "language": row.language,
            "scope": row.scope,
            "interval": f"{row.interval_seconds}s",
            "enabled": row.enabled,
        }
        try:
            spec = FeedSpec.model_validate(data, context={"allow_private": allow_private})
        except ValidationError:
            log.warning("feed=%s: its stored settings no longer validate; not kept", row.id)
            continue
        key = normalize_link(spec.url) or spec.url
        if key not in taken:
            taken.add(key)
            kept.append(spec)
    return kept


async def ensure_console_chat(database: Database, settings: Settings, now: datetime) -> None:
    """Console mode's one local subscriber: everything, at once, and a daily digest."""
    async with database.write() as session:
        if await chats.get_chat(session=session, chat_id=CONSOLE_CHAT_ID) is None:
            await chats.add_chat(
                session=session,
                chat_id=CONSOLE_CHAT_ID,
                kind="console",
                now=now,
                timezone=settings.timezone,
                alert_mode=chats.INSTANT,
                digest_frequency="daily",
                # The first digest right after the first poll, so a newcomer sees one.
                next_digest_at=now,
            )


def _new_status() -> ServiceStatus:
    """A fresh ServiceStatus (bot.observability is imported only by the service)."""
    from bot.observability import ServiceStatus

    return ServiceStatus()


@dataclass(slots=True)
class Pipeline:
    """The service's parts and the jobs that drive them."""

    settings: Settings
    database: Database
    poller: Poller
    sender: Sender
    digests: DigestBuilder
    hook: ServiceHook
    lead: Lead
    status: ServiceStatus = field(default_factory=_new_status)
    polled_once: bool = False

    async def poll(self) -> None:
        """Poll due feeds, then let the sender see the alerts they queued."""
        started = time.monotonic()
        await self.hook.refresh(self.database)
        report = await self.poller.poll_due_feeds(datetime.now(UTC))
        self.status.record_poll(
            new_items=report.new_items, seconds=time.monotonic() - started, now=datetime.now(UTC)
        )
        self.polled_once = True
        self.sender.wake()

    async def build_digests(self) -> None:
        """Queue the digests that are due (after the first poll, so they include its news)."""
        if not self.polled_once:
            return
        if await self.digests.build_due(database=self.database, now=datetime.now(UTC)):
            self.sender.wake()

    async def pump(self) -> None:
        """Make sure the sender looks at the outbox (rows may come from another process)."""
        self.sender.wake()

    async def staff_checks(self) -> None:
        """Tell staff about failing and silent feeds (one message per incident)."""
        from bot.delivery.staff_notices import check_feeds

        if await check_feeds(
            database=self.database, staff_ids=self.settings.staff_ids, now=datetime.now(UTC)
        ):
            self.sender.wake()

    async def retention(self) -> None:
        """Prune old items and settled outbox rows."""
        from bot.delivery.digests import prune

        items, rows = await prune(
            database=self.database, now=datetime.now(UTC), keep_days=self.settings.retention_days
        )
        log.info("retention pruned items=%d outbox_rows=%d", items, rows)

    def schedule(self) -> AsyncIOScheduler:
        """A scheduler with every job added (not started)."""
        from bot.jobs import add_poll_job, add_service_jobs, build_scheduler

        scheduler = build_scheduler()
        now = datetime.now(UTC)
        add_poll_job(scheduler, self.poll, every_seconds=self.settings.poll_tick_seconds, now=now)
        add_service_jobs(
            scheduler,
            digests=self.build_digests,
            pump=self.pump,
            retention=self.retention,
            staff_checks=self.staff_checks,
            digest_every=self.settings.digest_tick_seconds,
            now=now,
        )
        return scheduler


@asynccontextmanager
async def open_pipeline(
    settings: Settings, catalog: Catalog, transport: Transport
) -> AsyncIterator[Pipeline]:
    """Database (migrated, catalog synced), poller, sender and digest builder."""
    from bot.delivery.digests import DigestBuilder
    from bot.delivery.sender import Sender
    from bot.delivery.staff_notices import report_long_pause
    from bot.leader import leadership
    from bot.runtime import open_database, open_poller, sender_policy
    from bot.staff.rules import effective_catalog

    async with open_database(settings) as database, leadership(database.engine) as lead:
        if database.engine.dialect.name == "sqlite":
            await lead.try_acquire()  # a second process on the file is refused here, at start
        counts = await sync_catalog(database, catalog, datetime.now(UTC))
        log.info("catalog synced %s", " ".join(f"{k}={v}" for k, v in counts.items()))
        # Topic rules edited by staff in the bot replace feeds.yaml's for their topics.
        catalog = await effective_catalog(database=database, catalog=catalog)
        alerts = AlertEnqueuer(
            catalog.topics, max_age=timedelta(hours=settings.alert_max_age_hours)
        )
        hook = ServiceHook(catalog, alerts=alerts)
        async with open_poller(settings, database, on_new_items=hook) as poller:

            async def long_pause(seconds: float) -> None:
                await report_long_pause(
                    database=database,
                    staff_ids=settings.staff_ids,
                    seconds=seconds,
                    now=datetime.now(UTC),
                )

            sender = Sender(
                database=database,
                transport=transport,
                policy=sender_policy(settings),
                on_long_pause=long_pause,
            )
            pipeline = Pipeline(
                settings, database, poller, sender, DigestBuilder(catalog.topics), hook, lead
            )
            async with _endpoints(pipeline):
                yield pipeline


@asynccontextmanager
async def _endpoints(pipeline: Pipeline) -> AsyncIterator[None]:
    """/metrics and /healthz while the pipeline exists, when METRICS_PORT is set."""
    settings = pipeline.settings
    if not settings.metrics_port:
        yield
        return
    from bot.observability import Observability, serve_observability

    observability = Observability(pipeline.database, pipeline.status, pipeline.sender.stats)
    runner = await serve_observability(observability, settings.metrics_host, settings.metrics_port)
    try:
        yield
    finally:
        await runner.cleanup()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def run_service(
    settings: Settings, catalog: Catalog, stop: asyncio.Event | None = None
) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set): Telegram with BOT_TOKEN, else the console."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    if settings.bot_token is None:
        await run_console(settings, catalog, stop)
    else:
        from bot.telegram.runner import run_telegram

        await run_telegram(settings, catalog, stop)


async def run_console(settings: Settings, catalog: Catalog, stop: asyncio.Event) -> None:
    """No BOT_TOKEN: deliver to this terminal as one local subscriber following everything."""
    from bot.delivery.transport import ConsoleTransport

    log.warning("BOT_TOKEN is not set: alerts and digests are printed here instead of Telegram")
    async with open_pipeline(settings, catalog, ConsoleTransport()) as pipeline:
        await ensure_console_chat(pipeline.database, settings, datetime.now(UTC))
        await run_pipeline(pipeline, stop)


async def run_pipeline(pipeline: Pipeline, stop: asyncio.Event) -> None:
    """Lead when possible (stand by otherwise); return once `stop` is set and all wound down."""
    standing_by = False
    while not stop.is_set():
        if not await pipeline.lead.try_acquire():
            if not standing_by:
                log.info("another instance leads: standing by")
                standing_by = True
            await _wait(stop, LEAD_RETRY_SECONDS)
            continue
        standing_by = False
        log.info("leading: polling every %gs", pipeline.settings.poll_tick_seconds)
        await _lead(pipeline, stop)
    log.info("briefbot stopped")


async def _lead(pipeline: Pipeline, stop: asyncio.Event) -> None:
    """Run the jobs and the sender until `stop`, or until the lead is lost."""
    lead_over = asyncio.Event()
    # The leader is the only sender: a dead predecessor's leases need not run out first.
    await pipeline.sender.take_over()
    scheduler = pipeline.schedule()
    scheduler.start()
    pipeline.status.leading = pipeline.status.scheduler_running = True
    sending = asyncio.create_task(pipeline.sender.run(lead_over))
    try:
        while not stop.is_set():
            await _wait(stop, LEAD_CHECK_SECONDS)
            if not stop.is_set() and not await pipeline.lead.still_held():
                log.error("leadership lost: jobs stopped until it is regained")
                break
    finally:
        lead_over.set()
        scheduler.shutdown(wait=False)
        pipeline.status.leading = pipeline.status.scheduler_running = False
        await sending


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
