"""Shared fixtures: a fresh migrated database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import upgrade

pytest_plugins = ["tests.support.feedserver", "tests.fakes.botapi"]

PG_ADMIN_DSN = os.environ.get("BRIEFBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """The read-only ../shared folder (fixtures, brief)."""
    return SHARED


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read the environment; keep a developer's own variables out of tests.
    for name in list(os.environ):
        if name in {"BOT_TOKEN", "DATABASE_URL", "FEEDS_FILE", "STAFF_IDS", "TIMEZONE"}:
            monkeypatch.delenv(name)


async def _pg_database() -> tuple[str, str]:
    name = f"briefbot_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to an empty database: an SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'briefbot.db'}"
        return
    name, url = await _pg_database()
    try:
        yield url
    finally:
        await _drop_pg_database(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on a fresh database (both backends)."""
    eng = create_engine(database_url)
    await upgrade(eng)
    try:
        yield eng
    finally:
        await eng.dispose()
