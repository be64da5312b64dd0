"""Staff commands for channels: register, choose topics and digest schedule, remove.

StaffOnly sits on the router: only staff, only in their private chat with the bot. A
channel is added only when Telegram confirms the bot is an administrator allowed to post.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import chats
from bot.db.engine import Database
from bot.digest.html import escape
from bot.staff import StaffError
from bot.staff import channels as service
from bot.telegram import staff_texts as texts
from bot.telegram.staff_views import pack, reply, staff_errors
from bot.telegram.staffauth import StaffOnly, staff_id

router = Router(name=__name__)
router.message.filter(StaffOnly())


def utcnow() -> datetime:
    """The clock: a handler is an entry point, like a job."""
    return datetime.now(UTC)


def _target(args: list[str], usage: str) -> int:
    if not args:
        raise StaffError("usage", usage=usage)
    ref = service.channel_ref(args[0])
    if isinstance(ref, str):
        raise StaffError("usage", usage=usage)
    return ref


async def _show(message: Message, database: Database, chat_id: int, lead: str) -> None:
    async with database.read() as session:
        chat = await chats.get_chat(session=session, chat_id=chat_id)
        topics = (
            await chats.chat_topics(session=session, chat_pk=chat.id) if chat and chat.id else []
        )
    line = texts.channel_line(chat, topics) if chat is not None else ""
    await reply(message, pack([lead, line]))


@router.message(Command("channels", ignore_case=True))
@staff_errors
async def list_channels(message: Message, database: Database) -> None:
    """Every registered channel with its digest settings."""
    rows = await service.list_channels(database=database)
    if not rows:
        await reply(message, [_("No channels registered. Add one with /channel_add @name.")])
        return
    async with database.read() as session:
        lines = [
            texts.channel_line(chat, await chats.chat_topics(session=session, chat_pk=chat.id))
            for chat in rows
            if chat.id is not None
        ]
    await reply(message, pack([_("<b>Channels</b>"), *lines]))


@router.message(Command("channel_add", ignore_case=True))
@staff_errors
async def channel_add(
    message: Message, command: CommandObject, *, bot: Bot, database: Database, settings: Settings
) -> None:
    """Register a channel where the bot is an administrator: weekly digest, every topic."""
    args = (command.args or "").split()
    if not 1 <= len(args) <= 2:
        raise StaffError("usage", usage="/channel_add @username|-100ID [en|be|ru]")
    info = await service.verify_channel(bot, service.channel_ref(args[0]))
    chat = await service.add_channel(
        database=database,
        staff_id=staff_id(message),
        info=info,
        language=args[1].lower() if len(args) > 1 else "en",
        timezone=settings.timezone,
        now=utcnow(),
    )
    lead = _("Channel “{title}” registered: weekly digest, no instant alerts.").format(
        title=escape(info.title)
    )
    await _show(message, database, chat.chat_id, lead)


@router.message(Command("channel_topics", ignore_case=True))
@staff_errors
async def channel_topics(
    message: Message, command: CommandObject, *, database: Database, catalog: Catalog
) -> None:
    """Choose the topics a channel's digest covers (or all)."""
    args = (command.args or "").split()
    chat_id = _target(args, "/channel_topics ID TOPIC…|all")
    await service.set_topics(
        database=database,
        catalog=catalog,
        staff_id=staff_id(message),
        chat_id=chat_id,
        topics=args[1:],
        now=utcnow(),
    )
    await _show(message, database, chat_id, _("Saved."))


@router.message(Command("channel_digest", ignore_case=True))
@staff_errors
async def channel_digest(message: Message, command: CommandObject, database: Database) -> None:
    """Set a channel's digest to daily or weekly, with its day and time."""
    args = (command.args or "").split()
    chat_id = _target(args, "/channel_digest ID daily|weekly [DAY] [HH:MM]")
    await service.set_digest(
        database=database,
        staff_id=staff_id(message),
        chat_id=chat_id,
        schedule=service.parse_schedule(args[1:]),
        now=utcnow(),
    )
    await _show(message, database, chat_id, _("Saved."))


@router.message(Command("channel_remove", ignore_case=True))
@staff_errors
async def channel_remove(message: Message, command: CommandObject, database: Database) -> None:
    """Forget a channel and its queued messages."""
    args = (command.args or "").split()
    chat_id = _target(args, "/channel_remove ID")
    await service.remove_channel(
        database=database, staff_id=staff_id(message), chat_id=chat_id, now=utcnow()
    )
    await reply(message, [_("Channel <code>{id}</code> removed.").format(id=chat_id)])
