"""One leader among the processes sharing a database: it alone polls, builds digests, sends.

PostgreSQL: a session-level `pg_try_advisory_lock` on a dedicated connection; the lock lives
as long as that connection, so a dead leader's lock is released by the server and a standby
takes over at its next attempt. SQLite: an exclusive file lock next to the database; a second
process on the same file is refused at start (SQLite has one writer; two services would only
contend).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.errors import ConfigError

log = logging.getLogger(__name__)
# An arbitrary constant naming briefbot's leader lock among PostgreSQL advisory locks.
LEADER_LOCK_KEY = 0x62726966_0002


class Leadership(Protocol):
    """Whether this process leads."""

    async def try_acquire(self) -> bool:
        """Take the lead if nobody holds it; True when this process leads."""

    async def still_held(self) -> bool:
        """Check, before side effects, that the lead was not lost."""


class PostgresLeadership:
    """The advisory lock on a connection of its own (not from the pool)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._held = False

    async def try_acquire(self) -> bool:
        """Try the lock once."""
        if self._held:
            return await self.still_held()
        try:
            if self._connection is None:
                self._connection = await self._engine.connect()
            got = await self._connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
            )
            await self._connection.commit()  # end the implicit transaction; the lock stays
        except Exception:  # any database trouble means "not leader now"
            log.warning("leader lock: database unavailable", exc_info=True)
            await self._drop_connection()
            return False
        self._held = bool(got)
        return self._held

    async def still_held(self) -> bool:
        """The lock holds while its connection is alive: ask the connection."""
        if not self._held or self._connection is None:
            return False
        try:
            await self._connection.scalar(text("SELECT 1"))
            await self._connection.commit()
        except Exception:
            log.error("leader lock: lost its database connection; stepping down")
            self._held = False
            await self._drop_connection()
        return self._held

    async def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None

    async def release(self) -> None:
        """Give the lead up (closing the connection releases the lock)."""
        self._held = False
        await self._drop_connection()


class SqliteLeadership:
    """An exclusive lock on `<database>.lock`; refuses to start when another process has it."""

    def __init__(self, database_file: Path) -> None:
        self._path = database_file.with_name(database_file.name + ".lock")
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        """Take the file lock, or raise ConfigError naming the problem."""
        if self._fd is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                [
                    f"another briefbot process is already running on {self._path.with_suffix('')}"
                    " (SQLite allows one); stop it, or use PostgreSQL for several instances"
                ]
            ) from None
        self._fd = fd
        return True

    async def still_held(self) -> bool:
        """A file lock cannot be lost while the process lives."""
        return self._fd is not None

    async def release(self) -> None:
        """Unlock and close."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Lead(Leadership, Protocol):
    """A leadership that can be released."""

    async def release(self) -> None:
        """Give the lead up."""


@contextlib.asynccontextmanager
async def leadership(engine: AsyncEngine) -> AsyncIterator[Lead]:
    """The leadership for this engine's database; released on exit."""
    lead: Lead
    if engine.dialect.name == "sqlite":
        database = make_url(str(engine.url)).database or "briefbot.db"
        lead = SqliteLeadership(Path(os.path.abspath(database)))  # noqa: ASYNC240 (no I/O)
    else:
        lead = PostgresLeadership(engine)
    try:
        yield lead
    finally:
        await lead.release()
