"""`briefbot run` and `briefbot poll`: the service and one-off poll cycles.

Importing this module must stay cheap (`briefbot --help` does): the service, the poller and
the database are imported by the functions that use them, and `poll --once` never imports
the scheduler, the Telegram client or the metrics endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from bot.cli.common import (
    catalog_or_exit,
    err,
    is_terminal,
    out,
    run_async,
    service_catalog_or_exit,
    service_gc,
    settings_or_exit,
    utcnow,
)

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

    from bot.config.catalog import Catalog, LenientLoad
    from bot.config.settings import Settings
    from bot.db.queries import FeedDefinition
    from bot.db.tables import Feed
    from bot.ingest.outcomes import FeedOutcome, PollReport

log = logging.getLogger(__name__)


async def start_service(settings: Settings, loaded: LenientLoad) -> None:
    """Run the service on the valid part of feeds.yaml, telling staff what was refused."""
    from bot.delivery.staff_notices import report_catalog_problems
    from bot.runtime import open_database
    from bot.service import last_good_feeds, run_service

    assert loaded.catalog is not None
    catalog = loaded.catalog
    if loaded.problems:
        async with open_database(settings) as database:
            kept = await last_good_feeds(
                database,
                catalog,
                loaded.refused_feeds,
                allow_private=settings.allow_private_networks,
            )
            if kept:
                ids = [spec.id for spec in kept]
                log.warning("feeds %s keep their last loaded settings", ", ".join(ids))
                catalog = catalog.model_copy(update={"feeds": [*catalog.feeds, *kept]})
            await report_catalog_problems(
                database=database,
                staff_ids=settings.staff_ids,
                problems=loaded.problems,
                kept=[spec.id for spec in kept],
                now=datetime.now(UTC),
            )
    await run_service(settings, catalog)


async def poll_once(
    settings: Settings, catalog: Catalog, now: datetime, *, every_feed: bool, show_progress: bool
) -> PollReport:
    """Sync the catalog, then poll the due feeds (or every enabled feed) once."""
    from bot.db import queries
    from bot.runtime import open_database, open_poller
    from bot.service import new_items_hook, sync_catalog
    from bot.staff.rules import effective_catalog

    async with open_database(settings) as database:
        async with database.read() as session:
            stored = await queries.list_feeds(session=session)
        synced = catalog_in_sync(stored, catalog.feeds)
        if not synced:
            await sync_catalog(database, catalog, now)  # rows changed: `stored` is stale
        catalog = await effective_catalog(database=database, catalog=catalog)
        hook = new_items_hook(catalog, eager=False)
        await hook.refresh(database)
        async with open_poller(settings, database, on_new_items=hook) as poller:
            if every_feed and synced:
                feeds = [f for f in stored if f.enabled]
            else:
                async with database.readers() as session:
                    if every_feed:
                        feeds = [f for f in await queries.list_feeds(session=session) if f.enabled]
                    else:
                        feeds = await queries.due_feeds(session=session, now=now)
            progress = _progress_bar() if show_progress else nullcontext()
            with progress as bar:
                task = bar.add_task("polling", total=len(feeds)) if bar else None

                def advance(_: FeedOutcome) -> None:
                    if bar is not None and task is not None:
                        bar.advance(task)

                return await poller.poll_feeds(feeds, now, progress=advance)


def catalog_in_sync(stored: Sequence[Feed], specs: Sequence[FeedDefinition]) -> bool:
    """True only when syncing `specs` into the `stored` rows would change and report nothing.

    A one-off poll usually runs on the feeds.yaml the last run synced; skipping the sync then
    saves a write transaction (the SQLite write lock) and a second read of every row.
    """
    from bot.db.queries import plan_catalog_sync
    from bot.ingest.urlnorm import normalize_link

    if len({normalize_link(row.url) or row.url for row in stored}) != len(stored):
        return False  # which row owns the shared URL depends on the sync's row order
    return plan_catalog_sync(stored, specs).changes_nothing()


def _progress_bar() -> Progress:
    """A transient progress bar on stderr (only for a terminal)."""
    from rich.progress import Progress

    return Progress(console=err, transient=True)


def _errors_table(report: PollReport) -> Table:
    from rich.table import Table

    table = Table(title="Feeds that failed this cycle")
    table.add_column("feed")
    table.add_column("reason")
    table.add_column("detail", overflow="fold")
    for outcome in report.outcomes:
        if outcome.error is not None:
            table.add_row(outcome.feed_id, outcome.error.reason, outcome.error.detail)
    return table


def service_catalog(settings: Settings) -> LenientLoad:
    """feeds.yaml for the service: strict on a first start, lenient once a catalog ran."""
    from bot.runtime import has_run_before

    if not run_async(has_run_before(settings)):
        # A first start has no accepted catalog to keep running on: the whole file must be
        # right, and the report is config validate's (exit 2 on any problem).
        catalog_or_exit(settings)
    return service_catalog_or_exit(settings)


def register(app: typer.Typer) -> None:
    """Add `run` and `poll` to the top-level app."""

    @app.command("run")
    def run_command() -> None:
        """Run the service: sync feeds.yaml, then poll on schedule (Ctrl+C stops).

        On a first start any problem in feeds.yaml stops it (exit 2, as config validate).
        Later, entries that do not validate are logged, reported to staff and left out (a
        refused feed keeps its last loaded settings); only a file with nothing usable stops
        the start.
        """
        settings = settings_or_exit()
        loaded = service_catalog(settings)
        service_gc()
        run_async(start_service(settings, loaded))

    @app.command("poll")
    def poll_command(
        once: bool = typer.Option(True, "--once/--loop", help="One cycle, or keep polling."),
        every_feed: bool = typer.Option(
            False, "--all", help="Poll every enabled feed, not only those due."
        ),
    ) -> None:
        """Poll feeds: one cycle by default, reporting new items and failing feeds."""
        settings = settings_or_exit()
        if not once:
            loaded = service_catalog(settings)
            service_gc()
            run_async(start_service(settings, loaded))
            return
        catalog = catalog_or_exit(settings)
        report = run_async(
            poll_once(
                settings, catalog, utcnow(), every_feed=every_feed, show_progress=is_terminal()
            )
        )
        if report.count("error"):
            out.print(_errors_table(report))
        out.print(f"poll: {report.summary()}")
