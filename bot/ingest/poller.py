"""Polls due feeds: fetch, parse, dedupe, store items and health in one transaction per feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.engine import Database
from bot.db.tables import Feed
from bot.errors import FeedError
from bot.ingest.budget import paused
from bot.ingest.dedupe import REPOST_WINDOW, fresh_entries
from bot.ingest.health import next_check_after_failure, next_check_after_success
from bot.ingest.outcomes import FeedOutcome, PollPolicy, PollReport, Status
from bot.ingest.types import (
    BodyAdmission,
    Entry,
    FetchResult,
    NotModified,
    ParsedFeed,
    Validators,
)

log = logging.getLogger(__name__)
# The feeds table itself: a Core statement on it skips the ORM (see _update_feeds).
FEEDS = Feed.core()
# The id's bind name in the batched health update; must not be a column name.
_FEED_KEY = "feed_id_"


class FeedFetcher(Protocol):
    """What the poller needs from bot.ingest.fetch.Fetcher."""

    async def fetch(
        self, url: str, validators: Validators = ..., *, admit_body: BodyAdmission | None = ...
    ) -> FetchResult | NotModified:
        """Fetch one feed URL; await `admit_body` before reading a body."""
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

    async def start(self) -> None:
        """Get ready to parse (start worker processes) ahead of the first body."""
        ...


class NewItemsHook(Protocol):
    """Work on new items in two phases: CPU work before the write, storage inside it."""

    def prepare(self, feed: Feed, entries: Sequence[Entry]) -> Mapping[str, object]:
        """Compute what to store per entry key (e.g. verdicts), outside any transaction."""
        ...

    async def store(
        self,
        *,
        session: AsyncSession,
        feed: Feed,
        stored: Sequence[tuple[int, Entry]],
        prepared: Mapping[str, object],
        now: datetime,
    ) -> None:
        """Store it for the items actually inserted, in the feed's transaction."""
        ...


