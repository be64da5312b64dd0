"""Apply Alembic migrations from code, so every command that opens the database is current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
# Serialises concurrent upgrades from several instances on one PostgreSQL database.
PG_MIGRATION_LOCK = 0x62726965  # "brie"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
    command.upgrade(_config(connection), "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(engine: AsyncEngine) -> str:
    """Bring the database to the newest revision; returns it."""
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
        async with engine.connect() as conn:
            revision = await conn.run_sync(_current)
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot migrate the database: {exc.__class__.__name__}: {exc}") from exc
    assert revision is not None
    return revision
