"""Channels registered by staff: the bot must be an administrator there; each change audited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberAdministrator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.config.catalog import Catalog
from bot.db import audit, chats
from bot.db.engine import Database
from bot.db.tables import Chat
from bot.delivery.digests import first_digest_at
from bot.digest.schedule import DigestSchedule, next_due
from bot.i18n import LANGUAGES
from bot.staff import StaffError

CHANNEL = "channel"
REF = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,15}")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel as Telegram describes it."""

    chat_id: int
    title: str


def channel_ref(text: str) -> str | int:
    """`@username` or a -100... id from a command argument; StaffError otherwise."""
    value = text.strip()
    if not REF.fullmatch(value):
        raise StaffError("channel_ref", given=value[:40])
    return value if value.startswith("@") else int(value)


async def verify_channel(bot: Bot, ref: str | int) -> ChannelInfo:
    """Resolve the channel and check the bot is an administrator allowed to post there."""
    try:
        chat = await bot.get_chat(ref)
        if chat.type != CHANNEL:
            raise StaffError("not_a_channel", kind=chat.type)
        member = await bot.get_chat_member(chat.id, bot.id)
    except TelegramAPIError:
        raise StaffError("channel_unreachable") from None
    if not isinstance(member, ChatMemberAdministrator):
        raise StaffError("bot_not_admin")
    if member.can_post_messages is False:
        raise StaffError("bot_cannot_post")
    return ChannelInfo(chat.id, chat.title or str(chat.id))


def snapshot(chat: Chat, topics: Sequence[str] = ()) -> dict[str, Any]:
    """A channel's settings for the audit log."""
    return {
        "chat_id": chat.chat_id,
        "kind": chat.kind,
        "language": chat.language,
        "alert_mode": chat.alert_mode,
        "follow_all": chat.follow_all,
        "topics": list(topics),
        "digest_frequency": chat.digest_frequency,
        "digest_weekday": chat.digest_weekday,
        "digest_minute": chat.digest_minute,
    }


async def _channel(session: AsyncSession, chat_id: int) -> Chat:
    chat = await chats.get_chat(session=session, chat_id=chat_id)
    if chat is None or chat.kind != CHANNEL:
        raise StaffError("unknown_channel", chat_id=chat_id)
    return chat


async def _record(
    session: AsyncSession,
    staff_id: int,
    action: str,
    chat_id: int,
    *,
    before: Any,
    after: Any,
    now: datetime,
) -> None:
    await audit.record(
        session=session,
        staff_id=staff_id,
        action=action,
        target=f"channel:{chat_id}",
        before=before,
        after=after,
        now=now,
    )


async def add_channel(
    *,
    database: Database,
    staff_id: int,
    info: ChannelInfo,
    language: str,
    timezone: str,
    now: datetime,
) -> Chat:
    """A channel row: weekly digest, no instant alerts, every topic."""
    if language not in LANGUAGES:
        raise StaffError("channel_language", language=language[:8])
    async with database.write() as session:
        if await chats.get_chat(session=session, chat_id=info.chat_id) is not None:
            raise StaffError("channel_exists", chat_id=info.chat_id)
        chat = await chats.add_chat(
            session=session,
            chat_id=info.chat_id,
            kind=CHANNEL,
            now=now,
            language=language,
            timezone=timezone,
            alert_mode=chats.DIGEST_ONLY,
            digest_frequency="weekly",
            next_digest_at=next_due(DigestSchedule("weekly", timezone=timezone), now),
        )
        await _record(
            session,
            staff_id,
            "channel.add",
            info.chat_id,
            before=None,
            after=snapshot(chat),
            now=now,
        )
    return chat


async def set_topics(
    *,
    database: Database,
    catalog: Catalog,
    staff_id: int,
    chat_id: int,
    topics: Sequence[str],
    now: datetime,
) -> list[str]:
    """Follow `topics` (["all"]: every topic); returns the topics now followed ([] = all)."""
    known = {t.id for t in catalog.topics}
    follow_all = [t.lower() for t in topics] == ["all"]
    unknown = [] if follow_all else [t for t in topics if t not in known]
    if not topics or unknown:
        raise StaffError("channel_topics", unknown=", ".join(unknown[:5]) or "-")
    chosen = [] if follow_all else list(dict.fromkeys(topics))
    async with database.write() as session:
        chat = await _channel(session, chat_id)
        assert chat.id is not None
        before = snapshot(chat, await chats.chat_topics(session=session, chat_pk=chat.id))
        chat.follow_all = follow_all
        session.add(chat)
        await chats.set_topics(session=session, chat_pk=chat.id, topics=chosen)
        await _record(
            session,
            staff_id,
            "channel.topics",
            chat_id,
            before=before,
            after=snapshot(chat, chosen),
            now=now,
        )
    return chosen


def parse_schedule(args: Sequence[str]) -> tuple[str, int | None, int | None]:
    """`daily|weekly [DAY] [HH:MM]` -> (frequency, weekday 0=Monday or None, minute or None)."""
    if not args or args[0].lower() not in ("daily", "weekly"):
        raise StaffError("channel_digest_usage")
    weekday = minute = None
    for word in args[1:]:
        lowered = word.lower()[:3]
        clock = CLOCK.fullmatch(word)
        if clock is not None:
            minute = int(clock.group(1)) * 60 + int(clock.group(2))
        elif lowered in DAYS and args[0].lower() == "weekly":
            weekday = DAYS.index(lowered)
        else:
            raise StaffError("channel_digest_usage")
    return args[0].lower(), weekday, minute


async def set_digest(
    *,
    database: Database,
    staff_id: int,
    chat_id: int,
    schedule: tuple[str, int | None, int | None],
    now: datetime,
) -> Chat:
    """Change a channel's digest frequency, day and time; the next digest is rescheduled."""
    frequency, weekday, minute = schedule
    async with database.write() as session:
        chat = await _channel(session, chat_id)
        before = snapshot(chat)
        chat.digest_frequency = frequency
        chat.digest_weekday = chat.digest_weekday if weekday is None else weekday
        chat.digest_minute = chat.digest_minute if minute is None else minute
        chat.next_digest_at = first_digest_at(chat, now)
        session.add(chat)
        await session.flush()
        await _record(
            session,
            staff_id,
            "channel.digest",
            chat_id,
            before=before,
            after=snapshot(chat),
            now=now,
        )
    return chat


async def remove_channel(*, database: Database, staff_id: int, chat_id: int, now: datetime) -> None:
    """Forget a channel: its row, topics and queued messages."""
    async with database.write() as session:
        chat = await _channel(session, chat_id)
        assert chat.id is not None
        before = snapshot(chat, await chats.chat_topics(session=session, chat_pk=chat.id))
        await chats.delete_chat(session=session, chat_pk=chat.id)
        await _record(
            session, staff_id, "channel.remove", chat_id, before=before, after=None, now=now
        )


async def list_channels(*, database: Database) -> list[Chat]:
    """Every registered channel."""
    async with database.read() as session:
        rows = await session.scalars(select(Chat).where(col(Chat.kind) == CHANNEL))
        return list(rows.all())
