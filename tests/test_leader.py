"""One leader per database: an advisory lock on PostgreSQL, a refused second process on SQLite."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.leader import LEADER_LOCK_KEY, PostgresLeadership
from tests.conftest import PG_ADMIN_DSN
from tests.support.feedserver import FeedServer
from tests.test_console import env_for


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_one_leader_at_a_time_and_a_standby_takes_over_when_it_dies(
    engine: AsyncEngine, database_url: str
) -> None:
    other_engine = create_engine(database_url)
    first, second = PostgresLeadership(engine), PostgresLeadership(other_engine)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.still_held()
        # The leader's connection dies (a crash, a network cut): the server frees the lock.
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l"
                " JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted"
                " AND d.datname = $2",
                LEADER_LOCK_KEY & 0xFFFFFFFF,
                make_url(database_url).database,
            )
        finally:
            await admin.close()
        assert killed == 1
        assert not await first.still_held()
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()
        await other_engine.dispose()


async def test_a_second_process_on_the_same_sqlite_file_refuses_to_start(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/feed.xml", "<rss version='2.0'><channel><title>x</title></channel></rss>")
    env = {**os.environ, **env_for(tmp_path, feed_server)}
    first = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        lock = tmp_path / "console.db.lock"
        async with asyncio.timeout(30):
            while not lock.exists():  # noqa: ASYNC110 (waits for the first process)
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(second.communicate(), timeout=30)
        assert second.returncode == 2
        assert "another briefbot process is already running" in err.decode()
        assert "Traceback" not in err.decode()
        assert first.returncode is None  # the first one is unaffected
    finally:
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.communicate(), timeout=30)
    assert first.returncode == 0
