"""The last router: a pointer to /help in private chats, silence in groups.

In groups the bot sees only commands (privacy mode) and answers none it does not know:
other bots' commands and members' chatter are none of its business. Nothing is stored.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.telegram.replies import say
from bot.telegram.texts import free_text, unknown_command

router = Router(name=__name__)


@router.message(F.chat.type == "private", F.text.startswith("/"))
async def unknown(message: Message) -> None:
    """A command briefbot does not have."""
    await say(message, unknown_command())


@router.message(F.chat.type == "private")
async def chatter(message: Message) -> None:
    """Free text, stickers, photos...: a pointer, and the message is not kept."""
    await say(message, free_text())


@router.callback_query()
async def stale_button(callback: CallbackQuery) -> None:
    """A button from an old or foreign keyboard: answer so the client stops spinning."""
    await callback.answer(_("This button is not valid any more."))
