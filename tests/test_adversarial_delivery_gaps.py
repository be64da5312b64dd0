"""ADVERSARIAL C27, D39 and E46 at full strength: real HTTP, real databases, real SIGKILL.

Each runs on SQLite and on PostgreSQL.

- C27: a 429 storm (retry_after=37) in the middle of a digest to 500 chats, against the fake
  Bot API enforcing Telegram's limits, on a clock that runs 2.5x (20x during the pause).
- D39: `briefbot run` SIGKILLed three times mid-poll with alerts on, then left to finish:
  after every kill and at the end, each matched item has its alert rows, exactly once. On
  PostgreSQL each kill lands inside a feed transaction with its alert rows written.
- E46: two sender processes drain 1,000 rows, one is SIGKILLed mid-batch, the survivor and a
  restart finish: every row sent once, except the one left `sending`, which is `uncertain`.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bench.crash.corpus import build_corpus, write_catalog
from bench.crash.harness import service_env
from bench.crash.killswitch import KillSwitchBotAPI, kill_group, log_tail, spawn, stop
from bench.crash.model import Scenario
from bench.crash.population import PG_ADMIN_DSN
from bot.config.catalog import load_catalog
from bot.db import chats
from bot.db.engine import Database, create_engine
from bot.db.migrate import upgrade
from bot.db.tables import Chat, Feed, Item, OutboxRow, Verdict
from bot.delivery import outbox
from bot.delivery.outbox import SENDING, SENT, UNCERTAIN, UNSETTLED
from bot.delivery.pacing import SendLimits
from bot.delivery.sender import Sender, SenderPolicy
from bot.delivery.telegram import TelegramTransport
from bot.service import sync_catalog
from tests.fakes.botapi import FakeBotAPI, RateLimits
from tests.fakes.botapi_methods import SentMessage
from tests.support.feedserver import FeedServer
from tests.support.outbox import PAST, add_chats, counts, most_in_window, until
from tests.support.sender_proc import SenderFarm

USER = 7_301_234_567


@pytest.fixture
def database(engine: AsyncEngine) -> Database:
    """The test's database (both backends)."""
    return Database.on(engine)


@pytest.fixture
async def engine_url(database_url: str) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """A migrated engine and its URL (child processes open the same database)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield engine, database_url
    finally:
        await engine.dispose()


async def wait_for(
    check: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.005
) -> bool:
    """Await `check()` until it returns True or `within` seconds have passed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every)
    return False


# --- C27: retry_after=37 in the middle of a digest to 500 chats ---------------------------------

C27_PRIVATE, C27_GROUPS = 490, 10  # 500 chats
C27_GROUP_PARTS = 3  # a group's digest is three messages: the per-chat interval applies
C27_STORM_AFTER = 150  # messages accepted before Telegram starts answering 429
C27_SPEED, C27_PAUSE_SPEED = 2.5, 20.0  # clock speed while sending, and while paused
C27_RETRY_AFTER = 37


class ShiftingClock:
    """Monotonic and wall time running `speed` times faster than real time; speed can change."""

    def __init__(self, speed: float) -> None:
        self._speed = speed
        self._real = time.monotonic()
        self._fake = 0.0
        self._wall = PAST + timedelta(hours=1)

    def set_speed(self, speed: float) -> None:
        """Run at a new speed from now on (the time itself never jumps)."""
        self._fake, self._real, self._speed = self.monotonic(), time.monotonic(), speed

    def monotonic(self) -> float:
        """Sped-up monotonic seconds."""
        return self._fake + (time.monotonic() - self._real) * self._speed

    def now(self) -> datetime:
        """Sped-up aware UTC wall time."""
        return self._wall + timedelta(seconds=self.monotonic())


async def storm_mid_digest(server: FakeBotAPI, clock: ShiftingClock) -> None:
    """Start a 429 storm after C27_STORM_AFTER messages; fast-forward through the pause."""
    while len(server.messages()) < C27_STORM_AFTER:  # noqa: ASYNC110 (polls a fake)
        await asyncio.sleep(0.005)
    server.storm_429(30.0, retry_after=C27_RETRY_AFTER)  # over before the pause ends

    def refused() -> list[float]:
        """When each 429 was answered."""
        return [c.at for c in server.calls("sendMessage") if c.status == 429]

    # Three chats refused at once is a storm: every chat pauses. Only then skip ahead.
    while len(refused()) < 3:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    clock.set_speed(C27_PAUSE_SPEED)
    while clock.monotonic() < max(refused()) + C27_RETRY_AFTER:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    clock.set_speed(C27_SPEED)


