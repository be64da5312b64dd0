"""Polls due feeds: fetch, parse, dedupe, store items and health in one transaction per feed."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import queries
from bot.db.tables import Feed
from bot.errors import FeedError
from bot.ingest.health import next_check_after_failure, next_check_after_success
from bot.ingest.types import Entry, FetchResult, NotModified, ParsedFeed, Validators

log = logging.getLogger(__name__)

# A re-served article (new GUID, same link or same text) is recognised this long.
REPOST_WINDOW = timedelta(days=30)
Status = Literal["new", "unchanged", "not_modified", "error"]


class FeedFetcher(Protocol):
    """What the poller needs from bot.ingest.fetch.Fetcher."""

    async def fetch(self, url: str, validators: Validators = ...) -> FetchResult | NotModified:
        """Fetch one feed URL."""
        ...


class FeedParser(Protocol):
    """What the poller needs from bot.ingest.parsepool.ParserPool."""

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        headers: Mapping[str, str],
        now: datetime,
        language: str,
        max_entries: int,
    ) -> ParsedFeed:
        """Parse one feed body."""
        ...


class NewItemsHook(Protocol):
    """Runs inside the feed's transaction with the ids of newly stored items (matching, outbox)."""

    async def __call__(
        self, *, session: AsyncSession, feed: Feed, item_ids: Sequence[int], now: datetime
    ) -> None:
        """Handle new items."""
        ...


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """The poller's limits, taken from Settings."""

    concurrency: int = 50
    feed_timeout_seconds: float = 60.0
    max_entries: int = 500
    failing_after: int = 3
    backoff_cap_seconds: float = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in one cycle."""

    feed_id: str
    status: Status
    new_items: int = 0
    error: FeedError | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class PollReport:
    """The outcomes of one poll cycle."""

    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def new_items(self) -> int:
        """Items stored for the first time in this cycle."""
        return sum(o.new_items for o in self.outcomes)

    def count(self, status: Status) -> int:
        """How many feeds ended with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        c = Counter(o.status for o in self.outcomes)
        return (
            f"feeds={len(self.outcomes)} new_items={self.new_items} with_new={c['new']} "
            f"unchanged={c['unchanged']} not_modified={c['not_modified']} errors={c['error']}"
        )


def fresh_entries(
    entries: Sequence[Entry], *, known_keys: set[str], seen_urls: set[str], seen_hashes: set[str]
) -> list[Entry]:
    """Entries not stored before, by key, by link (when unique in the document) or by text."""
    link_counts = Counter(e.url for e in entries if e.url)
    fresh: list[Entry] = []
    batch_hashes: set[str] = set()
    for entry in entries:
        if entry.key in known_keys:
            continue
        # Equal text is the same item only when the text says enough: a bare repeated title
        # ("Daily press briefing") with its own link is a new item.
        text_identifies = bool(entry.summary) or not entry.url
        if text_identifies and entry.content_hash in seen_hashes:
            continue
        # Many entries sharing one link are distinct items; the link then identifies nothing.
        if entry.url and link_counts[entry.url] == 1 and entry.url in seen_urls:
            continue
        if entry.content_hash in batch_hashes:
            continue
        batch_hashes.add(entry.content_hash)
        fresh.append(entry)
    return fresh


def _item_row(entry: Entry, *, feed_id: str, now: datetime) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "key": entry.key,
        "guid": entry.guid,
        "url": entry.url,
        "title": entry.title,
        "summary": entry.summary,
        "published_at": entry.published_at,
        "first_seen_at": now,
        "language": entry.language,
        "content_hash": entry.content_hash,
    }


