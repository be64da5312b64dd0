"""Middlewares: load the chat's subscriber row, then pick the language for replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import I18nMiddleware

from bot.db import chats
from bot.db.engine import Database
from bot.i18n import normalize_language

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _chat_id(update: Update) -> int | None:
    event = (
        update.message
        or update.edited_message
        or update.channel_post
        or update.my_chat_member
        or (update.callback_query.message if update.callback_query else None)
    )
    chat = getattr(event, "chat", None)
    return chat.id if chat is not None else None


class ChatRowMiddleware(BaseMiddleware):
    """Puts the update's subscriber row (or None) in `chat_row`; reads only."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Load the row, then run the handler."""
        row = None
        database: Database | None = data.get("database")
        if isinstance(event, Update) and database is not None:
            chat_id = _chat_id(event)
            if chat_id is not None:
                async with database.read() as session:
                    row = await chats.get_chat(session=session, chat_id=chat_id)
        data["chat_row"] = row
        return await handler(event, data)


class ChatLocale(I18nMiddleware):
    """The chat's chosen language; before one is chosen, the user's Telegram language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """en, be or ru."""
        row = data.get("chat_row")
        if row is not None:
            language = normalize_language(row.language)
        else:
            user = data.get("event_from_user")
            # Read for this reply only; language_code is never stored (ADVERSARIAL G52).
            language = normalize_language(getattr(user, "language_code", None))
        data["language"] = language
        return language
