"""Helpers for end-to-end subscriber tests: a running bot on a real database, typing and taps.

async with chatting(fake_botapi, engine) as chat:
    reply = await chat.send(USER, "/start")
    edited = await chat.press(USER, reply, "Беларуская")
    row = await chat.row(USER)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.catalog import Catalog, load_catalog
from bot.config.settings import Settings
from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat, Feed, Item, ItemTopic, Verdict
from tests.fakes.botapi import FakeBotAPI, RateLimits
from tests.fakes.botapi_methods import SentMessage
from tests.support.botrun import RunningBot, running_bot

REPO = Path(__file__).resolve().parents[2]
TIMEZONE = "Europe/Minsk"


@cache
def catalog() -> Catalog:
    """The real feeds.yaml catalog (twelve topics, R1-R3 with statements)."""
    return load_catalog(REPO / "feeds.yaml")


def settings(**overrides: Any) -> Settings:
    """Settings for a bot under test: no token, Minsk as the default time zone."""
    return Settings(bot_token=None, timezone=TIMEZONE, **overrides)


@dataclass
class Chatting:
    """A running bot plus the database it writes to."""

    run: RunningBot
    server: FakeBotAPI
    database: Database

    async def send(self, chat_id: int, text: str, **kwargs: Any) -> SentMessage:
        """Type `text` in `chat_id` and wait for the bot's next message there."""
        self.server.push_message(chat_id, text, **kwargs)
        return await self.run.reply_to(chat_id)

    async def press(
        self, chat_id: int, message: SentMessage, label: str, from_id: int | None = None
    ) -> SentMessage:
        """Tap the button whose text contains `label`; wait until the message is edited."""
        before = len(message.edits)
        self.tap(chat_id, message, button_data(message, label), from_id)
        await wait_until(lambda: len(message.edits) > before)
        return message

    def tap(
        self, chat_id: int, message: SentMessage, data: str, from_id: int | None = None
    ) -> None:
        """Push a callback with raw `data` on `message`."""
        user = from_id if from_id is not None else chat_id
        self.server.push_callback(chat_id, user, data, message.message_id)

    async def answered(self, count: int) -> dict[str, Any]:
        """Wait for the count-th answerCallbackQuery; return its parameters."""
        await wait_until(lambda: len(self.server.answered_callbacks) >= count)
        return self.server.answered_callbacks[count - 1]

    async def row(self, chat_id: int) -> Chat | None:
        """The chat's subscriber row."""
        async with self.database.read() as session:
            return await chats.get_chat(session=session, chat_id=chat_id)

    async def topics(self, chat_id: int) -> list[str]:
        """Topics the chat follows explicitly."""
        row = await self.row(chat_id)
        assert row is not None
        assert row.id is not None
        async with self.database.read() as session:
            return await chats.chat_topics(session=session, chat_pk=row.id)


@contextlib.asynccontextmanager
async def chatting(
    server: FakeBotAPI, engine: AsyncEngine, **settings_overrides: Any
) -> AsyncIterator[Chatting]:
    """The real Dispatcher polling the fake Bot API, on a migrated database."""
    # These tests are about conversations, not flood control.
    server.set_rate_limits(RateLimits.disabled())
    database = Database.on(engine)
    async with running_bot(
        server, database, settings=settings(**settings_overrides), catalog=catalog()
    ) as run:
        yield Chatting(run, server, database)


def button_data(message: SentMessage, label: str) -> str:
    """The callback data of the first button whose text contains `label`."""
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {message.reply_markup}")


def button_texts(message: SentMessage) -> list[str]:
    """Every button's text, row by row."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def wait_until(condition: Any, seconds: float = 10.0) -> None:
    """Poll `condition()` until true (the bot runs in the same loop)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def add_story(
    database: Database,
    n: int,
    title: str,
    topics: list[str],
    seen: datetime,
    *,
    urgent: bool = False,
    score: float = 1.0,
) -> None:
    """A relevant item from feed "wire", matched to `topics`, first seen at `seen`."""
    async with database.write() as session:
        if await session.get(Feed, "wire") is None:
            session.add(
                Feed(
                    id="wire",
                    url="https://wire.example/rss",
                    title="Wire",
                    publisher="ngo",
                    language="en",
                    scope="belarus",
                    interval_seconds=900,
                    created_at=seen,
                )
            )
            await session.flush()
        item = Item(
            feed_id="wire",
            key=f"k{n}",
            url=f"https://wire.example/{n}",
            title=title,
            summary="",
            published_at=seen,
            first_seen_at=seen,
            language="en",
            content_hash=f"h{n}",
        )
        session.add(item)
        await session.flush()
        assert item.id is not None
        recommendations = [t.split("-")[0].upper() for t in topics if t[:2] in {"r1", "r2", "r3"}]
        session.add(
            Verdict(
                item_id=item.id,
                relevant=True,
                score=score,
                urgent=urgent,
                recommendations=",".join(recommendations),
                themes=",".join(t for t in topics if t[:2] not in {"r1", "r2", "r3"}),
                why="[]",
                rules_version="t",
                matched_at=seen,
            )
        )
        session.add_all(ItemTopic(item_id=item.id, topic_id=t) for t in topics)