class Poller:
    """Runs poll cycles over the feeds table; one failing feed never stops the others."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        fetcher: FeedFetcher,
        parser: FeedParser,
        policy: PollPolicy,
        on_new_items: NewItemsHook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._fetcher = fetcher
        self._parser = parser
        self._policy = policy
        self._on_new_items = on_new_items
        self._rng = rng or random.Random()

    async def poll_due_feeds(
        self, now: datetime, *, progress: Callable[[FeedOutcome], None] | None = None
    ) -> PollReport:
        """Poll every enabled feed whose next_check_at has come, with bounded concurrency."""
        async with self._sessions() as session:
            feeds = await queries.due_feeds(session=session, now=now)
        return await self.poll_feeds(feeds, now, progress=progress)

    async def poll_feeds(
        self,
        feeds: Sequence[Feed],
        now: datetime,
        *,
        progress: Callable[[FeedOutcome], None] | None = None,
    ) -> PollReport:
        """Poll the given feeds concurrently; outcomes come back in the order given."""
        gate = asyncio.Semaphore(self._policy.concurrency)

        async def one(feed: Feed) -> FeedOutcome:
            async with gate:
                outcome = await self.poll_feed(feed, now)
            if progress is not None:
                progress(outcome)
            return outcome

        outcomes = await asyncio.gather(*(one(feed) for feed in feeds))
        report = PollReport(list(outcomes))
        log.info("poll cycle done %s", report.summary())
        return report

    async def poll_feed(self, feed: Feed, now: datetime) -> FeedOutcome:
        """Fetch, parse and store one feed; every failure is recorded on the feed, not raised."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._policy.feed_timeout_seconds):
                status, new = await self._fetch_and_store(feed, now)
        except FeedError as exc:
            error = exc
        except TimeoutError:
            error = FeedError(
                "timeout", f"feed took longer than {self._policy.feed_timeout_seconds:g} s"
            )
        except Exception as exc:
            # A bug met on one feed's data must not stop the cycle; the traceback goes to the log.
            log.exception("feed=%s unexpected error", feed.id)
            error = FeedError("internal_error", f"{exc.__class__.__name__} (see the service log)")
        else:
            return FeedOutcome(feed.id, status, new_items=new, seconds=time.monotonic() - started)
        await self._record_failure(feed, now, error)
        return FeedOutcome(feed.id, "error", error=error, seconds=time.monotonic() - started)

    async def _fetch_and_store(self, feed: Feed, now: datetime) -> tuple[Status, int]:
        validators = Validators(etag=feed.etag, last_modified=feed.last_modified)
        result = await self._fetcher.fetch(feed.url, validators)
        if isinstance(result, NotModified):
            await self._record_success(feed, now, result, body_hash=feed.body_hash, new_ids=[])
            return "not_modified", 0
        if result.body_hash == feed.body_hash:
            # The server ignored our validators but sent the same bytes: nothing to parse.
            await self._record_success(feed, now, result, body_hash=result.body_hash, new_ids=[])
            return "unchanged", 0
        parsed = await self._parser.parse(
            result.body,
            url=result.final_url,
            headers=result.headers,
            now=now,
            language=feed.language,
            max_entries=self._policy.max_entries,
        )
        if parsed.bozo:
            log.info("feed=%s malformed XML read loosely: %s", feed.id, parsed.bozo)
        new_ids = await self._store(feed, now, result, parsed)
        return ("new" if new_ids else "unchanged"), len(new_ids)

    async def _store(
        self, feed: Feed, now: datetime, result: FetchResult, parsed: ParsedFeed
    ) -> list[int]:
        entries = parsed.entries
        async with self._sessions() as session, session.begin():
            known = await queries.existing_keys(
                session=session, feed_id=feed.id, keys=[e.key for e in entries]
            )
            unknown = [e for e in entries if e.key not in known]
            seen_urls, seen_hashes = await queries.seen_links_and_hashes(
                session=session,
                feed_id=feed.id,
                urls=[e.url for e in unknown if e.url],
                hashes=[e.content_hash for e in unknown],
                since=now - REPOST_WINDOW,
            )
            fresh = fresh_entries(
                unknown, known_keys=known, seen_urls=seen_urls, seen_hashes=seen_hashes
            )
            rows = [_item_row(e, feed_id=feed.id, now=now) for e in fresh]
            new_ids = await queries.insert_items(session=session, rows=rows)
            if new_ids and self._on_new_items is not None:
                await self._on_new_items(session=session, feed=feed, item_ids=new_ids, now=now)
            await self._write_success(
                session,
                feed=feed,
                now=now,
                result=result,
                body_hash=result.body_hash,
                new_ids=new_ids,
            )
        return new_ids

    async def _record_success(
        self,
        feed: Feed,
        now: datetime,
        result: FetchResult | NotModified,
        *,
        body_hash: str | None,
        new_ids: list[int],
    ) -> None:
        async with self._sessions() as session, session.begin():
            await self._write_success(
                session, feed=feed, now=now, result=result, body_hash=body_hash, new_ids=new_ids
            )

    async def _write_success(
        self,
        session: AsyncSession,
        *,
        feed: Feed,
        now: datetime,
        result: FetchResult | NotModified,
        body_hash: str | None,
        new_ids: list[int],
    ) -> None:
        values: dict[str, Any] = {
            "etag": result.validators.etag,
            "last_modified": result.validators.last_modified,
            "body_hash": body_hash,
            "last_status": result.status if isinstance(result, FetchResult) else 304,
            "last_checked_at": now,
            "last_success_at": now,
            "consecutive_errors": 0,
            "last_error_reason": None,
            "last_error": None,
            "failing_since": None,
            "next_check_at": next_check_after_success(
                now=now,
                interval_seconds=feed.interval_seconds,
                max_age=result.max_age,
                rng=self._rng,
            ),
        }
        if new_ids:
            values["last_new_item_at"] = now
        if result.moved_to and result.moved_to != feed.url:
            await self._follow_move(session, feed, result.moved_to, values)
        await queries.update_feed(session=session, feed_id=feed.id, values=values)

    async def _follow_move(
        self, session: AsyncSession, feed: Feed, target: str, values: dict[str, Any]
    ) -> None:
        # The fetcher only reports a move whose every hop passed the URL guard. Another feed
        # may already use the target; then keep our URL rather than break the unique index.
        clash = await queries.feed_by_url(session=session, url=target)
        if clash is None:
            log.info("feed=%s moved permanently; stored URL updated", feed.id)
            values["url"] = target
        else:
            log.warning("feed=%s moved to the URL of feed=%s; URL kept", feed.id, clash.id)

    async def _record_failure(self, feed: Feed, now: datetime, error: FeedError) -> None:
        errors = feed.consecutive_errors + 1
        values: dict[str, Any] = {
            "last_checked_at": now,
            "consecutive_errors": errors,
            "last_error_reason": error.reason[:64],
            "last_error": str(error)[:2000],
            "next_check_at": next_check_after_failure(
                now=now,
                consecutive_errors=errors,
                interval_seconds=feed.interval_seconds,
                retry_after=error.retry_after,
                cap_seconds=self._policy.backoff_cap_seconds,
                rng=self._rng,
            ),
        }
        if errors >= self._policy.failing_after and feed.failing_since is None:
            values["failing_since"] = now
            log.warning("feed=%s is failing after %d errors: %s", feed.id, errors, error)
        else:
            log.info("feed=%s error=%s", feed.id, error)
        async with self._sessions() as session, session.begin():
            await queries.update_feed(session=session, feed_id=feed.id, values=values)