def gaps(times: list[float]) -> list[float]:
    """Time between consecutive messages."""
    return [b - a for a, b in itertools.pairwise(times)]


async def test_retry_after_37_mid_digest_to_500_chats_pauses_then_sends_each_once_in_limits(
    database: Database,
) -> None:
    groups = [-4_100_000_001 - n for n in range(C27_GROUPS)]
    privates = [USER + n for n in range(C27_PRIVATE)]
    # The groups' digests come last: with the queue nearly drained, only the per-chat
    # interval keeps their parts a second apart.
    pks = await add_chats(database, [*privates, *groups])
    owed: dict[int, list[str]] = {}
    for chat_id in pks:
        parts = C27_GROUP_PARTS if chat_id < 0 else 1
        owed[chat_id] = [f"digest {chat_id} {p + 1}/{parts}" for p in range(parts)]
    rows = [
        outbox.outbox_row(
            chat_pk=pks[c], kind="digest", ref="week:2026-W02", part=p, body=body, now=PAST
        )
        for c, bodies in owed.items()
        for p, body in enumerate(bodies)
    ]
    async with database.write() as session:
        assert await outbox.enqueue(session=session, rows=rows) == len(rows)
    clock = ShiftingClock(C27_SPEED)
    # The fake enforces Telegram's limits (30/s, 1/s a chat, 20/min a group) on this clock.
    async with FakeBotAPI(clock=clock.monotonic) as server:
        sender = Sender(
            database=database,
            transport=TelegramTransport(server.make_bot()),
            # 20/s: the sped-up clock magnifies loopback and database latency jitter, and a
            # 1 s window at the fake may hold sends paced over 1.3 s of the sender's clock.
            policy=SenderPolicy(limits=SendLimits(per_second=20.0), idle_poll_seconds=0.02),
            now=clock.now,
            monotonic=clock.monotonic,
        )
        stop = asyncio.Event()
        storm = asyncio.create_task(storm_mid_digest(server, clock))
        running = asyncio.create_task(sender.run(stop))
        try:
            await until(lambda: len(server.messages()) >= len(rows), within=90)
            await asyncio.sleep(0.2)  # a duplicate would show up now
        finally:
            stop.set()
            await running
            storm.cancel()
        messages = server.messages()
        calls = server.calls("sendMessage")

    for chat_id, bodies in owed.items():  # each chat: its digest, whole, once, in order
        assert [m.text for m in messages if m.chat_id == chat_id] == bodies
    assert len(messages) == len(rows) == C27_PRIVATE + C27_GROUPS * C27_GROUP_PARTS
    assert (await counts(database))[SENT] == len(rows)
    refused = [c for c in calls if c.status == 429]
    first = refused[0].at
    accepted = sorted(m.accepted_at for m in messages)
    before = [t for t in accepted if t < first]
    resumed = min(t for t in accepted if t >= first)
    assert C27_STORM_AFTER <= len(before) < len(rows) // 2  # the storm came mid-digest
    assert resumed >= first + C27_RETRY_AFTER  # nothing was accepted during the pause
    assert all(c.at < resumed for c in refused)  # and the fake never had to refuse again
    assert 3 <= len(refused) <= 2 * sender.policy.concurrency  # a storm, not one per chat
    for call in refused:
        again = [m.accepted_at for m in messages if m.chat_id == int(call.params["chat_id"])]
        assert min(t for t in again if t > call.at) >= call.at + C27_RETRY_AFTER
    assert most_in_window(accepted, 1.0) <= 30
    for chat_id in groups:  # a second between a chat's messages, less latency jitter
        times = [m.accepted_at for m in messages if m.chat_id == chat_id]
        assert all(gap >= 0.75 for gap in gaps(times)), (chat_id, gaps(times))


# --- D39: SIGKILL between "matched" and "outbox committed", alerts on --------------------------

D39_FEEDS, D39_ENTRIES, D39_CHATS, D39_KILLS = 12, 6, 5, 3
D39_STAGGER_SECONDS = 0.04


