"""Subscriber settings changes shared by typed commands and buttons.

A chat row is created on the first settings action, never on a mere /start or free text,
so a visitor who only looks around leaves nothing behind. Functions taking a session leave
the transaction to their caller; update_chat and update_existing are one transaction each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram.types import Chat as TelegramChat
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat
from bot.delivery.digests import first_digest_at
from bot.i18n import normalize_language

GROUP_KINDS = frozenset({"group", "supergroup"})


def utcnow() -> datetime:
    """The clock, read at the Telegram boundary (handlers are entry points like jobs)."""
    return datetime.now(UTC)


def defaults(kind: str, settings: Settings, language: str) -> dict[str, Any]:
    """Settings of a new chat: private chats get urgent alerts, groups digests only."""
    return {
        "language": normalize_language(language),
        "timezone": settings.timezone,
        "alert_mode": chats.DIGEST_ONLY if kind in GROUP_KINDS else chats.URGENT,
        "follow_all": True,
        "digest_frequency": "weekly",
        "digest_weekday": 0,
        "digest_minute": 9 * 60,
        "paused": False,
    }


def reschedule(row: Chat, now: datetime) -> None:
    """Recompute the next digest after a change of frequency, day, time, zone or pause."""
    row.next_digest_at = first_digest_at(row, now)


async def chat_for_update(
    *,
    session: AsyncSession,
    chat: TelegramChat,
    settings: Settings,
    language: str,
    now: datetime,
) -> Chat:
    """The chat's row, created with defaults (and a digest time) when it has none."""
    row = await chats.get_chat(session=session, chat_id=chat.id)
    if row is not None:
        return row
    # The language the bot is speaking now (the user's pick, or Telegram's interface
    # language for this update) becomes the chat's setting; language_code itself is not kept.
    values = defaults(chat.type, settings, language)
    row = await chats.add_chat(session=session, chat_id=chat.id, kind=chat.type, now=now, **values)
    reschedule(row, now)
    return row


async def followed_topics(*, session: AsyncSession, row: Chat) -> list[str]:
    """The topics a chat follows explicitly (empty when it follows all)."""
    if row.follow_all or row.id is None:
        return []
    return await chats.chat_topics(session=session, chat_pk=row.id)


async def set_followed(
    *, session: AsyncSession, row: Chat, catalog: Catalog, topics: list[str] | None
) -> None:
    """Follow these topics (None: all of them); following every topic means "all"."""
    assert row.id is not None
    everything = [t.id for t in catalog.topics]
    if topics is not None and everything and set(everything) <= set(topics):
        topics = None
    row.follow_all = topics is None
    await chats.set_topics(session=session, chat_pk=row.id, topics=topics or [])
    await session.flush()


def topics_after(
    current: list[str] | None, catalog: Catalog, add: list[str], drop: list[str]
) -> list[str]:
    """The explicit topic list after adding and dropping some (current None means all)."""
    base = [t.id for t in catalog.topics] if current is None else list(current)
    kept = [t for t in base if t not in drop]
    return list(dict.fromkeys(kept + [t for t in add if t not in drop]))


Change = Callable[[AsyncSession, Chat], Awaitable[None]]


async def update_chat(
    *, database: Database, chat: TelegramChat, settings: Settings, language: str, change: Change
) -> tuple[Chat, list[str]]:
    """Apply `change` to the chat's row (created if needed) in one transaction.

    Returns the row and the topics it follows explicitly, both as committed.
    """
    try:
        return await _update_once(database, chat, settings, language, change)
    except IntegrityError:
        # Two first actions of one new chat at once (a double tap): the other one created
        # the row, so a second try updates it.
        return await _update_once(database, chat, settings, language, change)


async def _update_once(
    database: Database, chat: TelegramChat, settings: Settings, language: str, change: Change
) -> tuple[Chat, list[str]]:
    async with database.write() as session:
        row = await chat_for_update(
            session=session, chat=chat, settings=settings, language=language, now=utcnow()
        )
        await change(session, row)
        followed = await followed_topics(session=session, row=row)
    return row, followed


async def update_existing(
    *, database: Database, chat_id: int, change: Change
) -> tuple[Chat, list[str]] | None:
    """Like update_chat for commands that need a subscription (None when there is none)."""
    async with database.write() as session:
        row = await chats.get_chat(session=session, chat_id=chat_id)
        if row is None:
            return None
        await change(session, row)
        followed = await followed_topics(session=session, row=row)
    return row, followed
