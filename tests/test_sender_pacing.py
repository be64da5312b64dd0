"""Sender pacing against the fake Bot API: refused requests do not use up the global rate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import chats
from bot.db.engine import Database
from bot.delivery import outbox
from bot.delivery.pacing import SendLimits
from bot.delivery.sender import Sender, SenderPolicy
from bot.delivery.telegram import TelegramTransport
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi_faults import Faults
from tests.support.botchat import wait_until

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # in the past: rows are due at once
BLOCKED, READERS = 201, (202, 203, 204)


async def queue_one_message_each(database: Database, chat_ids: tuple[int, ...]) -> None:
    """Add private chats and one pending alert for each, in this order."""
    async with database.write() as session:
        for chat_id in chat_ids:
            chat = await chats.add_chat(session=session, chat_id=chat_id, kind="private", now=NOW)
            row = outbox.outbox_row(
                chat_pk=chat.id or 0, kind="alert", ref="item:1", part=0, body="hello", now=NOW
            )
            await outbox.enqueue(session=session, rows=[row])


async def test_a_refused_request_does_not_hold_back_the_next_chat(
    engine: AsyncEngine, fake_botapi: FakeBotAPI
) -> None:
    """After a 403 the next chat's message goes at once, not one global interval later."""
    database = Database.on(engine)
    await queue_one_message_each(database, (BLOCKED, *READERS))
    fake_botapi.fail_chat(BLOCKED, Faults.BLOCKED)
    # One every 2 s with no burst: without the refund, the first reader would wait 2 s. (At
    # two a second the 0.5 s it would wait was too close to the time a busy machine takes to
    # record the 403 and drop the chat.)
    limits = SendLimits(per_second=0.5, burst=1.0, chat_interval_seconds=0.0)
    sender = Sender(
        database=database,
        transport=TelegramTransport(fake_botapi.make_bot()),
        policy=SenderPolicy(limits=limits),
    )
    await sender.drain(within_seconds=20)

    sends = fake_botapi.calls("sendMessage")
    assert [int(call.params["chat_id"]) for call in sends] == [BLOCKED, *READERS]
    assert [call.status for call in sends] == [403, 200, 200, 200]
    refused_at, first_reader_at = sends[0].at, sends[1].at
    assert first_reader_at - refused_at < 1.0
    # Accepted messages still keep to the rate: one every 2 s after the first one.
    accepted = [call.at for call in sends[1:]]
    assert accepted[2] - accepted[0] >= 2 / limits.per_second - 0.05
    assert sender.stats.sent == 3


async def test_a_running_sender_wakes_for_its_own_retry_without_waiting_for_the_next_poll(
    engine: AsyncEngine, fake_botapi: FakeBotAPI
) -> None:
    """A 5xx row is resent when its backoff ends, even with a long idle poll interval."""
    database = Database.on(engine)
    await queue_one_message_each(database, READERS[:1])
    fake_botapi.fail_next(Faults.INTERNAL, method="sendMessage")
    sender = Sender(
        database=database,
        transport=TelegramTransport(fake_botapi.make_bot()),
        # An idle poll of 60 s: only the sender's own retry schedule can wake it in time.
        policy=SenderPolicy(idle_poll_seconds=60.0),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await wait_until(lambda: fake_botapi.messages(READERS[0]), seconds=15)
    finally:
        stop.set()
        await running
    statuses = [call.status for call in fake_botapi.calls("sendMessage")]
    assert statuses == [500, 200]
    # The backoff after a first failure is 1-2 s (BACKOFF_BASE_SECONDS 2, full jitter).
    first, second = (call.at for call in fake_botapi.calls("sendMessage"))
    assert 1.0 <= second - first < 5.0
