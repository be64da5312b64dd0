"""`briefbot run` and `briefbot poll`: the service and one-off poll cycles."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime

import typer
from rich.progress import Progress
from rich.table import Table

from bot.cli.common import (
    catalog_or_exit,
    err,
    is_terminal,
    out,
    run_async,
    settings_or_exit,
    utcnow,
)
from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import queries
from bot.ingest.outcomes import FeedOutcome, PollReport
from bot.runtime import open_database, open_poller
from bot.service import new_items_hook, run_service, sync_catalog
from bot.staff.rules import effective_catalog


async def poll_once(
    settings: Settings, catalog: Catalog, now: datetime, *, every_feed: bool, show_progress: bool
) -> PollReport:
    """Sync the catalog, then poll the due feeds (or every enabled feed) once."""
    async with open_database(settings) as database:
        await sync_catalog(database, catalog, now)
        catalog = await effective_catalog(database=database, catalog=catalog)
        hook = new_items_hook(catalog, eager=False)
        await hook.refresh(database)
        async with open_poller(settings, database, on_new_items=hook) as poller:
            async with database.readers() as session:
                if every_feed:
                    feeds = [f for f in await queries.list_feeds(session=session) if f.enabled]
                else:
                    feeds = await queries.due_feeds(session=session, now=now)
            progress = Progress(console=err, transient=True) if show_progress else nullcontext()
            with progress as bar:
                task = bar.add_task("polling", total=len(feeds)) if bar else None

                def advance(_: FeedOutcome) -> None:
                    if bar is not None and task is not None:
                        bar.advance(task)

                return await poller.poll_feeds(feeds, now, progress=advance)


def _errors_table(report: PollReport) -> Table:
    table = Table(title="Feeds that failed this cycle")
    table.add_column("feed")
    table.add_column("reason")
    table.add_column("detail", overflow="fold")
    for outcome in report.outcomes:
        if outcome.error is not None:
            table.add_row(outcome.feed_id, outcome.error.reason, outcome.error.detail)
    return table


def register(app: typer.Typer) -> None:
    """Add `run` and `poll` to the top-level app."""

    @app.command("run")
    def run_command() -> None:
        """Run the service: sync feeds.yaml, then poll on schedule (Ctrl+C stops)."""
        settings = settings_or_exit()
        catalog = catalog_or_exit(settings)
        run_async(run_service(settings, catalog))

    @app.command("poll")
    def poll_command(
        once: bool = typer.Option(True, "--once/--loop", help="One cycle, or keep polling."),
        every_feed: bool = typer.Option(
            False, "--all", help="Poll every enabled feed, not only those due."
        ),
    ) -> None:
        """Poll feeds: one cycle by default, reporting new items and failing feeds."""
        settings = settings_or_exit()
        catalog = catalog_or_exit(settings)
        if not once:
            run_async(run_service(settings, catalog))
            return
        report = run_async(
            poll_once(
                settings, catalog, utcnow(), every_feed=every_feed, show_progress=is_terminal()
            )
        )
        if report.count("error"):
            out.print(_errors_table(report))
        out.print(f"poll: {report.summary()}")
