"""Sender end to end against the fake Bot API: the happy path and ordering per chat."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import chats
from bot.db.engine import Database
from bot.delivery import outbox
from bot.delivery.pacing import SendLimits
from bot.delivery.sender import Sender, SenderPolicy
from bot.delivery.telegram import TelegramTransport
from tests.fakes.botapi import FakeBotAPI

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # in the past: rows are due at once


async def test_every_queued_message_is_sent_once_in_order(
    engine: AsyncEngine, fake_botapi: FakeBotAPI
) -> None:
    database = Database.on(engine)
    async with database.write() as session:
        pks = []
        for chat_id in (101, 102, -1003):
            chat = await chats.add_chat(
                session=session,
                chat_id=chat_id,
                kind="private" if chat_id > 0 else "group",
                now=NOW,
            )
            pks.append(chat.id or 0)
        rows = [
            outbox.outbox_row(
                chat_pk=pk,
                kind="digest",
                ref="day:2026-11-28",
                part=i,
                body=f"<b>part {i}</b> for {pk}",
                now=NOW,
            )
            for pk in pks
            for i in range(3)
        ]
        assert await outbox.enqueue(session=session, rows=rows) == 9
        assert await outbox.enqueue(session=session, rows=rows) == 0
    sender = Sender(
        database=database,
        transport=TelegramTransport(fake_botapi.make_bot()),
        policy=SenderPolicy(limits=SendLimits(per_second=30, chat_interval_seconds=0.05)),
    )
    await sender.drain(within_seconds=20)
    for chat_id, pk in zip((101, 102, -1003), pks, strict=True):
        texts = [m.visible for m in fake_botapi.messages(chat_id)]
        assert texts == [f"part {i} for {pk}" for i in range(3)]
    async with database.read() as session:
        counts = await outbox.count_by_state(session=session)
    assert counts["sent"] == 9
    assert sender.stats.sent == 9
