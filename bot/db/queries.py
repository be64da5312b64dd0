"""Query functions. Keyword-only; the caller owns the transaction, nothing here commits."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    CompoundSelect,
    Select,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import col

from bot.db.dml import insert_ignoring_duplicates
from bot.db.tables import Feed, Item, Story
from bot.ingest.urlnorm import normalize_link

log = logging.getLogger(__name__)

# Keeps IN (...) lists under SQLite's and asyncpg's parameter limits.
IN_CHUNK = 500
ITEMS = Item.core()


class FeedDefinition(Protocol):
    """What the catalog says about a feed (FeedSpec satisfies it)."""

    @property
    def id(self) -> str:
        """The feed's slug."""

    @property
    def url(self) -> str:
        """Where it is fetched."""

    @property
    def title(self) -> str:
        """Its display name."""

    @property
    def publisher(self) -> str:
        """government, state-media, independent-media, ngo or international."""

    @property
    def language(self) -> str:
        """ISO 639-1 code."""

    @property
    def scope(self) -> str:
        """belarus or global."""

    @property
    def enabled(self) -> bool:
        """Whether it is polled."""

    @property
    def interval_seconds(self) -> int:
        """Seconds between polls."""


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def _url_owners(rows: Iterable[Feed]) -> dict[str, Feed]:
    return {normalize_link(row.url) or row.url: row for row in rows}


@dataclass(slots=True)
class CatalogSyncPlan:
    """What mirroring feeds.yaml into the feeds table changes; `plan_catalog_sync` makes it."""

    added: list[tuple[str, dict[str, Any]]]  # (id, columns) of feeds new to the table
    updated: list[tuple[Feed, dict[str, Any]]]  # stored rows and the columns they get
    adopted: list[Feed]  # staff feeds that feeds.yaml now lists with the same id and URL
    disabled: list[Feed]  # catalog feeds gone from feeds.yaml
    conflicts: list[tuple[str, str]]  # (feeds.yaml id, id of the stored feed in its way)

    def counts(self) -> dict[str, int]:
        """How many feeds each kind of change touches."""
        return {"added": len(self.added), "updated": len(self.updated),
                "disabled": len(self.disabled), "adopted": len(self.adopted),
                "conflicts": len(self.conflicts)}  # fmt: skip

    def changes_nothing(self) -> bool:
        """True when applying the plan would write and report nothing."""
        return not any(self.counts().values())


def plan_catalog_sync(existing: Sequence[Feed], feeds: Sequence[FeedDefinition]) -> CatalogSyncPlan:
    """How feeds.yaml's `feeds` map onto the `existing` rows; reads them, changes nothing.

    A feed added in the bot (origin "staff") that feeds.yaml now lists with the same id and
    URL becomes a catalog feed (adopted); any other feeds.yaml entry with a staff feed's id
    or URL is skipped (a conflict). A pause or resume made in the bot (`staff_enabled`) wins
    over feeds.yaml's `enabled`. See docs/staff.md.
    """
    by_id = {row.id: row for row in existing}
    owners = _url_owners(existing)
    plan = CatalogSyncPlan([], [], [], [], [])
    for spec in feeds:
        row = by_id.get(spec.id)
        owner = owners.get(normalize_link(spec.url) or spec.url)
        adopted = row is not None and row.origin == "staff" and owner is row
        if adopted and row is not None:
            plan.adopted.append(row)
        clash = row if row is not None and row.origin != "catalog" and not adopted else None
        if clash is None and owner is not None and owner.id != spec.id:
            clash = owner
        if clash is not None:
            plan.conflicts.append((spec.id, clash.id))
            continue
        values: dict[str, Any] = {
            "url": spec.url,
            "title": spec.title,
            "publisher": spec.publisher,
            "language": spec.language,
            "scope": spec.scope,
            "interval_seconds": spec.interval_seconds,
            "enabled": spec.enabled,
        }
        if row is None:
            plan.added.append((spec.id, values))
            continue
        if row.staff_enabled is not None:
            values["enabled"] = row.staff_enabled
        if any(getattr(row, k) != v for k, v in values.items()):
            if row.url != spec.url:
                # A new address gets a fresh conditional-GET state and is polled at once.
                values.update(etag=None, last_modified=None, body_hash=None, next_check_at=None)
            plan.updated.append((row, values))
    listed = {spec.id for spec in feeds}
    plan.disabled = [
        row for row in existing if row.origin == "catalog" and row.id not in listed and row.enabled
    ]
    return plan


