"""/pause, /resume and /stop: /stop deletes every row about the chat and says so."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat
from bot.digest.html import escape
from bot.logs import chat_tag
from bot.telegram.filters import CONFIGURE, ConfigureGuard
from bot.telegram.prefs import reschedule, update_existing, utcnow
from bot.telegram.replies import say
from bot.telegram.texts import not_subscribed

log = logging.getLogger(__name__)
router = Router(name=__name__)
router.message.middleware(ConfigureGuard())


@router.message(Command("pause", ignore_case=True), flags=CONFIGURE)
async def pause(message: Message, *, database: Database) -> None:
    """No alerts or digests until /resume."""

    async def change(session: AsyncSession, row: Chat) -> None:
        row.paused = True

    if await update_existing(database=database, chat_id=message.chat.id, change=change) is None:
        return await say(message, not_subscribed())
    return await say(message, escape(_("Paused: no alerts or digests until /resume.")))


@router.message(Command("resume", ignore_case=True), flags=CONFIGURE)
async def resume(message: Message, *, database: Database) -> None:
    """Alerts and digests again; the next digest comes at its next regular time."""

    async def change(session: AsyncSession, row: Chat) -> None:
        row.paused = False
        # A digest missed while paused is not sent the moment the chat resumes.
        reschedule(row, utcnow())

    if await update_existing(database=database, chat_id=message.chat.id, change=change) is None:
        return await say(message, not_subscribed())
    return await say(message, escape(_("Resumed: alerts and digests are on again.")))


@router.message(Command("stop", ignore_case=True), flags=CONFIGURE)
async def stop(message: Message, *, database: Database) -> None:
    """Forget the chat: its row goes, and by cascade its topics and queued messages."""
    async with database.write() as session:
        existed = await chats.delete_chat_by_telegram_id(session=session, chat_id=message.chat.id)
    if existed:
        log.info("chat forgotten chat=%s reason=stop", chat_tag(message.chat.id))
    text = _(
        "Done: briefbot keeps nothing about this chat any more (settings, topics, keywords "
        "and queued messages are deleted). /start sets it up again."
    )
    await say(message, escape(text))