@dataclass
class AlertState:
    """What the database holds about items, verdicts and alert rows at one moment."""

    items: list[tuple[int, str, str | None, int | None]]  # id, feed, guid, story
    relevant: set[int]  # items with a relevant verdict
    unmatched: set[int]  # items stored without a verdict
    alerts: Counter[tuple[int, str]]  # (chat pk, ref) -> rows
    chats: list[int]  # the chats that want an alert for every relevant item

    @property
    def feeds(self) -> set[str]:
        """Feeds with stored items."""
        return {feed for _, feed, _, _ in self.items}


async def alert_state(database: Database) -> AlertState:
    """Read items, verdicts and alert rows in one snapshot."""
    async with database.read() as session:
        items = [
            (i or 0, f, g, s)
            for i, f, g, s in await session.execute(
                select(col(Item.id), col(Item.feed_id), col(Item.guid), col(Item.story_id))
            )
        ]
        found = await session.execute(select(col(Verdict.item_id), col(Verdict.relevant)))
        verdicts: dict[int, bool] = {row[0]: row[1] for row in found.all()}
        alerts = await session.execute(
            select(col(OutboxRow.chat_pk), col(OutboxRow.ref)).where(col(OutboxRow.kind) == "alert")
        )
        recipients = await chats.alert_recipients(session=session, topics=[], urgent=False)
        everyone = (await session.execute(select(col(Chat.id)))).scalars().all()
    wanting = sorted(c.id or 0 for c in recipients)
    assert wanting == sorted(c or 0 for c in everyone)  # every chat wants every alert at once
    return AlertState(
        items=items,
        relevant={i for i, *_ in items if verdicts.get(i)},
        unmatched={i for i, *_ in items if i not in verdicts},
        alerts=Counter((pk, ref) for pk, ref in alerts),
        chats=wanting,
    )


def alert_problems(state: AlertState) -> list[str]:
    """Every matched item without its alert rows, alert rows without an item, duplicates."""
    chat_pks = state.chats
    refs = {
        f"story:{story}" if story else f"item:{item}"
        for item, _, _, story in state.items
        if item in state.relevant
    }
    expected = {(pk, ref) for pk in chat_pks for ref in refs}
    problems = [f"item {i} stored without a verdict" for i in sorted(state.unmatched)]
    queued = set(state.alerts)
    problems += [f"alert missing: chat {pk} {ref}" for pk, ref in sorted(expected - queued)]
    problems += [f"alert with no item: chat {pk} {ref}" for pk, ref in sorted(queued - expected)]
    problems += [f"alert queued {n}x: {key}" for key, n in state.alerts.items() if n > 1]
    keys = Counter((feed, guid) for _, feed, guid, _ in state.items)
    problems += [f"item stored {n}x: {key}" for key, n in keys.items() if n > 1]
    return problems


async def item_count(database: Database) -> int:
    """Stored items."""
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Item)) or 0)


async def more_items_than(database: Database, count: int) -> bool:
    """Whether more than `count` items are stored."""
    return await item_count(database) > count


# Feed transactions of the service that wait for our lock at their last statement (UPDATE
# feeds), and whether each has written alert rows (holds the INSERT's lock on outbox).
STUCK_FEED_TRANSACTIONS = r"""
SELECT a.pid, EXISTS (
    SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE l.pid = a.pid AND l.granted AND c.relname = 'outbox' AND l.mode = 'RowExclusiveLock'
) AS alerts
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'
  AND a.query ~* '^\s*update feeds\M'
"""


# The trap holds every feed row as UPDATE would (FOR NO KEY UPDATE: the items' foreign key
# check, FOR KEY SHARE, still passes), so a feed transaction writes its items, verdicts,
# stories and alert rows, then waits at its last statement, UPDATE feeds, until the kill.
class FeedTransactionTrap:
    """PostgreSQL: stops the service's feed transactions with everything but the commit done."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._holder: asyncpg.Connection | None = None
        self._watcher: asyncpg.Connection | None = None
        self.caught: list[str] = []  # per kill: "alerts", "items" or "missed"

    async def __aenter__(self) -> FeedTransactionTrap:
        self._holder = await asyncpg.connect(self._dsn)
        self._watcher = await asyncpg.connect(self._dsn)
        return self

    async def __aexit__(self, *_: object) -> None:
        for conn in (self._holder, self._watcher):
            if conn is not None:
                await conn.close()

    async def hold(self) -> None:
        """Lock every feed row until release()."""
        assert self._holder is not None
        await self._holder.execute("BEGIN")
        await self._holder.execute("SET LOCAL lock_timeout = '10s'")
        await self._holder.execute("SELECT id FROM feeds FOR NO KEY UPDATE")

    async def wait_until_stuck(self) -> None:
        """Until a feed transaction with alert rows is stuck (or, after 3 s, any one)."""
        assert self._watcher is not None
        started = time.monotonic()
        while time.monotonic() - started < 15:
            stuck = await self._watcher.fetch(STUCK_FEED_TRANSACTIONS)
            if any(row["alerts"] for row in stuck):
                self.caught.append("alerts")
                return
            if stuck and time.monotonic() - started > 3:
                self.caught.append("items")
                return
            await asyncio.sleep(0.002)
        self.caught.append("missed")

    async def release(self) -> None:
        """Let go: the dead process's transactions wake up, find no client and roll back."""
        assert self._holder is not None
        await self._holder.execute("ROLLBACK")


