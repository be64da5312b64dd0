"""Staff commands that reached here were not from staff in a private chat: count, pass on.

This router sits after the staff and channel routers and before the fallback. It counts
the refusal (command name and chat type, nothing else) and skips, so the fallback answers
exactly as it answers an unknown command: the same words in a private chat, silence in a
group. Nothing tells an outsider that the command exists (ADVERSARIAL F48, F51).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.telegram.staffauth import REFUSALS, STAFF_COMMANDS

router = Router(name=__name__)


@router.message(Command(*STAFF_COMMANDS, ignore_case=True))
async def refused(message: Message, command: CommandObject) -> None:
    """Count, then let the fallback answer as for any unknown command."""
    REFUSALS.count(command.command.lower(), message.chat.type)
    raise SkipHandler