async def sync_catalog_feeds(
    *, session: AsyncSession, feeds: Sequence[FeedDefinition], now: datetime
) -> dict[str, int]:
    """Mirror feeds.yaml into the feeds table (see plan_catalog_sync); counts per change."""
    plan = plan_catalog_sync((await session.scalars(select(Feed))).all(), feeds)
    for spec_id, clash_id in plan.conflicts:
        log.warning("feeds.yaml feed=%s skipped: same id or URL as feed=%s", spec_id, clash_id)
    for row in plan.adopted:
        row.origin = "catalog"
    for feed_id, values in plan.added:
        session.add(Feed(id=feed_id, origin="catalog", created_at=now, **values))
    for row, values in plan.updated:
        for key, value in values.items():
            setattr(row, key, value)
    for row in plan.disabled:
        row.enabled = False
    await session.flush()
    return plan.counts()


async def catalog_feeds(*, session: AsyncSession, ids: Sequence[str]) -> list[Feed]:
    """The stored catalog feeds (origin "catalog") among `ids`."""
    stmt = select(Feed).where(col(Feed.id).in_(ids), col(Feed.origin) == "catalog")
    return list((await session.scalars(stmt)).all())


async def due_feeds(*, session: AsyncSession, now: datetime) -> list[Feed]:
    """Enabled feeds whose next check has come (or that were never checked)."""
    stmt = (
        select(Feed)
        .where(col(Feed.enabled).is_(True))
        .where(or_(col(Feed.next_check_at).is_(None), col(Feed.next_check_at) <= now))
        .order_by(col(Feed.next_check_at), col(Feed.id))
    )
    return list((await session.scalars(stmt)).all())


async def list_feeds(*, session: AsyncSession) -> list[Feed]:
    """Every feed, ordered by id."""
    return list((await session.scalars(select(Feed).order_by(col(Feed.id)))).all())


async def get_feed(*, session: AsyncSession, feed_id: str) -> Feed | None:
    """One feed by id."""
    return await session.get(Feed, feed_id)


async def update_feed(*, session: AsyncSession, feed_id: str, values: dict[str, Any]) -> None:
    """Write health or settings columns of one feed."""
    await session.execute(update(Feed).where(col(Feed.id) == feed_id).values(**values))


@dataclass(frozen=True, slots=True)
class StoredMatches:
    """What a feed already stored of a document's entries (see `stored_matches`)."""

    keys: set[str]  # entry keys stored at any time
    urls: set[str]  # links stored since the cut-off
    hashes: set[str]  # content hashes stored since the cut-off


# Built once, on first use, with bound parameters: building a statement is a good part of
# its CPU cost, and the compiled form is then found by identity in SQLAlchemy's cache.
@functools.cache
def _stored_matches_statement() -> CompoundSelect[Any]:
    """The statement behind stored_matches."""

    def branch(kind: str, column: Any, values: str, *extra: Any) -> Select[Any]:
        return select(literal_column(f"'{kind}'").label("kind"), column.label("value")).where(
            ITEMS.c.feed_id == bindparam("feed_id"),
            column.in_(bindparam(values, expanding=True)),
            *extra,
        )

    recent = ITEMS.c.first_seen_at >= bindparam("since")
    return union_all(
        branch("k", ITEMS.c.key, "keys"),
        branch("u", ITEMS.c.url, "urls", recent),
        branch("h", ITEMS.c.content_hash, "hashes", recent),
    )