async def crash_polls(backend: str, engine: AsyncEngine, url: str, folder: Path) -> None:
    """SIGKILL `briefbot run` D39_KILLS times mid-poll, then let it finish; check the alerts."""
    try:
        if backend == "postgres":
            async with FeedTransactionTrap(url) as trap:
                await _crash_polls(Database.on(engine), backend, url, folder, trap)
                assert trap.caught == ["alerts"] * D39_KILLS, trap.caught
        else:
            await _crash_polls(Database.on(engine), backend, url, folder, None)
    except AssertionError as failure:
        raise AssertionError(f"{backend}: {failure}\n{log_tail(folder)}") from None


async def _crash_polls(
    database: Database,
    backend: str,
    url: str,
    folder: Path,
    trap: FeedTransactionTrap | None,
) -> None:
    """The body of crash_polls (`trap` on PostgreSQL only)."""
    now = datetime.now(UTC)
    corpus = build_corpus(39, feeds=D39_FEEDS, entries=D39_ENTRIES, now=now)
    rng = random.Random(f"d39/{backend}")
    async with FeedServer() as feeds:
        # Answers staggered over half a second: the cycle's feeds commit one after another,
        # so a kill 0-30 ms after the first commit lands mid-poll however fast storing is.
        for n, feed in enumerate(corpus.feeds):
            feeds.add(feed.path, feed.rss(0), delay_seconds=D39_STAGGER_SECONDS * n)
        write_catalog(folder / "feeds.yaml", corpus, feeds)
        catalog = load_catalog(folder / "feeds.yaml", allow_private=True)
        await sync_catalog(database, catalog, now)
        async with database.write() as session:
            # The backlog was read before: what the feeds serve now is new and raises alerts.
            await session.execute(update(Feed).values(last_success_at=now - timedelta(hours=1)))
            for n in range(D39_CHATS):
                await chats.add_chat(
                    session=session,
                    chat_id=USER + n,
                    kind="private",
                    now=now,
                    alert_mode=chats.INSTANT,
                    follow_all=True,
                )
        # Console mode (no BOT_TOKEN): the same pipeline without aiogram's seconds of import
        # at every start; it adds one local subscriber, who also wants every alert.
        env = service_env(Scenario(backend, 39), url, folder / "feeds.yaml", "")
        for name in ("BOT_TOKEN", "TELEGRAM_API_BASE"):
            env.pop(name)
        paths = {f.feed_id: f.path for f in corpus.feeds}
        lost_fetches = 0  # feeds fetched by a killed run whose items it never committed
        for run in range(D39_KILLS):
            before = await item_count(database)
            hits = {f: feeds.hits(p) for f, p in paths.items()}
            proc = await spawn(("run",), cwd=folder, env=env, log=folder / f"run-{run}.log")
            try:
                # After the run's first feed transaction commits, the other feeds of the
                # cycle are being parsed, matched and stored.
                first_commit = functools.partial(more_items_than, database, before)
                assert await wait_for(first_commit, within=90), f"run {run} stored nothing"
                if trap is None:  # SQLite: 0-30 ms later, wherever that falls
                    await asyncio.sleep(rng.uniform(0.0, 0.03))
                else:  # PostgreSQL: inside a feed transaction, everything written but the commit
                    await trap.hold()
                    await trap.wait_until_stuck()
            finally:
                kill_group(proc.pid)
            await proc.wait()
            if trap is not None:
                await trap.release()
            state = await alert_state(database)
            problems = alert_problems(state)
            assert not problems, f"after kill {run}: {problems[:10]}"
            assert before < len(state.items) < len(corpus.expected)  # killed mid-poll
            fetched = {f for f, p in paths.items() if feeds.hits(p) > hits[f]}
            lost_fetches += len(fetched - state.feeds)
        final = await spawn(("run",), cwd=folder, env=env, log=folder / "final.log")
        violations: list[str] = []
        try:
            everything = len(corpus.expected) - 1
            stored = await wait_for(lambda: more_items_than(database, everything), within=90)
            assert stored, "the last run did not store every item"
        finally:
            await stop(final, violations)
    assert not violations, violations  # the last run stopped cleanly on SIGTERM
    state = await alert_state(database)
    problems = alert_problems(state)
    assert not problems, problems[:10]
    assert len(state.items) == len(corpus.expected)
    assert {(f, g) for _, f, g, _ in state.items} == corpus.expected
    assert len(state.alerts) >= len(state.chats) > D39_CHATS  # alerts were really made
    assert lost_fetches > 0  # fetched (and matched) work died with a process: redone once