async def _update_feeds(
    session: AsyncSession, pending: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Write feeds' columns (as queries.update_feed does) with one statement per column set.

    queries.update_feed goes through the ORM's bulk-update machinery, about a millisecond of
    CPU per call; a Core UPDATE costs a fraction of that, and executed once with many feeds'
    parameters a few microseconds per row. No loaded Feed object needs synchronising: the
    poller's Feed objects belong to other sessions, and a session here loads at most a feed
    whose URL clashes with a move, which is never the feed updated.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for feed_id, values in pending:
        groups.setdefault(tuple(sorted(values)), []).append({**values, _FEED_KEY: feed_id})
    for columns, params in groups.items():
        stmt = (
            update(FEEDS)
            .where(FEEDS.c.id == bindparam(_FEED_KEY))
            .values({name: bindparam(name) for name in columns})
        )
        await session.execute(stmt, params)


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
        database: Database,
        fetcher: FeedFetcher,
        parser: FeedParser,
        policy: PollPolicy,
        on_new_items: NewItemsHook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = database.sessions
        self._readers = database.readers
        self._gate = database.write_gate
        self._fetcher = fetcher
        self._parser = parser
        self._policy = policy
        self._on_new_items = on_new_items
        self._rng = rng or random.Random()
        # Feeds whose body is held (read, parsed or stored) at once: more requests than this
        # may be in flight, since most get a 304 and never hold a body.
        self._bodies = asyncio.Semaphore(policy.max_bodies)
        # Health of feeds with nothing new, written together at the end of the cycle: one
        # transaction instead of hundreds. Lost on a crash, they only mean an earlier re-poll.
        self._pending: list[tuple[str, dict[str, Any]]] = []

    def replace_hook(self, hook: NewItemsHook | None) -> None:
        """Use `hook` from the next feed stored on (e.g. after staff changed a topic's rules)."""
        self._on_new_items = hook

    async def poll_due_feeds(
        self, now: datetime, *, progress: Callable[[FeedOutcome], None] | None = None
    ) -> PollReport:
        """Poll every enabled feed whose next_check_at has come, with bounded concurrency."""
        async with self._readers() as session:
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

        warming = None
        if any(feed.body_hash is None for feed in feeds):
            # A feed never fetched will be parsed: start the parser while the first answers
            # are on their way rather than after the first body has arrived.
            warming = asyncio.create_task(self._warm_parser())
        try:
            outcomes = await asyncio.gather(*(one(feed) for feed in feeds))
        finally:
            if warming is not None:
                await warming
            await self._flush_pending()
        report = PollReport(list(outcomes))
        log.info("poll cycle done %s", report.summary())
        return report

    async def _warm_parser(self) -> None:
        try:
            await self._parser.start()
        except Exception as exc:
            # The first parse starts it again and records any failure on its feed.
            log.warning("parser did not start ahead of the cycle: %s", exc.__class__.__name__)

    async def poll_feed(self, feed: Feed, now: datetime) -> FeedOutcome:
        """Fetch, parse and store one feed; every failure is recorded on the feed, not raised."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._policy.feed_timeout_seconds) as budget:
                status, new = await self._fetch_and_store(feed, now, budget)
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

    async def _fetch_and_store(
        self, feed: Feed, now: datetime, budget: asyncio.Timeout
    ) -> tuple[Status, int]:
        async with contextlib.AsyncExitStack() as holding:
            # A body, and what is parsed from it, stay in memory until the feed is stored:
            # its place among the bodies held is kept until then. A 304 never takes one.
            async def admit_body() -> None:
                async with paused(budget):
                    await holding.enter_async_context(self._bodies)

            return await self._fetch_parse_store(feed, now, budget, admit_body)

    async def _fetch_parse_store(
        self, feed: Feed, now: datetime, budget: asyncio.Timeout, admit_body: BodyAdmission
    ) -> tuple[Status, int]:
        validators = Validators(etag=feed.etag, last_modified=feed.last_modified)
        result = await self._fetcher.fetch(feed.url, validators, admit_body=admit_body)
        if isinstance(result, NotModified):
            await self._record_success(feed, now, result, budget, body_hash=feed.body_hash)
            return "not_modified", 0
        if result.body_hash == feed.body_hash:
            # The server ignored our validators but sent the same bytes: nothing to parse.
            await self._record_success(feed, now, result, budget, body_hash=result.body_hash)
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
        new_ids = await self._store(feed, now, result, parsed, budget)
        return ("new" if new_ids else "unchanged"), len(new_ids)

    async def _fresh(self, feed: Feed, entries: Sequence[Entry], now: datetime) -> list[Entry]:
        """Entries not stored before; reads only, so no write lock is held meanwhile."""
        if self._policy.max_item_age_days is not None:
            horizon = now - timedelta(days=self._policy.max_item_age_days)
            entries = [e for e in entries if e.published_at >= horizon]
        stored = await self._stored_matches(feed, entries, now)
        # Links and hashes matter only for entries not stored under their key: those of the
        # stored ones come back too (one statement asks for all), and are set aside here.
        unknown = [e for e in entries if e.key not in stored.keys]
        seen_urls = stored.urls & {e.url for e in unknown if e.url}
        seen_hashes = stored.hashes & {e.content_hash for e in unknown}
        # All entries, not just the unknown ones: fresh_entries skips known keys itself, and
        # a link counts as "unique in the document" only among every entry sharing it. Given
        # only the unknown ones, a new update on a live page (one link, many items) would look
        # like a lone re-served link and be dropped.
        return fresh_entries(
            entries, known_keys=stored.keys, seen_urls=seen_urls, seen_hashes=seen_hashes
        )

    async def _stored_matches(
        self, feed: Feed, entries: Sequence[Entry], now: datetime
    ) -> queries.StoredMatches:
        if feed.last_new_item_at is None:
            # Nothing was ever stored for this feed: its first item sets last_new_item_at in
            # the same transaction, and items go when their feed goes. A first poll (every
            # feed of a new catalog) asks the database nothing here.
            return queries.StoredMatches(set(), set(), set())
        async with self._readers() as session:
            return await queries.stored_matches(
                session=session,
                feed_id=feed.id,
                keys=[e.key for e in entries],
                urls=[e.url for e in entries if e.url],
                hashes=[e.content_hash for e in entries],
                since=now - REPOST_WINDOW,
            )

    async def _store(
        self,
        feed: Feed,
        now: datetime,
        result: FetchResult,
        parsed: ParsedFeed,
        budget: asyncio.Timeout,
    ) -> list[int]:
        fresh = await self._fresh(feed, parsed.entries, now)
        hook = self._on_new_items
        prepared = hook.prepare(feed, fresh) if hook is not None and fresh else {}
        by_key = {e.key: e for e in fresh}
        async with self._feed_write(budget) as session:
            rows = [_item_row(e, feed_id=feed.id, now=now) for e in fresh]
            # A concurrent writer may have stored some keys since the read: they come back absent.
            inserted = await queries.insert_items(session=session, rows=rows)
            stored = [(item_id, by_key[key]) for item_id, key in inserted]
            if stored and hook is not None:
                await hook.store(
                    session=session, feed=feed, stored=stored, prepared=prepared, now=now
                )
            await self._write_success(
                session,
                feed=feed,
                now=now,
                result=result,
                body_hash=result.body_hash,
                new_ids=[item_id for item_id, _ in stored],
            )
        return [item_id for item_id, _ in stored]

    @contextlib.asynccontextmanager
    async def _feed_write(self, budget: asyncio.Timeout) -> AsyncIterator[AsyncSession]:
        """One feed's write transaction, behind the write gate.

        Time spent queued for the gate (on SQLite, behind other feeds' writes) is not charged
        to the feed's budget: a write stuck until its own feed times out must not time out
        every feed queued behind it, nor must a long queue of healthy writes.
        """
        async with contextlib.AsyncExitStack() as stack:
            async with paused(budget):
                await stack.enter_async_context(self._gate)
            session = await stack.enter_async_context(self._sessions())
            await stack.enter_async_context(session.begin())
            yield session

    async def _record_success(
        self,
        feed: Feed,
        now: datetime,
        result: FetchResult | NotModified,
        budget: asyncio.Timeout,
        *,
        body_hash: str | None,
    ) -> None:
        """Health after a fetch with nothing new: queued for the cycle's single write."""
        if result.moved_to and result.moved_to != feed.url:
            # A move changes the URL: write it now, with the move's own checks.
            async with self._feed_write(budget) as session:
                await self._write_success(
                    session, feed=feed, now=now, result=result, body_hash=body_hash, new_ids=[]
                )
            return
        self._pending.append((feed.id, self._success_values(feed, now, result, body_hash, [])))

    async def _flush_pending(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        async with self._gate, self._sessions() as session, session.begin():
            await _update_feeds(session, pending)

    def _success_values(
        self,
        feed: Feed,
        now: datetime,
        result: FetchResult | NotModified,
        body_hash: str | None,
        new_ids: list[int],
    ) -> dict[str, Any]:
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
        return values

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
        values = self._success_values(feed, now, result, body_hash, new_ids)
        if result.moved_to and result.moved_to != feed.url:
            await self._follow_move(session, feed, result.moved_to, values)
        await _update_feeds(session, [(feed.id, values)])

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
        try:
            async with self._gate, self._sessions() as session, session.begin():
                await _update_feeds(session, [(feed.id, values)])
        except Exception:
            # The feed's error could not be recorded (database down or full): the next cycle
            # polls it again; the rest of this cycle goes on.
            log.exception("feed=%s could not record its error", feed.id)