async def stored_matches(
    *,
    session: AsyncSession,
    feed_id: str,
    keys: Sequence[str],
    urls: Sequence[str],
    hashes: Sequence[str],
    since: datetime,
) -> StoredMatches:
    """Keys of this feed already stored, and its links and hashes stored since `since`.

    One UNION ALL statement per 500 values of each list, each branch on its own index: the
    poller asks this for every changed feed, and on SQLite every statement is a round trip
    to the connection's thread, so three separate queries cost three times as much.
    """
    found = StoredMatches(set(), set(), set())
    targets = {"k": found.keys, "u": found.urls, "h": found.hashes}
    for start in range(0, max(len(keys), len(urls), len(hashes)), IN_CHUNK):
        chunk = slice(start, start + IN_CHUNK)
        params = {"feed_id": feed_id, "since": since, "keys": list(keys[chunk]),
                  "urls": list(urls[chunk]), "hashes": list(hashes[chunk])}  # fmt: skip
        for kind, value in (await session.execute(_stored_matches_statement(), params)).all():
            if value:
                targets[kind].add(value)
    return found


@functools.cache
def _insert_items_statement(dialect: str) -> ReturningInsert[int, str]:
    # On the Core table, not the model: the ORM's bulk-insert layer adds nothing here but
    # per-row bookkeeping (a third of the statement's CPU time). Built once: SQLAlchemy
    # works out a new statement object's cache key on every execution.
    insert = insert_ignoring_duplicates(dialect, ITEMS, ["feed_id", "key"])
    return insert.returning(ITEMS.c.id, ITEMS.c.key)


async def insert_items(
    *, session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[tuple[int, str]]:
    """Insert item rows, skipping (feed, key) pairs stored meanwhile; (id, key) of the new ones."""
    if not rows:
        return []
    stmt = _insert_items_statement(session.get_bind().dialect.name)
    inserted: list[tuple[int, str]] = []
    for start in range(0, len(rows), IN_CHUNK):
        result = await session.execute(stmt, list(rows[start : start + IN_CHUNK]))
        inserted.extend((row[0], row[1]) for row in result.all())
    return inserted


async def feed_by_url(*, session: AsyncSession, url: str) -> Feed | None:
    """The feed stored under this URL, if any."""
    return (await session.scalars(select(Feed).where(col(Feed.url) == url))).first()


async def item_counts_by_feed(*, session: AsyncSession) -> dict[str, int]:
    """Stored items per feed id."""
    stmt = select(col(Item.feed_id), func.count()).group_by(col(Item.feed_id))
    return {feed_id: int(n) for feed_id, n in (await session.execute(stmt)).all()}


async def stored_keys(*, session: AsyncSession, feed_id: str) -> set[str]:
    """Every item key stored for one feed (for dry runs; not for the hot path)."""
    stmt = select(col(Item.key)).where(col(Item.feed_id) == feed_id)
    return set((await session.scalars(stmt)).all())


async def items_since(
    *, session: AsyncSession, since: datetime
) -> list[tuple[str, str, str, str, datetime]]:
    """(feed id, title, summary, language, published_at) of items first seen since `since`."""
    stmt = select(
        col(Item.feed_id),
        col(Item.title),
        col(Item.summary),
        col(Item.language),
        col(Item.published_at),
    ).where(col(Item.first_seen_at) >= since)
    return [tuple(row) for row in (await session.execute(stmt)).all()]  # type: ignore[misc]


async def prune_items(*, session: AsyncSession, before: datetime) -> int:
    """Retention: delete items first seen before `before` (verdicts and topics cascade)."""
    result: Any = await session.execute(delete(Item).where(col(Item.first_seen_at) < before))
    await session.execute(delete(Story).where(col(Story.last_seen_at) < before))
    return int(result.rowcount or 0)
