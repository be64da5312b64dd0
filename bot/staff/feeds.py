"""Feeds added, paused, resumed and removed by staff; each change audited in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.config.catalog import LANGUAGES, Catalog
from bot.config.settings import Settings
from bot.db import audit, feedadmin
from bot.db.engine import Database
from bot.db.tables import Feed
from bot.ingest.probe import probe_feed
from bot.ingest.types import ParsedFeed
from bot.ingest.urlguard import check_url, display_host
from bot.ingest.urlnorm import normalize_link
from bot.matching.matcher import Matcher, MatchInput
from bot.staff import StaffError

PUBLISHERS = ("government", "state-media", "independent-media", "ngo", "international")
SCOPES = ("belarus", "global")
DEFAULT_INTERVAL_SECONDS = 30 * 60
PREVIEW_ENTRIES = 5


@dataclass(frozen=True, slots=True)
class FeedRequest:
    """What /feed_add asked for, validated (the URL passed the SSRF guard)."""

    url: str
    host: str  # ASCII (punycode) host shown to staff
    host_warning: str | None  # set when the written host has look-alike letters
    publisher: str = "independent-media"
    language: str = "en"
    scope: str = "global"


def parse_request(args: Sequence[str], settings: Settings) -> FeedRequest:
    """`URL [publisher] [language] [scope]` (the options in any order); StaffError otherwise."""
    if not args:
        raise StaffError("feed_add_usage")
    url, options = args[0], args[1:]
    values = {"publisher": "independent-media", "language": "en", "scope": "global"}
    for option in options:
        word = option.strip().lower()
        if word in PUBLISHERS:
            values["publisher"] = word
        elif word in SCOPES:
            values["scope"] = word
        elif word in LANGUAGES:
            values["language"] = word
        else:
            raise StaffError("feed_add_option", option=option[:40])
    # Refused here, before anything connects: literal private addresses, local names, odd
    # ports, credentials, other schemes. Names are checked again at connect time.
    checked = check_url(url, allow_private=settings.allow_private_networks)
    if normalize_link(checked) is None or len(checked) > 2048:
        raise StaffError("bad_url")
    shown = display_host(checked)
    return FeedRequest(checked, shown.host, shown.warning, **values)


async def try_fetch(settings: Settings, request: FeedRequest, now: datetime) -> ParsedFeed:
    """Fetch and parse the feed as the poller would; FeedError or StaffError on failure."""
    parsed = await probe_feed(settings, request.url, language=request.language, now=now)
    if parsed is None:  # a 304 to a request without validators: not a usable feed server
        raise StaffError("not_modified")
    return parsed


def preview(
    catalog: Catalog, parsed: ParsedFeed, scope: str, limit: int = PREVIEW_ENTRIES
) -> list[tuple[str, tuple[str, ...]]]:
    """The first entries' titles with the topics each would match."""
    matcher = Matcher.from_catalog(catalog)
    shown = []
    for entry in parsed.entries[:limit]:
        verdict = matcher.match(
            MatchInput(entry.key, entry.title, entry.summary, entry.language, scope, entry.url)
        )
        shown.append((entry.title, verdict.topics if verdict.relevant else ()))
    return shown


def _new_feed(feed_id: str, request: FeedRequest, title: str, now: datetime) -> Feed:
    return Feed(
        id=feed_id,
        url=request.url,
        title=(title.strip() or request.host)[:300],
        publisher=request.publisher,
        language=request.language,
        scope=request.scope,
        interval_seconds=DEFAULT_INTERVAL_SECONDS,
        enabled=True,
        origin="staff",
        created_at=now,
    )


async def add_feed(
    *, database: Database, staff_id: int, request: FeedRequest, title: str, now: datetime
) -> Feed:
    """Insert a staff feed (audited); StaffError duplicate when its URL is taken (E47)."""
    try:
        async with database.write() as session:
            await audit.serialize_staff_edits(session=session)
            clash = await feedadmin.feed_with_same_url(session=session, url=request.url)
            if clash is not None:
                raise StaffError("duplicate", feed_id=clash.id)
            base = feedadmin.slug_for_host(request.host)
            feed = _new_feed(
                await feedadmin.free_feed_id(session=session, base=base), request, title, now
            )
            session.add(feed)
            await session.flush()
            await audit.record(
                session=session,
                staff_id=staff_id,
                action="feed.add",
                target=f"feed:{feed.id}",
                before=None,
                after=feedadmin.feed_snapshot(feed),
                now=now,
            )
    except IntegrityError:
        # Someone else stored it between our check and our insert: the unique index held.
        async with database.read() as session:
            clash = await feedadmin.feed_with_same_url(session=session, url=request.url)
        raise StaffError("duplicate", feed_id=clash.id if clash else "?") from None
    return feed


def _in_catalog(catalog: Catalog, feed_id: str) -> bool:
    return any(spec.id == feed_id for spec in catalog.feeds)


async def set_enabled(
    *,
    database: Database,
    catalog: Catalog,
    staff_id: int,
    feed_id: str,
    enabled: bool,
    now: datetime,
) -> Feed:
    """Pause or resume one feed (audited); the choice survives feeds.yaml syncs."""
    async with database.write() as session:
        feed = await session.get(Feed, feed_id)
        if feed is None:
            raise StaffError("unknown_feed", feed_id=feed_id)
        if enabled and feed.origin == "catalog" and not _in_catalog(catalog, feed_id):
            raise StaffError("feed_gone_from_yaml", feed_id=feed_id)
        if feed.enabled == enabled:
            raise StaffError("already_running" if enabled else "already_paused", feed_id=feed_id)
        before = feedadmin.feed_snapshot(feed)
        await feedadmin.set_feed_enabled(session=session, feed=feed, enabled=enabled)
        await audit.record(
            session=session,
            staff_id=staff_id,
            action="feed.resume" if enabled else "feed.pause",
            target=f"feed:{feed_id}",
            before=before,
            after=feedadmin.feed_snapshot(feed),
            now=now,
        )
    return feed


async def remove(
    *, database: Database, catalog: Catalog, staff_id: int, feed_id: str, now: datetime
) -> int:
    """Delete a feed with its items (audited); feeds.yaml's own feeds are paused instead."""
    async with database.write() as session:
        feed = await session.get(Feed, feed_id)
        if feed is None:
            raise StaffError("unknown_feed", feed_id=feed_id)
        if feed.origin == "catalog" and _in_catalog(catalog, feed_id):
            # It would come back at the next start: feeds.yaml is the place to remove it.
            raise StaffError("feed_in_yaml", feed_id=feed_id)
        before = feedadmin.feed_snapshot(feed)
        removed = await feedadmin.remove_feed(session=session, feed=feed)
        await audit.record(
            session=session,
            staff_id=staff_id,
            action="feed.remove",
            target=f"feed:{feed_id}",
            before={**before, "items": removed},
            after=None,
            now=now,
        )
    return removed
