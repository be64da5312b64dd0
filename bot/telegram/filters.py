"""Who may change a chat's settings: anyone in a private chat, only current admins in groups.

Admin status is checked live with getChatMember and cached for 60 s per (chat, user), so a
demoted admin loses the right within a minute. Handlers that change settings carry the
flag `configure`; ConfigureGuard runs after their filters matched and before them.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from bot.digest.html import escape
from bot.logs import chat_tag
from bot.telegram.replies import say
from bot.telegram.texts import group_refusal

log = logging.getLogger(__name__)

CONFIGURE = {"configure": True}
ADMIN_TTL_SECONDS = 60.0
MAX_CACHED = 10_000
ADMIN_STATUSES = frozenset({"creator", "administrator"})
# Telegram's service accounts: channel auto-forwards (777000) and the sender shown for
# anonymous admins (GroupAnonymousBot), who counts only with sender_chat == the group.
SERVICE_USERS = frozenset({777000, 1087968824})

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Access(enum.Enum):
    """The outcome of a permission check."""

    ALLOW = "allow"
    REFUSE = "refuse"  # a person who is not an admin: told so politely
    IGNORE = "ignore"  # a channel or service account: no one to answer


class AdminCache:
    """getChatMember answers per (chat, user), kept for ADMIN_TTL_SECONDS."""

    def __init__(
        self, ttl: float = ADMIN_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._answers: dict[tuple[int, int], tuple[float, bool]] = {}

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """True if the user is the chat's creator or an administrator right now (cached)."""
        now = self._clock()
        cached = self._answers.get((chat_id, user_id))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as exc:
            # Not knowing means no: a settings change can wait, a wrong grant cannot.
            log.warning(
                "admin check failed chat=%s error=%s", chat_tag(chat_id), type(exc).__name__
            )
            return False
        admin = member.status in ADMIN_STATUSES
        if len(self._answers) >= MAX_CACHED:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
        self._answers[(chat_id, user_id)] = (now + self._ttl, admin)
        return admin


async def access(
    *, bot: Bot, cache: AdminCache, chat: Chat, user: User | None, sender_chat: Chat | None
) -> Access:
    """May this sender change this chat's settings?"""
    if chat.type == "private":
        return Access.ALLOW
    if chat.type not in {"group", "supergroup"}:
        return Access.IGNORE
    if sender_chat is not None:
        # An anonymous admin writes as the group itself; any other sender_chat is a channel.
        return Access.ALLOW if sender_chat.id == chat.id else Access.IGNORE
    if user is None or user.id in SERVICE_USERS:
        return Access.IGNORE
    if await cache.is_admin(bot, chat.id, user.id):
        return Access.ALLOW
    return Access.REFUSE


class ConfigureGuard(BaseMiddleware):
    """Lets a `configure` handler run only for those allowed; refuses group members politely."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Check, then run the handler, answer a refusal, or drop the update."""
        if not get_flag(data, "configure"):
            return await handler(event, data)
        bot: Bot = data["bot"]
        cache: AdminCache = data["admin_cache"]
        if isinstance(event, Message):
            verdict = await access(
                bot=bot,
                cache=cache,
                chat=event.chat,
                user=event.from_user,
                sender_chat=event.sender_chat,
            )
        elif isinstance(event, CallbackQuery) and event.message is not None:
            # Buttons are re-verified: whoever presses one must be an admin now.
            verdict = await access(
                bot=bot,
                cache=cache,
                chat=event.message.chat,
                user=event.from_user,
                sender_chat=None,
            )
        else:
            verdict = Access.IGNORE
        if verdict is Access.ALLOW:
            return await handler(event, data)
        if verdict is Access.REFUSE:
            await _refuse(event)
        return None


async def _refuse(event: TelegramObject) -> None:
    if isinstance(event, Message):
        await say(event, escape(group_refusal()))
    elif isinstance(event, CallbackQuery):
        await event.answer(group_refusal(), show_alert=True)
