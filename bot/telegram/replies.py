"""Sending replies: always Telegram HTML without link previews, long answers in parts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# A reply waits out a short flood-control pause once; a longer one is not worth holding
# the update for (the user can ask again).
MAX_RETRY_WAIT = 10


async def say(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the message's chat (and forum topic) with HTML `text`."""
    await message.answer(
        text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW, reply_markup=markup
    )


async def say_parts(message: Message, parts: Sequence[str]) -> None:
    """Several HTML messages in order, waiting once for a short flood-control pause."""
    for part in parts:
        try:
            await say(message, part)
        except TelegramRetryAfter as exc:
            if exc.retry_after > MAX_RETRY_WAIT:
                raise
            await asyncio.sleep(exc.retry_after)
            await say(message, part)


async def edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace a bot message's text and buttons (a double tap changing nothing is fine)."""
    try:
        await message.edit_text(
            text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW, reply_markup=markup
        )
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise
