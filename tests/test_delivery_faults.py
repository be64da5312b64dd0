"""The sender against Telegram's faults (ADVERSARIAL C27-C36, G55), over real HTTP to the
fake Bot API, on SQLite and PostgreSQL. C37 (409) concerns getUpdates, not sends: not here."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import chats
from bot.db.engine import Database, create_engine
from bot.db.migrate import upgrade
from bot.delivery.outbox import DEAD, FAILED, PENDING, SENT, UNCERTAIN
from bot.delivery.pacing import SendLimits
from bot.delivery.policy import BACKOFF_BASE_SECONDS
from bot.delivery.sender import Sender, SenderPolicy
from bot.delivery.telegram import TelegramTransport
from bot.delivery.transport import Sent
from bot.logs import TOKEN_PATTERN
from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotAPI, Fault, Faults, RateLimits
from tests.fakes.botapi_faults import migrated, too_many_requests
from tests.support.outbox import (
    FAST,
    PAST,
    add_chats,
    all_rows,
    chat_ids,
    counts,
    digest_to_everyone,
    drain_until_settled,
    make_due_now,
    make_sender,
    most_in_window,
    queue,
    sends_to,
    until,
)

USER, OTHER, THIRD = 7_301_234_567, 7_301_234_568, 7_301_234_569
GROUP, SUPERGROUP = -4_071_234_567, -1_009_876_543_210
BYSTANDER = 7_301_234_400


@pytest.fixture
def database(engine: AsyncEngine) -> Database:
    """The test's database (both backends)."""
    return Database.on(engine)


