"""The command menus Telegram shows: per scope (private chats, group admins, staff) and language."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator

log = logging.getLogger(__name__)

# (command, description msgid), in menu order.
PRIVATE: tuple[tuple[str, str], ...] = (
    ("start", "Set up briefbot step by step"),
    ("settings", "Show your settings"),
    ("subscribe", "Follow topics: all or topic ids"),
    ("unsubscribe", "Stop following topics"),
    ("mode", "Alerts: instant, urgent or digest"),
    ("digest", "Digest: daily or weekly, day and time"),
    ("tz", "Set your time zone"),
    ("lang", "Language: en, be or ru"),
    ("keywords", "Your own keyword rule"),
    ("now", "The current digest, now"),
    ("recent", "The latest matched stories"),
    ("pause", "Pause alerts and digests"),
    ("resume", "Resume alerts and digests"),
    ("stop", "Unsubscribe and delete your data"),
    ("about", "The brief and what data is kept"),
    ("help", "What I can do"),
)
GROUP_ADMINS: tuple[tuple[str, str], ...] = tuple(
    (name, text) for name, text in PRIVATE if name not in ("keywords", "start")
)
STAFF: tuple[tuple[str, str], ...] = (
    ("feeds", "Staff: feed health"),
    ("feed_add", "Staff: add a feed"),
    ("feed_pause", "Staff: pause a feed"),
    ("feed_resume", "Staff: resume a feed"),
    ("feed_remove", "Staff: remove a feed"),
    ("rule_test", "Staff: test a rule on stored items"),
    ("rules", "Staff: show a topic's rules"),
    ("stats", "Staff: counts"),
    ("poll_now", "Staff: poll due feeds now"),
    ("channels", "Staff: registered channels"),
)


def menu(entries: Sequence[tuple[str, str]], language: str) -> list[BotCommand]:
    """BotCommands with descriptions in one language."""
    translate = translator(language)
    return [BotCommand(command=name, description=translate(text)) for name, text in entries]


async def set_menus(bot: Bot, staff_ids: Sequence[int]) -> None:
    """Register every menu; a failure is logged, never fatal (the commands work regardless)."""
    try:
        for language in LANGUAGES:
            code = None if language == DEFAULT_LANGUAGE else language
            await bot.set_my_commands(
                menu(PRIVATE, language), scope=BotCommandScopeAllPrivateChats(), language_code=code
            )
            await bot.set_my_commands(
                menu(GROUP_ADMINS, language),
                scope=BotCommandScopeAllChatAdministrators(),
                language_code=code,
            )
    except TelegramAPIError as exc:
        log.warning("command menus not set: %s", type(exc).__name__)
    for staff_id in staff_ids:
        # Staff see their tools in their own chat only; the language is the default one.
        try:
            await bot.set_my_commands(
                menu(PRIVATE + STAFF, DEFAULT_LANGUAGE), scope=BotCommandScopeChat(chat_id=staff_id)
            )
        except TelegramAPIError as exc:  # e.g. a staff member who never opened the bot
            log.warning("staff command menu not set: %s", type(exc).__name__)
