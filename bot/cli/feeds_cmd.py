"""`briefbot feeds ...`: the health table and a dry-run check of one feed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer

from bot.cli.common import out, run_async, settings_or_exit, utcnow
from bot.errors import FeedError

if TYPE_CHECKING:
    from rich.table import Table

    from bot.config.settings import Settings
    from bot.db.tables import Feed
    from bot.ingest.types import ParsedFeed

app = typer.Typer(help="Feeds and their health.", no_args_is_help=True)


def ago(when: datetime | None, now: datetime) -> str:
    """A short relative time such as '5m ago' or 'in 2h'."""
    if when is None:
        return "-"
    seconds = int((now - when).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"


def _health_table(feeds: list[Feed], counts: dict[str, int], now: datetime) -> Table:
    from rich.table import Table

    from bot.ingest.health import feed_state

    table = Table(title="Feeds", show_lines=False)
    for column in (
        "id",
        "state",
        "publisher",
        "lang",
        "scope",
        "items",
        "checked",
        "next",
        "errors",
        "last error",
    ):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "failing": "red", "error": "yellow", "paused": "dim", "new": "cyan"}
    for feed in feeds:
        state = feed_state(feed)
        table.add_row(
            feed.id,
            f"[{colours[state]}]{state}[/]",
            feed.publisher,
            feed.language,
            feed.scope,
            str(counts.get(feed.id, 0)),
            ago(feed.last_checked_at, now),
            ago(feed.next_check_at, now) if feed.enabled else "-",
            str(feed.consecutive_errors or ""),
            feed.last_error or "",
        )
    return table


@app.command("list")
def list_command() -> None:
    """Show every feed with its health: state, items, last and next check, last error."""
    from bot.db import queries
    from bot.runtime import open_database

    settings = settings_or_exit()

    async def go() -> tuple[list[Feed], dict[str, int]]:
        async with open_database(settings) as db, db.sessions() as session:
            return await queries.list_feeds(session=session), await queries.item_counts_by_feed(
                session=session
            )

    feeds, counts = run_async(go())
    if not feeds:
        out.print("No feeds stored yet: run `briefbot poll --once` to load feeds.yaml.")
        return
    out.print(_health_table(feeds, counts, utcnow()))


async def _resolve_target(settings: Settings, target: str) -> tuple[str, str, set[str]]:
    """The URL, language and already-stored keys for a feed id, or a bare URL."""
    from bot.db import queries
    from bot.ingest.urlguard import check_url
    from bot.runtime import open_database

    async with open_database(settings) as db, db.sessions() as session:
        feed = await queries.get_feed(session=session, feed_id=target)
        if feed is not None:
            items = await queries.stored_keys(session=session, feed_id=feed.id)
            return feed.url, feed.language, items
    check_url(target, allow_private=settings.allow_private_networks)
    return target, "en", set()


def _entries_table(parsed: ParsedFeed, known: set[str], limit: int) -> Table:
    from rich.table import Table

    from bot.ingest.urlnorm import link_domain

    table = Table(title=f"{parsed.title or 'untitled feed'}: {len(parsed.entries)} entries")
    for column in ("", "published", "title", "link domain"):
        table.add_column(column, overflow="fold")
    for entry in parsed.entries[:limit]:
        mark = "stored" if entry.key in known else "[green]new[/]"
        domain = link_domain(entry.url) if entry.url else "-"
        table.add_row(mark, entry.published_at.strftime("%Y-%m-%d %H:%M"), entry.title, domain)
    return table


@app.command("check")
def check_command(
    target: str = typer.Argument(..., help="A feed id from the database, or a feed URL."),
    limit: int = typer.Option(20, help="How many entries to show."),
) -> None:
    """Dry run: fetch and parse one feed and show what would be stored; stores nothing."""
    from bot.ingest.probe import probe_feed
    from bot.ingest.urlguard import display_host

    settings = settings_or_exit()
    shown = display_host(target)
    if shown.warning:
        out.print(f"warning: {shown.warning}", highlight=False, markup=False)

    async def go() -> tuple[ParsedFeed | None, set[str]]:
        url, language, known = await _resolve_target(settings, target)
        return await probe_feed(settings, url, language=language, now=utcnow()), known

    try:
        parsed, known = run_async(go())
    except FeedError as exc:  # pragma: no cover - run_async already turns these into exits
        raise typer.Exit(1) from exc
    if parsed is None:
        out.print("The server answered 304 Not Modified.")
        return
    out.print(_entries_table(parsed, known, limit))
    new = sum(1 for e in parsed.entries if e.key not in known)
    note = f" (malformed XML read loosely: {parsed.bozo})" if parsed.bozo else ""
    out.print(f"would store {new} new of {len(parsed.entries)} entries{note}; nothing was stored")
