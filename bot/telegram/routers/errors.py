"""Failures no handler caught: a plain answer in private chats, never silence or a traceback.

The most likely one is the database being unreachable or full: every update reads the
chat's row first (ChatRowMiddleware), so without this the bot would go quiet for everyone.
Only private chats and button presses get an answer; in groups a failed update stays silent
rather than risk answering members' chatter. Nothing about the update is logged but its id.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from sqlalchemy.exc import SQLAlchemyError

from bot.db.engine import failure_reason
from bot.i18n import normalize_language, translator
from bot.telegram.staff_views import N_

log = logging.getLogger(__name__)
router = Router(name=__name__)

DATABASE_DOWN = N_(
    "briefbot cannot reach its database just now, so nothing was changed. Please try again "
    "in a few minutes."
)
FAILED = N_("Something went wrong on our side, so nothing was changed. Please try again later.")


@router.errors(ExceptionTypeFilter(SQLAlchemyError, ConnectionError))
async def database_unavailable(event: ErrorEvent) -> bool:
    """The database failed (down, full, read-only): say so plainly."""
    log.error(
        "update=%d failed: database unavailable: %s",
        event.update.update_id,
        failure_reason(event.exception),
    )
    await _answer(event, DATABASE_DOWN)
    return True


@router.errors()
async def unexpected(event: ErrorEvent) -> bool:
    """Any other failure: the type in the log (its text may quote a chat), a plain answer."""
    log.error("update=%d failed: %s", event.update.update_id, type(event.exception).__name__)
    if not isinstance(event.exception, TelegramAPIError):  # else answering would fail too
        await _answer(event, FAILED)
    return True


async def _answer(event: ErrorEvent, msgid: str) -> None:
    update = event.update
    if update.message is not None and update.message.chat.type == "private":
        user = update.message.from_user
        text = _translated(msgid, user.language_code if user else None)
        await update.message.answer(text, parse_mode=None)
    elif update.callback_query is not None:
        query = update.callback_query
        await query.answer(_translated(msgid, query.from_user.language_code), show_alert=True)


def _translated(msgid: str, language_code: str | None) -> str:
    # The chat's stored language may be what failed to load: Telegram's language stands in.
    return translator(normalize_language(language_code))(msgid)
