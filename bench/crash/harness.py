"""Run `briefbot run` against loopback fakes, SIGKILL it at random moments, restart, check.

One seed: generate feeds and serve them, write feeds.yaml, clone a migrated database, insert
the chats (each owed one daily digest), then `kills` times start `python -m bot run` and kill
its process group at a moment drawn from a seeded random.Random; finally start it once more,
wait until everything is settled, stop it with SIGTERM and check the invariants (checks.py).
Used by tests/test_crash.py (short) and bench/crash/run.py (long).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlmodel import col

from bench.crash.checks import check, settled
from bench.crash.corpus import Corpus, build_corpus, write_catalog
from bench.crash.killswitch import KillSwitchBotAPI, Process, kill_group, spawn, stop
from bench.crash.model import Kill, Scenario, SeedResult
from bench.crash.population import ROOT, Population, Template, add_chats, clean_environ
from bot.db.engine import Database, create_engine
from bot.db.tables import Chat, Feed
from tests.fakes.botapi import DEFAULT_TOKEN, RateLimits
from tests.support.feedserver import FeedServer

# startup: a delay after spawning; poll: the n-th feed request; digest: a moment after a batch
# of digests committed; send-*: the n-th sendMessage, killed before the fake records it, after
# it recorded it (the answer is lost), or a few ms after the answer went back (while the
# outcome is being committed).
MODES = ("startup", "poll", "digest", "send-before", "send-after", "send-later")


Ready = Callable[[], Awaitable[bool]]


async def _when(ready: Ready, lag: float, fire: Callable[[], None]) -> None:
    while not await ready():  # noqa: ASYNC110 (polls fakes and the database)
        await asyncio.sleep(0.005)
    await asyncio.sleep(lag)
    fire()


def service_env(s: Scenario, url: str, feeds_file: Path, api_base: str) -> dict[str, str]:
    """`briefbot run`'s settings for a seed."""
    return {
        **clean_environ(),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "FEEDS_FILE": str(feeds_file),
        "BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_BASE": api_base,
        "ALLOW_PRIVATE_NETWORKS": "true",
        "POLL_TICK_SECONDS": "1",
        "DIGEST_TICK_SECONDS": "1",
        "SEND_CONCURRENCY": str(s.concurrency),
        "SEND_RATE_PER_SECOND": str(s.send_rate),
        "OUTBOX_LEASE_SECONDS": str(s.lease_seconds),
        "RETENTION_DAYS": "36500",
        "LOG_LEVEL": s.log_level,
        "PARSE_WORKERS": "1",
        "FETCH_PER_HOST": "16",
        "TIMEZONE": "UTC",
    }


