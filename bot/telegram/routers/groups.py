"""The bot joining or leaving chats, and group-to-supergroup migration.

Added to a group: a short introduction and a row with group defaults. Removed, or blocked in
a private chat: the row is deleted, leaving nothing about the chat. Channels are handled
elsewhere (staff-approved channel routing), so these handlers filter them out.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _

from bot.config.settings import Settings
from bot.db import chats
from bot.db.engine import Database
from bot.delivery.staff_notices import Notice, notify_staff
from bot.logs import chat_tag
from bot.telegram.prefs import GROUP_KINDS, chat_for_update, utcnow
from bot.telegram.texts import intro_group

log = logging.getLogger(__name__)
router = Router(name=__name__)

PRESENT = frozenset({"creator", "administrator", "member", "restricted"})
GONE = frozenset({"left", "kicked"})


def _joined(event: ChatMemberUpdated) -> bool:
    # "restricted" without is_member is a user who left while restricted: not present.
    new = event.new_chat_member
    present = new.status in PRESENT and getattr(new, "is_member", True)
    return present and event.old_chat_member.status in GONE


@router.my_chat_member(F.chat.type.in_(GROUP_KINDS))
async def membership_in_group(
    event: ChatMemberUpdated, *, bot: Bot, database: Database, settings: Settings, language: str
) -> None:
    """Added: introduce and subscribe with group defaults. Removed: forget the group."""
    if event.new_chat_member.status in GONE:
        await _forget(database, event.chat.id, "removed")
        return
    if not _joined(event):
        if event.new_chat_member.status == "administrator":
            await _promoted(event, bot=bot, database=database, settings=settings)
        return  # otherwise restricted while staying in the group: nothing changes
    async with database.write() as session:
        row = await chat_for_update(
            session=session, chat=event.chat, settings=settings, language=language, now=utcnow()
        )
    log.info("group joined chat=%s", chat_tag(event.chat.id))
    try:
        await bot.send_message(event.chat.id, intro_group(row), parse_mode=ParseMode.HTML)
    except TelegramAPIError as exc:
        # Added without the right to write: the subscription stays, the digest will say hello.
        log.warning(
            "group intro failed chat=%s error=%s", chat_tag(event.chat.id), type(exc).__name__
        )


async def _promoted(
    event: ChatMemberUpdated, *, bot: Bot, database: Database, settings: Settings
) -> None:
    """Made an administrator (ADVERSARIAL G57): say so to the group and to staff."""
    log.warning("promoted to administrator chat=%s", chat_tag(event.chat.id))
    notice = Notice(
        f"promoted:{chat_tag(event.chat.id)}",
        "ℹ️ briefbot was made an administrator in a group ({chat}). It keeps ignoring"
        " ordinary messages; ask the group to remove the admin rights if they are not needed.",
        {"chat": chat_tag(event.chat.id)},
    )
    await notify_staff(database=database, staff_ids=settings.staff_ids, notice=notice, now=utcnow())
    try:
        await bot.send_message(
            event.chat.id,
            _(
                "I am an administrator here now. I still read only commands addressed to me"
                " and store nothing from other messages; I need no admin rights to work."
            ),
        )
    except TelegramAPIError as exc:
        log.warning("promotion note failed error=%s", type(exc).__name__)


@router.my_chat_member(F.chat.type == "private")
async def membership_in_private(event: ChatMemberUpdated, *, database: Database) -> None:
    """The user blocked the bot: forget the chat."""
    if event.new_chat_member.status in GONE:
        await _forget(database, event.chat.id, "blocked")


async def _forget(database: Database, chat_id: int, reason: str) -> None:
    async with database.write() as session:
        existed = await chats.delete_chat_by_telegram_id(session=session, chat_id=chat_id)
    if existed:
        log.info("chat forgotten chat=%s reason=%s", chat_tag(chat_id), reason)


@router.message(F.migrate_to_chat_id)
async def migrated_to(message: Message, *, database: Database) -> None:
    """Seen in the old group: the subscription moves to the new supergroup id."""
    assert message.migrate_to_chat_id is not None
    await _migrate(database, message.chat.id, message.migrate_to_chat_id)


@router.message(F.migrate_from_chat_id)
async def migrated_from(message: Message, *, database: Database) -> None:
    """Seen in the new supergroup: the same move from the other side (idempotent)."""
    assert message.migrate_from_chat_id is not None
    await _migrate(database, message.migrate_from_chat_id, message.chat.id)


async def _migrate(database: Database, old_id: int, new_id: int) -> None:
    async with database.write() as session:
        await chats.migrate_chat(session=session, old_id=old_id, new_id=new_id)
    log.info("group migrated old=%s new=%s", chat_tag(old_id), chat_tag(new_id))