@pytest.mark.postgres
async def test_sigkill_while_polling_with_alerts_on_queues_each_alert_exactly_once(
    tmp_path: Path,
) -> None:
    name = f"briefbot_test_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    urls = {
        "sqlite": f"sqlite:///{tmp_path / 'sqlite' / 'briefbot.db'}",
        "postgres": f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}",
    }
    engines = {backend: create_engine(url) for backend, url in urls.items()}
    try:
        for backend, engine in engines.items():  # Alembic migrates one database at a time
            (tmp_path / backend).mkdir(exist_ok=True)
            await upgrade(engine)
        # Both backends at once: most of the time is process start-up, which overlaps.
        results = await asyncio.gather(
            *(crash_polls(b, e, urls[b], tmp_path / b) for b, e in engines.items()),
            return_exceptions=True,
        )
    finally:
        for engine in engines.values():
            await engine.dispose()
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    failures = [r for r in results if isinstance(r, BaseException)]
    if len(failures) == 1:
        raise failures[0]
    assert not failures, "\n\n".join(map(str, failures))


async def pg_admin(statement: str) -> None:
    """Run one statement on the PostgreSQL admin database."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# --- E46: two sender processes, one SIGKILLed mid-batch ----------------------------------------

E46_CHATS, E46_PARTS = 500, 2  # 1,000 rows
E46_RATE = 60.0  # per process: each claims up to 120 rows at a time, a few seconds' work
E46_LEASE = 10.0  # so no live sender's claim outlasts its lease
E46_KILL_AFTER = 40  # the doomed sender dies in its 40th request after both are sending


@pytest.fixture(scope="module")
def sender_farm() -> Iterator[SenderFarm]:
    """Forks sender processes from one interpreter that imported aiogram once."""
    with SenderFarm() as farm:
        yield farm


async def start_sender(
    farm: SenderFarm, url: str, api: FakeBotAPI, log: Path, *, concurrency: int = 4
) -> tuple[int, str]:
    """A sender process on `url` sending through `api`: its pid and lease owner."""
    argv = [url, api.base_url, "--rate", str(E46_RATE), "--concurrency", str(concurrency)]
    pid = await farm.spawn([*argv, "--lease", str(E46_LEASE)], log)

    async def named() -> bool:
        """Whether the child has printed its lease owner."""
        return farm.owner(log) is not None

    assert await wait_for(named, within=30, every=0.02), f"sender {pid} never got ready"
    return pid, farm.owner(log) or ""


async def sent_by(api: FakeBotAPI, count: int) -> bool:
    """Whether `api` has accepted at least `count` messages."""
    return len(api.messages()) >= count


async def all_rows(database: Database) -> list[OutboxRow]:
    """Every outbox row."""
    async with database.read() as session:
        return list((await session.execute(select(OutboxRow))).scalars())


async def settled(database: Database) -> bool:
    """No row pending, failed or sending."""
    async with database.read() as session:
        by_state = await outbox.count_by_state(session=session)
    return not any(by_state[s] for s in UNSETTLED)


async def test_two_sender_processes_one_killed_mid_batch_send_every_row_once(
    engine_url: tuple[AsyncEngine, str], sender_farm: SenderFarm, tmp_path: Path
) -> None:
    engine, url = engine_url
    database = Database.on(engine)
    pks = await add_chats(database, [USER + n for n in range(E46_CHATS)])
    rows = [
        outbox.outbox_row(
            chat_pk=pk, kind="digest", ref="week:2026-W02", part=p, body=f"{c} part {p}", now=PAST
        )
        for c, pk in pks.items()
        for p in range(E46_PARTS)
    ]
    async with database.write() as session:
        assert await outbox.enqueue(session=session, rows=rows) == len(rows)
    async with KillSwitchBotAPI() as doomed_api, FakeBotAPI() as steady_api:
        for api in (doomed_api, steady_api):
            api.set_rate_limits(RateLimits.disabled())
        # One request in flight for the one that dies, so its kill can strand at most one.
        doomed, owner = await start_sender(
            sender_farm, url, doomed_api, tmp_path / "doomed.log", concurrency=1
        )
        steady, _ = await start_sender(sender_farm, url, steady_api, tmp_path / "steady.log")
        survivors = [steady]
        try:
            killed = asyncio.Event()

            def fire() -> None:
                """SIGKILL the doomed sender's whole session."""
                kill_group(doomed)
                killed.set()

            # Both are sending: SIGKILL the doomed one as Telegram takes a message from it,
            # before the answer goes back.
            assert await wait_for(lambda: sent_by(steady_api, 20), within=60, every=0.01)
            doomed_api.arm(doomed_api.send_requests + E46_KILL_AFTER, "after", 0.0, fire)
            await asyncio.wait_for(killed.wait(), timeout=60)
            assert await sender_farm.wait(doomed, within=10) == -signal.SIGKILL
            at_kill = [r for r in await all_rows(database) if r.lease_owner == owner]
            left_sending = {r.id for r in at_kill if r.state == SENDING}
            left_claimed = {r.id for r in at_kill if r.state != SENDING}
            sent_at_kill = len(steady_api.messages())
            doomed_api.disarm()
            restart, _ = await start_sender(sender_farm, url, doomed_api, tmp_path / "restart.log")
            survivors.append(restart)
            assert await wait_for(lambda: settled(database), within=60, every=0.1)
            for pid in survivors:
                os.kill(pid, signal.SIGTERM)
            codes = [await sender_farm.wait(pid, within=20) for pid in survivors]
        finally:
            for pid in (doomed, *survivors):
                kill_group(pid)
        messages = doomed_api.messages() + steady_api.messages()
    assert codes == [0, 0]  # both stopped cleanly
    assert len(left_sending) == 1  # one request in flight: delivered, its answer lost
    assert left_claimed  # and a claimed batch not sent yet: killed mid-batch
    assert len(steady_api.messages()) > sent_at_kill > 0  # the survivor sent all along
    final = await all_rows(database)
    check_each_row_sent_once(final, messages, pks, expect_uncertain=left_sending)
    uncertain = [r for r in final if r.state == UNCERTAIN]
    assert len(uncertain) <= 1  # kills x requests in flight per sender
    by_id = {r.id: r for r in final}
    assert {by_id[i].state for i in left_claimed} == {SENT}  # the stranded batch went out
    arrived = {(m.chat_id, m.text) for m in messages}
    chat_of = {pk: c for c, pk in pks.items()}
    # Telegram took that one before the kill: it arrived, and (above) only once, never resent.
    assert {(chat_of[r.chat_pk], r.body) for r in uncertain} <= arrived
    for chat_id in pks:  # two senders and a kill, and still each chat's parts in order
        got = sorted((m.accepted_at, m.text) for m in messages if m.chat_id == chat_id)
        assert [text for _, text in got] == [f"{chat_id} part {p}" for p in range(E46_PARTS)]


def check_each_row_sent_once(
    rows: list[OutboxRow],
    messages: list[SentMessage],
    pks: dict[int, int],
    *,
    expect_uncertain: set[int | None],
) -> None:
    """Sent rows arrived once, uncertain ones at most once, and nothing else arrived."""
    chat_of = {pk: chat_id for chat_id, pk in pks.items()}
    received = Counter((m.chat_id, m.text) for m in messages)
    assert {r.id for r in rows if r.state == UNCERTAIN} == expect_uncertain
    assert {r.state for r in rows} <= {SENT, UNCERTAIN}
    wrong = []
    for row in rows:
        got = received.pop((chat_of[row.chat_pk], row.body), 0)
        if (row.state == SENT and got != 1) or (row.state == UNCERTAIN and got > 1):
            wrong.append(f"row {row.id} {row.state}: received {got}")
    assert not wrong, wrong[:10]
    assert not received  # no message that no row owed