@pytest.fixture
async def pacing_database(tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite only: for a timing case that is not about storage (the 429 cases use both)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'pacing.db'}")
    await upgrade(engine)
    try:
        yield Database.on(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def dead_network() -> AsyncIterator[Bot]:
    """A Bot whose API server is a loopback port nobody listens on: every connect fails."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")
    bot = Bot(DEFAULT_TOKEN, session=AiohttpSession(api=api))
    try:
        yield bot
    finally:
        await bot.session.close()


class SwitchableNetwork:
    """A transport whose network goes down and comes back (two Bots, one per state)."""

    def __init__(self, up: Bot, down: Bot) -> None:
        self.up = True
        self._up, self._down = TelegramTransport(up), TelegramTransport(down)

    async def send_text(self, chat_id: int, text: str, parse_mode: str | None) -> Sent:
        """Send over whichever network is current."""
        transport = self._up if self.up else self._down
        return await transport.send_text(chat_id, text, parse_mode)

    async def send_photo(
        self, chat_id: int, photo: bytes | str, caption: str, parse_mode: str | None
    ) -> Sent:
        """Not used here."""
        raise NotImplementedError


# --- C27: 429 retry_after --------------------------------------------------------------------


async def test_429_storm_pauses_every_chat_then_delivers_each_digest_once_under_the_limits(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    recipients = [USER + n for n in range(30)]
    await digest_to_everyone(database, recipients)
    fake_botapi.storm_429(1.5, retry_after=2)  # over before the pause ends
    # 25/s leaves room for loopback latency jitter under Telegram's 30/s.
    sender = make_sender(database, fake_botapi, limits=SendLimits(per_second=25.0))
    await drain_until_settled(sender, database, within=20)

    assert all(len(fake_botapi.messages(c)) == 1 for c in recipients)
    assert len(fake_botapi.messages()) == len(recipients)
    refused = [c for c in fake_botapi.calls("sendMessage") if c.status == 429]
    assert 3 <= len(refused) <= sender.policy.concurrency  # only what was in flight
    first = refused[0].at
    accepted = [m.accepted_at for m in fake_botapi.messages()]
    assert not [t for t in accepted if first <= t < first + 2.0]  # a global pause
    for call in refused:
        again = fake_botapi.messages(int(call.params["chat_id"]))[0].accepted_at
        assert again >= call.at + 2.0
    assert most_in_window(accepted, 1.0) <= 30
    assert (await counts(database))[SENT] == len(recipients)


async def test_429_for_one_chat_pauses_only_that_chat_and_keeps_its_order(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [GROUP, *(USER + n for n in range(8))])
    await queue(database, pks[GROUP], [f"<b>part {n}</b>" for n in range(3)])
    for n in range(8):
        await queue(database, pks[USER + n], ["alert"], kind="alert", ref="story:1")
    fake_botapi.fail_chat(GROUP, too_many_requests(2), times=1)
    sender = make_sender(database, fake_botapi)
    await drain_until_settled(sender, database, within=15)

    refusal = next(c for c in fake_botapi.calls("sendMessage") if c.status == 429)
    assert sends_to(fake_botapi, GROUP) == [429, 200, 200, 200]
    group = fake_botapi.messages(GROUP)
    assert [m.visible for m in group] == ["part 0", "part 1", "part 2"]
    assert group[0].accepted_at >= refusal.at + 2.0
    others = [m for m in fake_botapi.messages() if m.chat_id != GROUP]
    assert len(others) == 8
    assert all(m.accepted_at < refusal.at + 2.0 for m in others)  # not held up


# C27 at full length: retry_after=37 on a clock running faster than real time.


class FastClock:
    """Monotonic and wall time running `speed` times faster than real time."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._start = time.monotonic()
        self._wall = PAST + timedelta(hours=1)

    def monotonic(self) -> float:
        """Sped-up monotonic seconds."""
        return (time.monotonic() - self._start) * self.speed

    def now(self) -> datetime:
        """Sped-up aware UTC wall time."""
        return self._wall + timedelta(seconds=self.monotonic())


async def test_retry_after_37_pauses_37_seconds_and_groups_get_at_most_20_a_minute(
    database: Database,
) -> None:
    clock = FastClock(speed=40.0)
    groups = [-4_000_000_001, -4_000_000_002]
    pks = await add_chats(database, [*groups, *(USER + n for n in range(10))])
    for chat_id, pk in pks.items():
        parts = 24 if chat_id < 0 else 1
        await queue(database, pk, [f"part {p}" for p in range(parts)])
    async with FakeBotAPI(clock=clock.monotonic) as server:
        # Its sleeps are real time, so a short chat interval keeps the test short; the
        # group limit is what paces the groups here (the fake enforces it too).
        server.set_rate_limits(RateLimits(chat_per_second=None))
        server.storm_429(30.0, retry_after=37)  # over before the pause ends
        sender = Sender(
            database=database,
            transport=TelegramTransport(server.make_bot()),
            policy=SenderPolicy(
                limits=SendLimits(chat_interval_seconds=0.1), idle_poll_seconds=0.02
            ),
            now=clock.now,
            monotonic=clock.monotonic,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(sender.run(stop))
        await until(lambda: len(server.messages()) == 58, within=30)
        stop.set()
        await running

        refused = [c for c in server.calls("sendMessage") if c.status == 429]
        assert refused
        resumed = min(m.accepted_at for m in server.messages())
        assert resumed >= refused[0].at + 37.0
        assert all(c.at < resumed for c in refused)  # the fake never had to refuse again
        for group in groups:
            visible = [m.visible for m in server.messages(group)]
            assert visible == [f"part {p}" for p in range(24)]
            times = [m.accepted_at for m in server.messages(group)]
            # 5 s on this clock is 125 ms of real DB and HTTP latency after pacing.
            assert most_in_window(times, 55.0) <= 20
        assert len(server.messages()) == 58
    assert (await counts(database))[SENT] == 58


# --- C28: 403 ------------------------------------------------------------------------------


FORBIDDEN = [
    Faults.BLOCKED,
    Faults.USER_DEACTIVATED,
    Faults.KICKED,
    Faults.KICKED_SUPERGROUP,
    Faults.CANT_INITIATE,
]


async def test_forbidden_deletes_the_chat_and_its_queue_without_retry(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    victims = [USER + n for n in range(len(FORBIDDEN))]
    pks = await add_chats(database, [*victims, BYSTANDER])
    for pk in pks.values():
        await queue(database, pk, ["digest 1/2", "digest 2/2"])
        await queue(database, pk, ["alert"], kind="alert", ref="story:9")
    for victim, fault in zip(victims, FORBIDDEN, strict=True):
        fake_botapi.fail_chat(victim, fault)
    sender = make_sender(database, fake_botapi)
    await sender.drain(within_seconds=10)
    await make_due_now(database)
    await sender.drain(within_seconds=10)

    for victim in victims:  # each refusal ends that chat: one request, no retry
        assert sends_to(fake_botapi, victim) == [403]
    assert [m.chat_id for m in fake_botapi.messages()] == [BYSTANDER] * 3
    assert await chat_ids(database) == {BYSTANDER}
    rows = await all_rows(database)
    assert [(r.chat_pk, r.state) for r in rows] == [(pks[BYSTANDER], SENT)] * 3


# --- C29: migration ------------------------------------------------------------------------


async def test_migrated_group_gets_each_part_once_at_its_new_id(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [GROUP])
    await queue(database, pks[GROUP], ["part 1", "part 2"])
    fake_botapi.fail_chat(GROUP, migrated(SUPERGROUP))
    sender = make_sender(database, fake_botapi)
    await drain_until_settled(sender, database, within=10)

    assert sends_to(fake_botapi, GROUP) == [400]
    assert [m.visible for m in fake_botapi.messages(SUPERGROUP)] == ["part 1", "part 2"]
    assert await chat_ids(database) == {SUPERGROUP}
    async with database.read() as session:
        chat = await chats.get_chat(session=session, chat_id=SUPERGROUP)
    assert chat is not None
    assert (chat.id, chat.kind) == (pks[GROUP], "supergroup")
    assert [r.state for r in await all_rows(database)] == [SENT, SENT]


async def test_migration_already_seen_from_the_new_side_sends_nothing_twice(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    # The supergroup's service message already created its chat; the old id's send then
    # comes back "upgraded": the new chat must still get the digest exactly once.
    pks = await add_chats(database, [GROUP, SUPERGROUP])
    for chat_id in (GROUP, SUPERGROUP):
        await queue(database, pks[chat_id], ["weekly digest"])
    fake_botapi.fail_chat(GROUP, migrated(SUPERGROUP))
    sender = make_sender(database, fake_botapi)
    await drain_until_settled(sender, database, within=10)

    assert [m.visible for m in fake_botapi.messages(SUPERGROUP)] == ["weekly digest"]
    assert sends_to(fake_botapi, GROUP) == [400]
    assert await chat_ids(database) == {SUPERGROUP}
    assert [(r.chat_pk, r.state) for r in await all_rows(database)] == [(pks[SUPERGROUP], SENT)]


async def test_migrate_chat_is_idempotent_from_either_direction(database: Database) -> None:
    pks = await add_chats(database, [GROUP])
    for _ in range(2):  # the send error, then the service message
        async with database.write() as session:
            await chats.migrate_chat(session=session, old_id=GROUP, new_id=SUPERGROUP)
        assert await chat_ids(database) == {SUPERGROUP}
    await add_chats(database, [GROUP])  # re-added under the old id before the update came
    async with database.write() as session:
        await chats.migrate_chat(session=session, old_id=GROUP, new_id=SUPERGROUP)
    async with database.read() as session:
        kept = await chats.get_chat(session=session, chat_id=SUPERGROUP)
    assert await chat_ids(database) == {SUPERGROUP}
    assert kept is not None
    assert kept.id == pks[GROUP]


# --- C30-C32: permanent 400s and plain-text fallback -----------------------------------------


async def test_chat_not_found_is_dead_counted_and_never_retried(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [USER, OTHER])
    for chat_id in (USER, OTHER):
        await queue(database, pks[chat_id], ["alert"])
    fake_botapi.fail_chat(USER, Faults.CHAT_NOT_FOUND)
    sender = make_sender(database, fake_botapi)
    for _ in range(3):
        await sender.drain(within_seconds=5)
        await make_due_now(database)

    assert sends_to(fake_botapi, USER) == [400]
    assert (await counts(database))[DEAD] == 1
    dead = next(r for r in await all_rows(database) if r.chat_pk == pks[USER])
    assert dead.state == DEAD
    assert "chat not found" in (dead.last_error or "")
    assert len(fake_botapi.messages(OTHER)) == 1


async def test_unparsable_html_is_resent_as_plain_text_and_the_batch_continues(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [USER, OTHER])
    # Feed HTML that slipped through: Telegram refuses <p> with "can't parse entities".
    await queue(database, pks[USER], ["<p>Talks in Minsk &amp; Vilnius</p>", "<b>part 2</b>"])
    await queue(database, pks[OTHER], ["<b>fine</b>"])
    sender = make_sender(database, fake_botapi)
    await drain_until_settled(sender, database, within=10)

    assert sends_to(fake_botapi, USER) == [400, 200, 200]
    first, second = fake_botapi.messages(USER)
    assert (first.parse_mode, first.visible) == (None, "Talks in Minsk & Vilnius")
    assert (second.parse_mode, second.visible) == ("HTML", "part 2")
    assert [m.visible for m in fake_botapi.messages(OTHER)] == ["fine"]
    assert (await counts(database))[SENT] == 3


async def test_injected_parse_error_on_plain_text_is_dead_not_a_loop(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [USER])
    await queue(database, pks[USER], ["<b>x</b>"])
    bad = Fault(400, "Bad Request: can't parse entities: unsupported start tag at byte offset 0")
    fake_botapi.fail_chat(USER, bad)
    sender = make_sender(database, fake_botapi)
    await drain_until_settled(sender, database, within=10)

    assert sends_to(fake_botapi, USER) == [400, 400]  # HTML, then plain text
    assert [r.state for r in await all_rows(database)] == [DEAD]


async def test_oversized_text_is_dead_with_a_clear_error_and_not_retried(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [USER])
    await queue(database, pks[USER], ["x" * 5000, "next part"])
    sender = make_sender(database, fake_botapi)
    await drain_until_settled(sender, database, within=10)
    await make_due_now(database)
    await sender.drain(within_seconds=5)

    assert sends_to(fake_botapi, USER) == [400, 200]
    oversized, following = await all_rows(database)
    assert oversized.state == DEAD
    assert "message is too long" in (oversized.last_error or "")
    assert following.state == SENT


# --- C33-C35: lost answers, no network, server errors ----------------------------------------


async def test_answer_lost_after_delivery_is_uncertain_and_never_resent(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [USER, OTHER, THIRD])
    await queue(database, pks[USER], ["digest 1/2", "digest 2/2"])
    await queue(database, pks[OTHER], ["digest"])
    await queue(database, pks[THIRD], ["digest"])
    fake_botapi.fail_chat(USER, Faults.DROP_AFTER_ACCEPT, times=1)
    fake_botapi.fail_chat(OTHER, Faults.HANG, times=1)  # until the client times out
    sender = make_sender(database, TelegramTransport(fake_botapi.make_bot(), timeout=1.0))
    await sender.drain(within_seconds=10)
    await make_due_now(database)
    await sender.drain(within_seconds=5)

    assert sends_to(fake_botapi, USER) == [0, 200]
    assert [m.visible for m in fake_botapi.messages(USER)] == ["digest 1/2", "digest 2/2"]
    assert sends_to(fake_botapi, OTHER) == [0]
    assert len(fake_botapi.messages(OTHER)) == 1
    assert [r.state for r in await all_rows(database)] == [UNCERTAIN, SENT, UNCERTAIN, SENT]


async def test_connect_failure_backs_off_then_delivers_once_when_the_network_returns(
    database: Database, fake_botapi: FakeBotAPI, dead_network: Bot
) -> None:
    pks = await add_chats(database, [USER])
    await queue(database, pks[USER], ["digest"])
    network = SwitchableNetwork(fake_botapi.make_bot(), dead_network)
    network.up = False
    sender = make_sender(database, network)
    before = datetime.now(UTC)
    await sender.drain(within_seconds=5)

    (row,) = await all_rows(database)
    assert (row.state, row.attempts) == (FAILED, 1)
    assert row.next_attempt_at >= before + timedelta(seconds=BACKOFF_BASE_SECONDS / 2)
    assert "connect failed" in (row.last_error or "")
    await sender.drain(within_seconds=1)  # not due yet: nothing happens
    assert (await all_rows(database))[0].attempts == 1

    network.up = True
    await make_due_now(database)
    await sender.drain(within_seconds=5)
    assert [m.visible for m in fake_botapi.messages(USER)] == ["digest"]
    (row,) = await all_rows(database)
    assert (row.state, row.attempts) == (SENT, 2)


async def test_server_errors_back_off_without_a_tight_loop_then_deliver(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    faults = {USER: Faults.INTERNAL, OTHER: Faults.BAD_GATEWAY, THIRD: Faults.RESTARTING}
    pks = await add_chats(database, [*faults, GROUP])
    for pk in pks.values():
        await queue(database, pk, ["digest"])
    for chat_id, fault in faults.items():
        fake_botapi.fail_chat(chat_id, fault)
    sender = make_sender(database, fake_botapi, idle_poll_seconds=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))  # the service loop
    await until(lambda: len(fake_botapi.calls("sendMessage")) == 4, within=10)
    await asyncio.sleep(1.0)  # a tight loop would hammer the server meanwhile
    stop.set()
    await running

    for chat_id, fault in faults.items():
        calls = fake_botapi.calls("sendMessage")
        tries = [c for c in calls if str(c.params.get("chat_id")) == str(chat_id)]
        # The first retry may fall inside the window (its backoff is 1-2 s), but never sooner
        # than the shortest backoff: a tight loop would send every 0.05 s (idle_poll_seconds).
        assert [c.status for c in tries] in ([fault.status], [fault.status] * 2)
        gaps = [later.at - earlier.at for earlier, later in pairwise(tries)]
        assert all(gap >= BACKOFF_BASE_SECONDS / 2 - 0.05 for gap in gaps), gaps
    assert len(fake_botapi.messages(GROUP)) == 1
    assert (await counts(database))[FAILED] == 3
    fake_botapi.clear_faults()
    await make_due_now(database)
    await sender.drain(within_seconds=5)
    assert [len(fake_botapi.messages(c)) for c in faults] == [1, 1, 1]
    assert [r.state for r in await all_rows(database)] == [SENT] * 4


class SlowNetwork:
    """A transport whose every send takes `seconds` (a slow Telegram, a long timeout)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent = 0

    async def send_text(self, chat_id: int, text: str, parse_mode: str | None) -> Sent:
        """Take a while, then succeed."""
        await asyncio.sleep(self.seconds)
        self.sent += 1
        return Sent(self.sent)

    async def send_photo(
        self, chat_id: int, photo: bytes | str, caption: str, parse_mode: str | None
    ) -> Sent:
        """Not used here."""
        raise NotImplementedError


async def test_service_loop_waits_for_sends_in_flight_instead_of_spinning(
    pacing_database: Database,
) -> None:
    pks = await add_chats(pacing_database, [USER, OTHER])
    for pk in pks.values():
        await queue(pacing_database, pk, ["digest"])
    clock_reads = 0

    def monotonic() -> float:
        nonlocal clock_reads
        clock_reads += 1
        return time.monotonic()

    network = SlowNetwork(0.5)
    sender = Sender(
        database=pacing_database,
        transport=network,
        policy=SenderPolicy(limits=FAST, idle_poll_seconds=0.05),
        monotonic=monotonic,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    await until(lambda: network.sent == 2, within=10)
    stop.set()
    await running

    assert network.sent == 2
    assert clock_reads < 500  # one loop turn per few ms at most, not thousands


# --- C36: 401 ------------------------------------------------------------------------------


async def test_revoked_token_halts_at_once_loudly_and_keeps_the_outbox(
    database: Database, fake_botapi: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    recipients = [USER + n for n in range(12)]
    pks = await digest_to_everyone(database, recipients)
    for pk in pks.values():
        await queue(database, pk, ["alert"], kind="alert", ref="story:3")
    fake_botapi.fail_next(Faults.UNAUTHORIZED, "sendMessage", times=1000)
    sender = make_sender(database, fake_botapi)
    with caplog.at_level(logging.INFO):
        await sender.drain(within_seconds=10)

    assert sender.halted is not None
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1
    assert "401" in critical[0].getMessage()
    assert len(fake_botapi.calls("sendMessage")) <= sender.policy.concurrency
    rows = await all_rows(database)
    assert len(rows) == 24
    assert {(r.state, r.attempts, r.lease_owner) for r in rows} == {(PENDING, 0, None)}

    fake_botapi.clear_faults()  # the token is replaced: everything goes out once
    await make_sender(database, fake_botapi).drain(within_seconds=10)
    assert all(len(fake_botapi.messages(c)) == 2 for c in recipients)


# --- G55: what the sender logs ---------------------------------------------------------------


async def test_sender_logs_carry_no_token_chat_id_or_message_text(
    database: Database,
    fake_botapi: FakeBotAPI,
    dead_network: Bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Secret meeting in Hrodna"
    recipients = [USER + n for n in range(5)]
    pks = await add_chats(database, [*recipients, GROUP])
    for chat_id in (*recipients, GROUP):
        await queue(database, pks[chat_id], [f"<b>{secret}</b>"])
    await queue(database, pks[USER], [f"<p>{secret}</p>"], ref="day:1")  # can't parse
    fake_botapi.fail_chat(USER + 1, Faults.BLOCKED)
    fake_botapi.fail_chat(USER + 2, Faults.DROP_AFTER_ACCEPT, times=1)
    fake_botapi.fail_chat(USER + 3, Fault(429, "Too Many Requests", {"retry_after": 1}), times=1)
    fake_botapi.fail_chat(GROUP, migrated(SUPERGROUP))
    network = SwitchableNetwork(fake_botapi.make_bot(), dead_network)
    network.up = False
    with caplog.at_level(logging.INFO):
        await make_sender(database, fake_botapi).drain(within_seconds=10)
        await queue(database, pks[USER + 4], [f"<b>{secret}</b>"], ref="day:2")
        await make_sender(database, network).drain(within_seconds=5)  # connect fails
        fake_botapi.fail_next(Faults.UNAUTHORIZED, "sendMessage", times=100)
        await make_due_now(database)
        await make_sender(database, fake_botapi).drain(within_seconds=5)

    # aiohttp.access is the fake server's own log (Telegram's side of the wire).
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]
    lines = {logging.Formatter().format(r) for r in ours if r.levelno >= logging.INFO}
    joined = " ".join(lines)
    for fault in ("403", "401", "bad_entities", "connect failed", "no answer", "retry_after"):
        assert fault in joined  # every fault was met and logged
    ids = [str(abs(c)) for c in (*recipients, GROUP, SUPERGROUP)]
    for line in lines:
        assert not TOKEN_PATTERN.search(line)
        assert not [i for i in ids if i in line], line
        assert "Hrodna" not in line
        assert "Secret" not in line
