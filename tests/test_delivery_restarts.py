"""The sender across crashes, restarts and a second instance (ADVERSARIAL D40, D41, D46),
against the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.db.engine import Database, create_engine
from bot.db.tables import OutboxRow
from bot.delivery.outbox import PENDING, SENDING, SENT, UNCERTAIN
from bot.delivery.pacing import SendLimits
from tests.fakes.botapi import FakeBotAPI, RateLimits
from tests.support.outbox import (
    add_chats,
    all_rows,
    counts,
    digest_to_everyone,
    make_sender,
    queue,
    sends_to,
    until,
)

USER = 7_301_234_567


@pytest.fixture
def database(engine: AsyncEngine) -> Database:
    """The test's database (both backends)."""
    return Database.on(engine)


async def set_rows(database: Database, ids: list[int], **values: object) -> None:
    """Force outbox rows into a state, as a worker that died would have left them."""
    async with database.write() as session:
        await session.execute(update(OutboxRow).where(col(OutboxRow.id).in_(ids)).values(**values))


# --- D40: killed between the send and "sent" -------------------------------------------------


async def test_row_left_sending_by_a_dead_worker_becomes_uncertain_and_is_not_resent(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    pks = await add_chats(database, [USER, USER + 1, USER + 2])
    await queue(database, pks[USER], ["digest 1/2", "digest 2/2"])
    await queue(database, pks[USER + 1], ["claimed, never sent"])
    await queue(database, pks[USER + 2], ["in flight 1/2", "in flight 2/2"])
    first, second, claimed, busy, waiting = (r.id or 0 for r in await all_rows(database))
    expired = datetime.now(UTC) - timedelta(seconds=1)
    live = datetime.now(UTC) + timedelta(minutes=5)
    await set_rows(
        database, [first], state=SENDING, attempts=1, lease_owner="dead", lease_until=expired
    )
    await set_rows(database, [claimed], lease_owner="dead", lease_until=expired)
    await set_rows(database, [busy], state=SENDING, lease_owner="alive", lease_until=live)
    await make_sender(database, fake_botapi).drain(within_seconds=10)

    assert sends_to(fake_botapi, USER) == [200]  # only part 2: part 1 may have gone out
    assert [m.visible for m in fake_botapi.messages(USER)] == ["digest 2/2"]
    assert [m.visible for m in fake_botapi.messages(USER + 1)] == ["claimed, never sent"]
    assert sends_to(fake_botapi, USER + 2) == []  # a live worker's send: wait for its outcome
    rows = {r.id: r for r in await all_rows(database)}
    assert (rows[first].state, rows[first].last_error) == (UNCERTAIN, "worker died")
    assert rows[second].state == rows[claimed].state == SENT
    assert (rows[busy].state, rows[waiting].state) == (SENDING, PENDING)


async def test_a_new_leader_takes_over_a_dead_leaders_leases_at_once(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    """Leases that have not expired yet: the new leader's sender frees them before sending."""
    pks = await add_chats(database, [USER, USER + 1, USER + 2])
    await queue(database, pks[USER], ["was in flight"])
    await queue(database, pks[USER + 1], ["claimed, never sent"])
    await queue(database, pks[USER + 2], ["never claimed"])
    in_flight, claimed, _ = (r.id or 0 for r in await all_rows(database))
    live = datetime.now(UTC) + timedelta(minutes=5)  # the dead leader's lease still runs
    await set_rows(
        database, [in_flight], state=SENDING, attempts=1, lease_owner="dead", lease_until=live
    )
    await set_rows(database, [claimed], lease_owner="dead", lease_until=live)

    sender = make_sender(database, fake_botapi)
    await sender.take_over()
    await sender.drain(within_seconds=10)

    assert sends_to(fake_botapi, USER) == []  # it may have gone out: never resent blindly
    assert [m.visible for m in fake_botapi.messages(USER + 1)] == ["claimed, never sent"]
    assert [m.visible for m in fake_botapi.messages(USER + 2)] == ["never claimed"]
    rows = {r.id: r for r in await all_rows(database)}
    assert (rows[in_flight].state, rows[in_flight].last_error) == (
        UNCERTAIN,
        "previous leader died",
    )
    assert rows[claimed].state == SENT
    assert {r.lease_owner for r in rows.values()} == {None}


# --- D41: a digest to many recipients, interrupted and resumed -------------------------------


async def test_interrupted_digest_resumes_and_reaches_each_recipient_once(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    recipients = [USER + n for n in range(30)]
    await digest_to_everyone(database, recipients)
    slow = SendLimits(per_second=5.0, burst=1.0, chat_interval_seconds=0.01)
    await make_sender(database, fake_botapi, limits=slow).drain(within_seconds=1.5)
    early = len(fake_botapi.messages())
    assert 0 < early < len(recipients)
    assert {r.lease_owner for r in await all_rows(database)} == {None}  # leases given back

    await make_sender(database, fake_botapi).drain(within_seconds=10)
    assert sorted(m.chat_id for m in fake_botapi.messages()) == recipients
    assert (await counts(database))[SENT] == len(recipients)


async def test_cancelled_sender_strands_nothing_and_duplicates_nothing(
    database: Database, fake_botapi: FakeBotAPI
) -> None:
    recipients = [USER + n for n in range(30)]
    await digest_to_everyone(database, recipients)
    slow = SendLimits(per_second=5.0, burst=1.0, chat_interval_seconds=0.01)
    running = asyncio.create_task(make_sender(database, fake_botapi, limits=slow).drain())
    await until(lambda: len(fake_botapi.messages()) >= 3, within=10)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert 0 < len(fake_botapi.messages()) < len(recipients)

    await make_sender(database, fake_botapi).drain(within_seconds=10)
    assert sorted(m.chat_id for m in fake_botapi.messages()) == recipients
    assert (await counts(database))[SENT] == len(recipients)


# --- D46: two senders on one outbox ----------------------------------------------------------


@pytest.fixture
async def second_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Another engine on the same database, as a second process would have."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_two_senders_share_the_outbox_and_send_every_row_exactly_once(
    database: Database, second_engine: AsyncEngine, fake_botapi: FakeBotAPI
) -> None:
    fake_botapi.set_rate_limits(RateLimits.disabled())
    recipients = [USER + n for n in range(100)]
    pks = await add_chats(database, recipients)
    for chat_id, pk in pks.items():
        await queue(database, pk, [f"part {p} for {chat_id}" for p in range(3)])
    limits = SendLimits(per_second=300.0, burst=20.0, chat_interval_seconds=0.01)
    senders = [
        make_sender(db, fake_botapi, limits=limits, idle_poll_seconds=0.02)
        for db in (database, Database.on(second_engine))
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(s.run(stop)) for s in senders]
    await until(lambda: len(fake_botapi.messages()) >= 300, within=30)
    await asyncio.sleep(0.2)  # a duplicate would show up now
    stop.set()
    await asyncio.gather(*running)

    for chat_id in recipients:
        visible = [m.visible for m in fake_botapi.messages(chat_id)]
        assert visible == [f"part {p} for {chat_id}" for p in range(3)]
    assert len(fake_botapi.calls("sendMessage")) == 300
    assert all(s.stats.sent > 0 for s in senders)  # both took part
    rows = await all_rows(database)
    assert {(r.state, r.lease_owner) for r in rows} == {(SENT, None)}
