"""Helpers for delivery tests: chats and outbox rows in a real database, a Sender on the fake
Bot API, and checks on what the fake server recorded."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from sqlalchemy import select, update
from sqlmodel import col

from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat, OutboxRow
from bot.delivery import outbox
from bot.delivery.outbox import RETRYABLE
from bot.delivery.pacing import SendLimits
from bot.delivery.sender import Sender, SenderPolicy
from bot.delivery.telegram import TelegramTransport
from bot.delivery.transport import Transport
from tests.fakes.botapi import FakeBotAPI

# Row times in the past: the sender compares them with the real clock.
PAST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# For cases that are not about rate limits: pace barely constrains anything.
FAST = SendLimits(per_second=1000.0, burst=100.0, chat_interval_seconds=0.01)
# One Bot per fake server: closing each aiogram session costs a quarter of a second.
_BOTS: weakref.WeakKeyDictionary[FakeBotAPI, Bot] = weakref.WeakKeyDictionary()


def chat_kind(chat_id: int) -> str:
    """Telegram's convention: negative ids are groups."""
    return "private" if chat_id > 0 else "group"


async def add_chats(database: Database, chat_ids: Iterable[int]) -> dict[int, int]:
    """Subscribe these chats; returns Telegram chat id -> chat primary key."""
    pks: dict[int, int] = {}
    async with database.write() as session:
        for chat_id in chat_ids:
            chat = await chats.add_chat(
                session=session, chat_id=chat_id, kind=chat_kind(chat_id), now=PAST
            )
            pks[chat_id] = chat.id or 0
    return pks


async def queue(
    database: Database,
    chat_pk: int,
    bodies: Sequence[str],
    *,
    ref: str = "week:2026-W02",
    kind: str = "digest",
    parse_mode: str | None = "HTML",
) -> int:
    """Enqueue the parts of one message for one chat; returns how many rows were added."""
    rows = [
        outbox.outbox_row(
            chat_pk=chat_pk,
            kind=kind,
            ref=ref,
            part=part,
            body=body,
            now=PAST,
            parse_mode=parse_mode,
        )
        for part, body in enumerate(bodies)
    ]
    async with database.write() as session:
        return await outbox.enqueue(session=session, rows=rows)


async def digest_to_everyone(database: Database, chat_ids: Iterable[int]) -> dict[int, int]:
    """One digest message for each of these (new) chats; returns chat id -> pk."""
    pks = await add_chats(database, chat_ids)
    rows = [
        outbox.outbox_row(
            chat_pk=pk, kind="digest", ref="week:2026-W02", body=f"<b>digest</b> {pk}", now=PAST
        )
        for pk in pks.values()
    ]
    async with database.write() as session:
        assert await outbox.enqueue(session=session, rows=rows) == len(rows)
    return pks


def make_sender(
    database: Database,
    transport: Transport | FakeBotAPI,
    *,
    limits: SendLimits = FAST,
    **policy: Any,
) -> Sender:
    """A Sender on the database, sending through `transport` (or a Bot on the fake server)."""
    if isinstance(transport, FakeBotAPI):
        bot = _BOTS.get(transport) or _BOTS.setdefault(transport, transport.make_bot())
        transport = TelegramTransport(bot)
    return Sender(
        database=database, transport=transport, policy=SenderPolicy(limits=limits, **policy)
    )


async def all_rows(database: Database) -> list[OutboxRow]:
    """Every outbox row, in id order."""
    async with database.read() as session:
        found = await session.execute(select(OutboxRow).order_by(col(OutboxRow.id)))
        return list(found.scalars())


async def chat_ids(database: Database) -> set[int]:
    """Telegram ids of the chats we still hold."""
    async with database.read() as session:
        return set((await session.execute(select(col(Chat.chat_id)))).scalars())


async def counts(database: Database) -> dict[str, int]:
    """count_by_state in a read session."""
    async with database.read() as session:
        return await outbox.count_by_state(session=session)


async def make_due_now(database: Database) -> None:
    """Pretend the backoff has passed: every waiting row is due now."""
    async with database.write() as session:
        await session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.state).in_(RETRYABLE))
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def drain_until_settled(sender: Sender, database: Database, *, within: float) -> None:
    """Drain, then wait for rows that are due later (a 429's retry_after), until none is left."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and sender.halted is None:
        await sender.drain(within_seconds=deadline - time.monotonic())
        async with database.read() as session:
            due = await outbox.next_due_at(session=session)
        if due is None:
            return
        wait = (due - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(min(max(wait, 0.01), max(deadline - time.monotonic(), 0.0)))


def most_in_window(times: Sequence[float], window: float) -> int:
    """The largest number of `times` inside any half-open interval [t, t + window)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def sends_to(server: FakeBotAPI, chat_id: int) -> list[int]:
    """HTTP statuses of every sendMessage aimed at `chat_id` (0: delivered, answer lost)."""
    return [
        c.status
        for c in server.calls("sendMessage")
        if str(c.params.get("chat_id")) == str(chat_id)
    ]


async def until(condition: Callable[[], bool], *, within: float) -> None:
    """Poll `condition` every 20 ms until it holds or `within` seconds have passed."""
    for _ in range(int(within / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
