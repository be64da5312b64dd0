"""Runs briefbot's Dispatcher in-process against the fake Bot API (real HTTP, no patching).

async with running_bot(fake_botapi, database, settings=..., catalog=...) as run:
    fake_botapi.push_message(42, "/start")
    reply = await run.reply_to(42)          # waits for the bot's next message to chat 42
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db.engine import Database
from bot.telegram import build_dispatcher
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi_methods import SentMessage


@dataclass
class RunningBot:
    """A polling Dispatcher and the means to wait for its replies."""

    server: FakeBotAPI
    bot: Bot
    dispatcher: Dispatcher
    seen: dict[int, int] = field(default_factory=dict)

    async def replies(self, chat_id: int, count: int, *, within: float = 10.0) -> list[SentMessage]:
        """Wait until chat `chat_id` has at least `count` messages; return all of them."""
        async with asyncio.timeout(within):
            while len(self.server.messages(chat_id)) < count:  # noqa: ASYNC110 (polls a fake)
                await asyncio.sleep(0.02)
        return self.server.messages(chat_id)

    async def reply_to(self, chat_id: int, *, within: float = 10.0) -> SentMessage:
        """The next message to `chat_id` after those already returned by reply_to."""
        wanted = self.seen.get(chat_id, 0) + 1
        messages = await self.replies(chat_id, wanted, within=within)
        self.seen[chat_id] = wanted
        return messages[wanted - 1]

    async def settle(self, seconds: float = 0.3) -> None:
        """Give pending updates time to be handled (for asserting that nothing was sent)."""
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def running_bot(
    server: FakeBotAPI,
    database: Database,
    *,
    settings: Settings,
    catalog: Catalog,
    **extra: Any,
) -> AsyncIterator[RunningBot]:
    """Start polling with briefbot's Dispatcher; stop it on exit."""
    bot = server.make_bot()
    dispatcher = build_dispatcher()
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot,
            handle_signals=False,
            polling_timeout=1,
            database=database,
            settings=settings,
            catalog=catalog,
            **extra,
        )
    )
    try:
        yield RunningBot(server, bot, dispatcher)
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=10)
