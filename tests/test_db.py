"""Storage: URL forms, migrations, timezone-aware timestamps and BIGINT ids on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.db.engine import async_database_url, create_engine, session_factory
from bot.db.migrate import HEAD_REVISION, current_revision, head_revision, upgrade
from bot.db.tables import Feed, Item


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///storage/x.db", "sqlite+aiosqlite:///storage/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_and_driver_url_forms_are_accepted(given: str, expected: str) -> None:
    assert async_database_url(given) == expected


async def test_upgrade_creates_the_schema_and_is_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        assert await upgrade(engine) == head_revision()
        assert await upgrade(engine) == head_revision()
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"feeds", "items", "alembic_version"} <= names
    finally:
        await engine.dispose()


def _feed(now: datetime) -> Feed:
    return Feed(
        id="f1",
        url="https://example.org/rss",
        title="F",
        publisher="ngo",
        language="en",
        scope="belarus",
        interval_seconds=900,
        created_at=now,
    )


async def test_timestamps_come_back_aware_utc(engine: AsyncEngine) -> None:
    minsk = timezone(timedelta(hours=3))
    local = datetime(2026, 3, 29, 2, 30, tzinfo=minsk)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        session.add(_feed(local))
    async with sessions() as session:
        feed = (await session.scalars(select(Feed))).one()
    assert feed.created_at.tzinfo is not None
    assert feed.created_at.utcoffset() == timedelta(0)
    assert feed.created_at == local


async def test_naive_timestamps_are_refused(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    with pytest.raises(Exception, match="naive datetime"):
        async with sessions() as session, session.begin():
            session.add(_feed(datetime(2026, 1, 1)))


async def test_item_ids_hold_values_beyond_32_bits(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    sessions = session_factory(engine)
    big = 2**40
    async with sessions() as session, session.begin():
        session.add(_feed(now))
        await session.flush()
        session.add(
            Item(
                id=big,
                feed_id="f1",
                key="k",
                title="t",
                summary="",
                published_at=now,
                first_seen_at=now,
                language="en",
                content_hash="h",
            )
        )
    async with sessions() as session:
        assert (await session.scalars(select(col(Item.id)))).one() == big


async def test_migrations_build_exactly_the_tables_the_models_describe(engine: AsyncEngine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    def diff(conn: object) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": False})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_the_head_constant_matches_the_newest_migration() -> None:
    assert head_revision() == HEAD_REVISION
