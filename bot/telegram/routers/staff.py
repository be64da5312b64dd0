"""Staff commands for feeds, polling, stats and the audit log (private chat, STAFF_IDS only).

The StaffOnly filter sits on the router, so no handler here ever sees anyone else; the
rules commands live in a sub-router (staff_rules) that carries the same filter.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import audit, feedadmin, queries, stats
from bot.db.engine import Database
from bot.digest.html import escape
from bot.errors import BlockedURLError, FeedError
from bot.staff import StaffError, feeds, rules
from bot.telegram import staff_texts as texts
from bot.telegram.routers import staff_rules
from bot.telegram.staff_views import (
    blocked_text,
    fetch_failed_text,
    pack,
    reply,
    staff_errors,
    staff_help,
)
from bot.telegram.staffauth import REFUSALS, StaffOnly, staff_id

if TYPE_CHECKING:
    from bot.service import Pipeline

router = Router(name=__name__)
router.message.filter(StaffOnly())
router.include_router(staff_rules.router)

AUDIT_DEFAULT, AUDIT_MAX = 15, 50


def utcnow() -> datetime:
    """The clock: a handler is an entry point, like a job."""
    return datetime.now(UTC)


def _one_arg(command: CommandObject, usage: str) -> str:
    args = (command.args or "").split()
    if len(args) != 1:
        raise StaffError("usage", usage=usage)
    return args[0]


@router.message(Command("staff", ignore_case=True))
@staff_errors
async def staff_overview(message: Message) -> None:
    """Every staff command, one line each."""
    await reply(message, [staff_help()])


@router.message(Command("feeds", ignore_case=True))
@staff_errors
async def feed_health(message: Message, database: Database) -> None:
    """The health table of every feed."""
    async with database.read() as session:
        rows = await queries.list_feeds(session=session)
        counts = await queries.item_counts_by_feed(session=session)
    await reply(message, texts.feed_table(rows, counts, utcnow()))


@router.message(Command("feed_add", ignore_case=True))
@staff_errors
async def feed_add(
    message: Message,
    command: CommandObject,
    *,
    database: Database,
    settings: Settings,
    catalog: Catalog,
) -> None:
    """Validate the URL (SSRF guard), test-fetch it, show what would match, then add it."""
    try:
        request = feeds.parse_request((command.args or "").split(), settings)
    except BlockedURLError as exc:
        await reply(message, [blocked_text(exc)])
        return
    async with database.read() as session:
        clash = await feedadmin.feed_with_same_url(session=session, url=request.url)
    if clash is not None:
        raise StaffError("duplicate", feed_id=clash.id)
    notice = [_("Test-fetching {host}…").format(host=escape(request.host))]
    if request.host_warning:
        notice.append(_("Warning: {warning}").format(warning=escape(request.host_warning)))
    await reply(message, pack(notice))
    try:
        parsed = await feeds.try_fetch(settings, request, utcnow())
    except BlockedURLError as exc:
        await reply(message, [blocked_text(exc)])
        return
    except FeedError as exc:
        await reply(message, [fetch_failed_text(exc)])
        return
    current = await rules.effective_catalog(database=database, catalog=catalog)
    # Compiling the catalog takes a moment: off the event loop.
    previews = await asyncio.to_thread(feeds.preview, current, parsed, request.scope)
    feed = await feeds.add_feed(
        database=database,
        staff_id=staff_id(message),
        request=request,
        title=parsed.title,
        now=utcnow(),
    )
    await reply(message, texts.feed_added(feed, request, parsed, previews))


async def _switch(
    message: Message,
    command: CommandObject,
    *,
    database: Database,
    catalog: Catalog,
    enabled: bool,
) -> None:
    usage = "/feed_resume ID" if enabled else "/feed_pause ID"
    feed_id = _one_arg(command, usage)
    feed = await feeds.set_enabled(
        database=database,
        catalog=catalog,
        staff_id=staff_id(message),
        feed_id=feed_id,
        enabled=enabled,
        now=utcnow(),
    )
    text = _("Feed <code>{id}</code> resumed.") if enabled else _("Feed <code>{id}</code> paused.")
    await reply(message, [text.format(id=escape(feed.id))])


@router.message(Command("feed_pause", ignore_case=True))
@staff_errors
async def feed_pause(
    message: Message, command: CommandObject, *, database: Database, catalog: Catalog
) -> None:
    """Stop polling a feed (kept across restarts, even for feeds.yaml's own feeds)."""
    await _switch(message, command, database=database, catalog=catalog, enabled=False)


@router.message(Command("feed_resume", ignore_case=True))
@staff_errors
async def feed_resume(
    message: Message, command: CommandObject, *, database: Database, catalog: Catalog
) -> None:
    """Poll a paused feed again, from the next tick."""
    await _switch(message, command, database=database, catalog=catalog, enabled=True)


@router.message(Command("feed_remove", ignore_case=True))
@staff_errors
async def feed_remove(
    message: Message, command: CommandObject, *, database: Database, catalog: Catalog
) -> None:
    """Delete a feed and its items; queued alerts for them are dropped."""
    feed_id = _one_arg(command, "/feed_remove ID")
    removed = await feeds.remove(
        database=database,
        catalog=catalog,
        staff_id=staff_id(message),
        feed_id=feed_id,
        now=utcnow(),
    )
    await reply(
        message,
        [
            _("Feed <code>{id}</code> removed with {count} stored items.").format(
                id=escape(feed_id), count=removed
            )
        ],
    )


@router.message(Command("poll_now", ignore_case=True))
@staff_errors
async def poll_now(message: Message, database: Database, pipeline: Pipeline | None = None) -> None:
    """Run one poll cycle of the due feeds now and report what it did."""
    if pipeline is None:
        await reply(message, [_("No poller runs in this process, so nothing was polled.")])
        return
    started = utcnow()
    await pipeline.poll()
    async with database.read() as session:
        checked, failing, items = await stats.poll_summary(session=session, since=started)
    text = _("Poll done: {feeds} feeds checked, {failing} with errors, {items} new items.")
    await reply(message, [text.format(feeds=checked, failing=failing, items=items)])


@router.message(Command("stats", ignore_case=True))
@staff_errors
async def stats_command(message: Message, command: CommandObject, database: Database) -> None:
    """Counts only; any request for who subscribes to what is refused (G56)."""
    if command.args:
        await reply(
            message,
            [
                _(
                    "/stats shows counts only and takes no arguments: staff views never "
                    "list who subscribes to what."
                )
            ],
        )
        return
    async with database.read() as session:
        found = await stats.collect(session=session, now=utcnow())
    await reply(message, texts.stats_view(found, REFUSALS.total))


@router.message(Command("audit", ignore_case=True))
@staff_errors
async def audit_command(message: Message, command: CommandObject, database: Database) -> None:
    """The newest staff changes."""
    arg = (command.args or "").strip()
    limit = min(int(arg), AUDIT_MAX) if arg.isdigit() and int(arg) > 0 else AUDIT_DEFAULT
    async with database.read() as session:
        entries = await audit.recent(session=session, limit=limit)
    await reply(message, texts.audit_view(entries))