class SeedRun:
    """The fakes, the database and the service processes of one seed."""

    def __init__(self, scenario: Scenario, folder: Path, corpus: Corpus) -> None:
        self.s = scenario
        self.folder = folder
        self.corpus = corpus
        limits = RateLimits(global_per_second=scenario.send_rate, global_burst=scenario.send_rate)
        self.api = KillSwitchBotAPI(limits=limits)
        self.feeds = FeedServer()
        self.rng = random.Random(f"crash-kills/{scenario.seed}")
        self.env: dict[str, str] = {}
        self.population = Population((), 0, 0)
        self.violations: list[str] = []
        self.runs = 0
        self._hits_before: dict[str, int] = {}
        self.started_at = datetime.now(UTC)
        self.database: Database

    async def start(self) -> Process:
        """Spawn `python -m bot run`, logging to run-N.log."""
        self.runs += 1
        log = self.folder / f"run-{self.runs - 1}.log"
        return await spawn(("run",), cwd=self.folder, env=self.env, log=log)

    async def backlog(self, database: Database) -> None:
        """A first poll of older entries (a feed's first fetch raises no alerts), then the rest."""
        self.corpus.serve(self.feeds, skip_newest=self.s.fresh_entries)
        log = self.folder / "backlog.log"
        proc = await spawn(("poll", "--once", "--all"), cwd=self.folder, env=self.env, log=log)
        try:
            code = await asyncio.wait_for(proc.wait(), timeout=300)
        finally:
            kill_group(proc.pid)
        if code != 0:
            self.violations.append(f"backlog poll exited with {proc.returncode}")
        async with database.write() as session:
            await session.execute(update(Feed).values(next_check_at=None))  # due at once
        self.corpus.serve(self.feeds)
        self._hits_before = {f.path: self.feeds.hits(f.path) for f in self.corpus.feeds}

    def _claim_size(self) -> int:
        """How many rows the sender leases at most (Sender._top_up's capacity)."""
        return max(int(self.s.send_rate * 2), self.s.concurrency * 2)

    def _unsent_chats(self) -> int:
        got = {m.chat_id for m in self.api.messages()}
        return sum(1 for c in self.population.chat_ids if c not in got)

    def _unpolled_feeds(self) -> int:
        paths = [f.path for f in self.corpus.feeds]
        return sum(1 for p in paths if self.feeds.hits(p) <= self._hits_before.get(p, 0))

    async def _owed_digests(self) -> int:
        async with self.database.read() as session:
            owed = await session.scalar(
                select(func.count()).where(col(Chat.next_digest_at) <= self.started_at)
            )
        return owed or 0

    async def run_and_kill(self) -> Kill:
        """One run, SIGKILLed by a trigger drawn from the seed (or by the fallback timer)."""
        unpolled, unsent, owed = (
            self._unpolled_feeds(),
            self._unsent_chats(),
            await self._owed_digests(),
        )
        available = {"poll": unpolled, "digest": owed, "send": unsent}
        mode = self.rng.choice([m for m in MODES if available.get(m.split("-")[0], 1)])
        if self.runs == 0:  # a seed's first kill: each mode in turn over the seeds
            mode = MODES[self.s.seed % len(MODES)]
        share, lag, delay = self.rng.random(), self.rng.uniform(0, 0.02), self.rng.random()
        loop = asyncio.get_running_loop()
        proc = await self.start()
        spawned, fired = loop.time(), asyncio.Event()
        how: list[tuple[str, float]] = []

        def fire(by: str = "trigger") -> None:
            if not fired.is_set():
                kill_group(proc.pid)
                how.append((by, loop.time() - spawned))
                fired.set()

        timers = [loop.call_later(self.s.fallback_kill_after, fire, "fallback")]
        ready: Ready | None = None
        if mode == "startup":
            planned = f"after {delay * self.s.startup_window:.2f}s"
            timers.append(loop.call_later(delay * self.s.startup_window, fire))
        elif mode == "poll":
            n, base = 1 + int(share * unpolled), len(self.feeds.requests)
            planned = f"feed request {n} of ~{unpolled}"

            async def ready_poll() -> bool:
                return len(self.feeds.requests) - base >= n

            ready = ready_poll
        elif mode == "digest":
            lag = delay  # into the next batch's transaction, or the first sends
            planned = f"{lag:.2f}s after a digest batch commits ({owed} owed)"

            async def ready_digest() -> bool:
                return await self._owed_digests() < owed

            ready = ready_digest
        else:
            # Leave the next run rows that this one has not leased: a killed sender's leased
            # rows wait OUTBOX_LEASE_SECONDS, and a kill that strands all of them adds nothing.
            span = max(1, min(unsent - self._claim_size(), self.s.send_kill_span or unsent))
            n = 1 + int(share * span)
            planned = f"sendMessage {n} of ~{unsent}"
            self.api.arm(self.api.send_requests + n, mode[5:], lag, fire)
        watcher = asyncio.create_task(_when(ready, lag, fire)) if ready else None
        ended, killed = asyncio.create_task(proc.wait()), asyncio.create_task(fired.wait())
        try:
            await asyncio.wait({ended, killed}, return_when=asyncio.FIRST_COMPLETED)
            if not fired.is_set():
                self.violations.append(f"run {self.runs - 1} exited by itself: {proc.returncode}")
        finally:
            fire("none")  # a no-op once killed; also when this task is cancelled
            for timer in timers:
                timer.cancel()
            if watcher is not None:
                watcher.cancel()
            self.api.disarm()
        await asyncio.gather(ended, killed)
        by, at = how[0]
        return Kill(self.runs - 1, mode, planned, by, round(at, 3))

    async def settle(self, proc: Process, database: Database) -> float:
        """Wait until everything is settled; the seconds it took."""
        started = time.monotonic()
        chats, items = len(self.population.chat_ids), len(self.corpus.expected)
        while time.monotonic() - started < self.s.settle_timeout:
            if proc.returncode is not None:
                self.violations.append(f"final run exited by itself: {proc.returncode}")
                break
            if await settled(database, chats=chats, items=items):
                break
            await asyncio.sleep(0.25)
        else:
            self.violations.append(f"not settled within {self.s.settle_timeout:.0f}s")
        return time.monotonic() - started

    async def play(self, result: SeedResult, database: Database) -> None:
        """Chats, the backlog (with alerts), the kills, the final run, the checks."""
        s, self.database = self.s, database
        self.started_at = datetime.now(UTC)
        self.population = await add_chats(
            database, seed=s.seed, count=s.chats, now=self.started_at, alert_share=s.alert_share
        )
        result.groups, result.alert_chats = self.population.groups, self.population.alert_chats
        if s.alert_share > 0:
            await self.backlog(database)
        else:
            self.corpus.serve(self.feeds)
        for _ in range(s.kills):
            result.kills.append(await self.run_and_kill())
        final = await self.start()
        try:
            result.settle_seconds = await self.settle(final, database)
        except BaseException:
            kill_group(final.pid)
            raise
        await stop(final, self.violations)
        result.outcome = await check(
            database,
            self.corpus,
            self.population,
            self.api.messages(),
            kills=len(result.kills),
            concurrency=s.concurrency,
        )
        result.outcome.violations[:0] = self.violations


async def run_seed(scenario: Scenario, template: Template, workdir: Path) -> SeedResult:
    """Run one seed from scratch and check it."""
    began = time.monotonic()
    folder = workdir / f"{scenario.backend}-{scenario.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    result = SeedResult(scenario, logs=folder)
    now = datetime.now(UTC)
    corpus = build_corpus(scenario.seed, feeds=scenario.feeds, entries=scenario.entries, now=now)
    seed = SeedRun(scenario, folder, corpus)
    async with seed.api, seed.feeds, template.scratch() as url:
        write_catalog(folder / "feeds.yaml", corpus, seed.feeds)
        seed.env = service_env(scenario, url, folder / "feeds.yaml", seed.api.base_url)
        engine = create_engine(url)
        try:
            await seed.play(result, Database.on(engine))
        finally:
            await engine.dispose()
    result.wall_seconds = time.monotonic() - began
    return result
