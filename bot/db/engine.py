"""Database engines for SQLite (aiosqlite) and PostgreSQL (asyncpg), built on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CACHE_KIB = 1024  # per connection; SQLite's default is 2000

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_database_url(url: str) -> str:
    """Map the plain and driver forms of a database URL to the async driver form."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r} (expected e.g. sqlite:///storage/x.db)")
    driver = _DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(f"unsupported database {scheme!r}: use sqlite:// or postgresql://")
    full = f"{driver}://{rest}"
    try:
        make_url(full)
    except ArgumentError as exc:
        raise ValueError(f"malformed database URL: {exc}") from None
    return full


def failure_reason(exc: BaseException) -> str:
    """The database's own one-line reason for a failure, without the SQL or its values."""
    cause = getattr(exc, "orig", None) or exc
    # The asyncpg adapter's wrapper hides the driver's class name (ReadOnlySQLTransactionError).
    named = cause.__cause__ if type(cause).__name__ == "Error" and cause.__cause__ else cause
    lines = str(cause).strip().splitlines()
    return f"{type(named).__name__}: {lines[0]}" if lines else type(named).__name__


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN IMMEDIATE instead of pysqlite's lazy BEGIN,
    # so a writer takes the lock up front and waits (busy_timeout) instead of failing later.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Every pooled connection keeps its own page cache (2 MiB by default) and a pool holds
    # up to 15 connections; in WAL mode the OS caches the file anyway, so 1 MiB each is ample.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    # Deleted rows are overwritten with zeros: a forgotten subscriber leaves no bytes behind.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


# Sessions made from `readers()` carry this option: they open a deferred transaction,
# which in WAL mode reads a snapshot without taking the write lock.
READ_ONLY = "briefbot_read_only"


def _sqlite_on_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build an async engine for the URL with the per-backend settings briefbot relies on."""
    full = async_database_url(url)
    # A failed statement's text goes into its exception and so into a logged traceback; its
    # bound values (a subscriber's chat id, personal rule or message body) must not.
    if full.startswith("sqlite"):
        _prepare_sqlite_file(full)
        engine = create_async_engine(full, echo=echo, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(
        full,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def reader_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reading only: on SQLite they never take the write lock."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


class WriteGate:
    """Serialises write transactions within this process on SQLite; a no-op on PostgreSQL.

    SQLite has one writer at a time and a waiting writer sleeps and retries rather than
    queueing, so dozens of concurrent `BEGIN IMMEDIATE`s can outwait busy_timeout and fail.
    Queueing them on an asyncio lock first keeps every write, and each one short.
    """

    def __init__(self, *, serialize: bool) -> None:
        self._lock = asyncio.Lock() if serialize else None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> WriteGate:
        """A gate that serialises when the engine is SQLite."""
        return cls(serialize=engine.dialect.name == "sqlite")

    async def __aenter__(self) -> None:
        if self._lock is not None:
            await self._lock.acquire()

    async def __aexit__(self, *_: object) -> None:
        if self._lock is not None:
            self._lock.release()


@dataclass(frozen=True, slots=True)
class Database:
    """An engine with its session factories: writers, readers, and the write gate."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    readers: async_sessionmaker[AsyncSession]
    write_gate: WriteGate

    @classmethod
    def on(cls, engine: AsyncEngine) -> Database:
        """Everything briefbot needs to use this engine."""
        return cls(
            engine, session_factory(engine), reader_factory(engine), WriteGate.for_engine(engine)
        )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction, behind the write gate; commits on success."""
        async with self.write_gate, self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session in one transaction (deferred BEGIN on SQLite)."""
        async with self.readers() as session, session.begin():
            yield session
