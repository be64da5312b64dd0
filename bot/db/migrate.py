"""Apply Alembic migrations from code, so every command that opens the database is current."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions; a test keeps the two in step. Knowing it without
# Alembic lets a current database skip importing Alembic (a noticeable part of start-up).
HEAD_REVISION = "0004"
# Serialises concurrent upgrades from several instances on one PostgreSQL database.
PG_MIGRATION_LOCK = 0x62726965  # "brie"


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this code, as Alembic sees it."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
    command.upgrade(_config(connection), "head")


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def _at_head(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:
        return False  # no version table yet: a new database
    return bool(found == HEAD_REVISION)


async def upgrade(engine: AsyncEngine) -> str:
    """Bring the database to the newest revision; returns it."""
    try:
        if await _at_head(engine):
            return HEAD_REVISION
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
        async with engine.connect() as conn:
            revision = await conn.run_sync(_current)
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot migrate the database: {exc.__class__.__name__}: {exc}") from exc
    assert revision is not None
    return revision
