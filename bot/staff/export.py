"""The effective catalog: feeds.yaml plus what staff changed in the bot, as feeds.yaml text.

`briefbot config export` writes it; `briefbot config validate` accepts it; replacing
feeds.yaml with it (and restarting) changes nothing the service does.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from bot.config.catalog import Catalog, FeedSpec, catalog_to_yaml, parse_catalog
from bot.db import overrides
from bot.db.engine import Database
from bot.db.tables import Feed
from bot.ingest.urlnorm import normalize_link
from bot.staff.rules import apply_overrides


def _staff_spec(feed: Feed, allow_private: bool) -> FeedSpec:
    data = {
        "id": feed.id,
        "url": feed.url,
        "title": feed.title,
        "publisher": feed.publisher,
        "language": feed.language,
        "scope": feed.scope,
        "interval": timedelta(seconds=feed.interval_seconds),
        "enabled": feed.enabled,
        "notes": f"added in the bot on {feed.created_at:%Y-%m-%d}",
    }
    return FeedSpec.model_validate(data, context={"allow_private": allow_private})


def _catalog_spec(spec: FeedSpec, row: Feed | None) -> FeedSpec:
    if row is None:
        return spec  # not synced yet
    # The database knows the pause state and a permanent move of the URL.
    return spec.model_copy(update={"enabled": row.enabled, "url": row.url})


async def effective_catalog(
    *, database: Database, catalog: Catalog, allow_private: bool = False
) -> Catalog:
    """feeds.yaml's feeds with their state, then the staff feeds; topics with rule overrides.

    As when feeds.yaml is synced, a staff feed wins over a feeds.yaml entry with its id or URL.
    """
    async with database.read() as session:
        rows = {f.id: f for f in (await session.scalars(select(Feed).order_by(col(Feed.id))))}
        found = await overrides.rule_overrides(session=session)
    staff = [f for f in rows.values() if f.origin == "staff"]
    taken = {f.id for f in staff} | {normalize_link(f.url) or f.url for f in staff}
    feeds = [
        _catalog_spec(spec, rows.get(spec.id))
        for spec in catalog.feeds
        if spec.id not in taken and (normalize_link(spec.url) or spec.url) not in taken
    ]
    feeds += [_staff_spec(f, allow_private) for f in staff]
    merged = apply_overrides(catalog, found)
    return merged.model_copy(update={"feeds": feeds})


async def export_yaml(*, database: Database, catalog: Catalog, allow_private: bool) -> str:
    """The effective catalog as feeds.yaml text, checked to load back (ConfigError if not)."""
    merged = await effective_catalog(
        database=database, catalog=catalog, allow_private=allow_private
    )
    text = catalog_to_yaml(merged)
    parse_catalog(text, source="export", allow_private=allow_private)
    return text
