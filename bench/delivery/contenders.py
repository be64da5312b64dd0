"""briefbot's contender: its Sender run as the service runs it (started by worker.py).

Timings are time.monotonic, comparable with the fake server's clock in another process.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from bench.delivery.naive import make_bot
from bench.delivery.processes import usage
from bot.db.engine import Database, create_engine
from bot.db.tables import Chat, OutboxRow
from bot.delivery import outbox
from bot.delivery.pacing import SendLimits
from bot.delivery.sender import Sender, SenderPolicy
from bot.delivery.telegram import TelegramTransport

MONITOR_SECONDS = 0.2


async def _unsettled(database: Database) -> int:
    async with database.read() as session:
        query = select(func.count()).where(col(OutboxRow.state).in_(outbox.UNSETTLED))
        return int((await session.execute(query)).scalar_one())


async def briefbot(args: argparse.Namespace) -> dict[str, Any]:
    """Sender.run (as the service runs it) until no row is pending, failed or sending."""
    engine = create_engine(args.database_url)
    database = Database.on(engine)
    bot = make_bot(args.api, args.token)
    sender = Sender(
        database=database,
        transport=TelegramTransport(bot),
        policy=SenderPolicy(limits=SendLimits(per_second=30.0)),
    )
    stop = asyncio.Event()
    try:
        started = time.monotonic()
        task = asyncio.create_task(sender.run(stop))
        deadline = started + args.timeout
        while not task.done() and time.monotonic() < deadline:
            await asyncio.sleep(MONITOR_SECONDS)
            if await _unsettled(database) == 0:
                break
        ended = time.monotonic()
        stop.set()
        await task
        async with database.read() as session:
            states = await outbox.count_by_state(session=session)
            chats_left = int((await session.execute(select(func.count(col(Chat.id))))).scalar_one())
    finally:
        await bot.session.close()
        await engine.dispose()
    return {
        "started": started,
        "ended": ended,
        "wall_s": ended - started,
        "timed_out": ended >= deadline,
        "halted": sender.halted,
        "sent": sender.stats.sent,
        "retry_after": sender.stats.retry_after,
        "failures": sender.stats.failures,
        "states": states,
        "chats_left": chats_left,
        **usage(),
    }


async def imports(_: argparse.Namespace) -> dict[str, Any]:
    """What this module's imports alone cost (aiogram, SQLAlchemy, the sender)."""
    return usage()
