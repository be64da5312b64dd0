"""ADVERSARIAL E45: two `briefbot run` on one PostgreSQL database: one leads, the other stands
by and takes over within 30 s when the leader is killed; the digest is not sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.support.feedserver import FeedServer
from tests.test_console import RSS, env_for


class Process:
    """A `briefbot run` subprocess whose output lines are collected as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(proc.stdout)),
            asyncio.create_task(self._read(proc.stderr)),
        ]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode())

    async def wait_for(self, text: str, within: float) -> None:
        async with asyncio.timeout(within):
            while not any(text in line for line in self.lines):  # noqa: ASYNC110
                await asyncio.sleep(0.1)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def finish(self) -> None:
        await asyncio.wait_for(self.proc.wait(), timeout=30)
        await asyncio.gather(*self._readers)


async def start(env: dict[str, str], cwd: Path) -> Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Process(proc)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_standby_takes_over_when_the_leader_is_killed(
    tmp_path: Path, feed_server: FeedServer, database_url: str
) -> None:
    feed_server.add("/feed.xml", RSS)
    env = {
        **os.environ,
        **env_for(tmp_path, feed_server),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
    }
    leader = await start(env, tmp_path)
    standby: Process | None = None
    try:
        await leader.wait_for("Daily digest", within=60)  # leading, polled, digest printed
        standby = await start(env, tmp_path)
        await standby.wait_for("standing by", within=30)
        leader.proc.send_signal(signal.SIGKILL)
        await leader.finish()
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        await standby.wait_for("leading:", within=30)
        assert loop.time() - killed_at < 30
        await asyncio.sleep(2)  # its first poll and digest tick
    finally:
        if leader.proc.returncode is None:
            leader.proc.send_signal(signal.SIGKILL)
            await leader.finish()
        if standby is not None:
            standby.proc.send_signal(signal.SIGTERM)
            await standby.finish()
    assert standby.proc.returncode == 0
    # The console subscriber's digest was printed once in all, by the first leader.
    assert leader.count("Daily digest") + standby.count("Daily digest") == 1
