"""Sending through Telegram with aiogram; aiogram's exceptions become SendError (REFERENCE.md)."""

from __future__ import annotations

from typing import cast

from aiogram import Bot
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, LinkPreviewOptions
from aiohttp import ClientConnectorError, ClientTimeout, ConnectionTimeoutError

from bot.delivery.transport import Failure, SendError, Sent


def _network_failure(exc: TelegramNetworkError) -> SendError:
    # aiogram wraps every transport error alike; the cause says whether the request left.
    cause = exc.__cause__
    if isinstance(cause, ClientConnectorError | ConnectionTimeoutError):
        return SendError(Failure.NOT_SENT, f"connect failed: {type(cause).__name__}")
    return SendError(Failure.MAYBE_SENT, f"no answer: {type(cause).__name__}")


def classify(exc: Exception) -> SendError:  # noqa: PLR0911 (one case per error class)
    """Translate an aiogram exception into a SendError (see REFERENCE.md)."""
    match exc:
        # aiogram writes the chat ids into these two messages: keep them out of logs.
        case TelegramRetryAfter():
            detail = f"flood control: retry after {exc.retry_after} s"
            return SendError(Failure.RETRY_AFTER, detail, retry_after=exc.retry_after)
        case TelegramMigrateToChat():
            detail = "group chat was upgraded to a supergroup chat"
            return SendError(Failure.MIGRATED, detail, migrate_to=exc.migrate_to_chat_id)
        case TelegramUnauthorizedError():
            return SendError(Failure.UNAUTHORIZED, exc.message)
        case TelegramForbiddenError():
            return SendError(Failure.FORBIDDEN, exc.message)
        case TelegramBadRequest() | TelegramNotFound():
            text = exc.message.lower()
            if "can't parse entities" in text or "unsupported start tag" in text:
                return SendError(Failure.BAD_ENTITIES, exc.message)
            if "chat not found" in text:
                return SendError(Failure.CHAT_NOT_FOUND, exc.message)
            return SendError(Failure.BAD_REQUEST, exc.message)
        case TelegramServerError() | RestartingTelegram():
            return SendError(Failure.NOT_SENT, exc.message)
        case TelegramNetworkError():
            return _network_failure(exc)
        case TelegramConflictError() | TelegramAPIError():
            return SendError(Failure.BAD_REQUEST, exc.message)
    return SendError(Failure.MAYBE_SENT, type(exc).__name__)


def request_timeout(total: float) -> int:
    """A total timeout with a shorter connect timeout, in the form aiogram passes on.

    With a total timeout alone, a connect that hangs ends as a bare TimeoutError, which
    cannot be told from a request that went out and got no answer (uncertain, never resent).
    A separate connect timeout, half the total, fails first and as ConnectionTimeoutError:
    nothing was sent, so the row is retried with backoff. aiogram hands `request_timeout`
    to aiohttp unchanged, so a ClientTimeout works where its signature says int.
    """
    total = max(total, 1.0)
    return cast(int, ClientTimeout(total=total, connect=total / 2))


class TelegramTransport:
    """Sends through an aiogram Bot; link previews off so digests stay compact."""

    def __init__(self, bot: Bot, *, timeout: float = 15.0, paid_broadcast: bool = False) -> None:
        self._bot = bot
        self._timeout = request_timeout(timeout)
        self._paid = paid_broadcast or None

    async def send_text(self, chat_id: int, text: str, parse_mode: str | None) -> Sent:
        """Send a text message."""
        try:
            message = await self._bot.send_message(
                chat_id,
                text,
                parse_mode=parse_mode,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_paid_broadcast=self._paid,
                request_timeout=self._timeout,
            )
        except (TimeoutError, TelegramAPIError) as exc:
            raise classify(exc) from exc
        return Sent(message.message_id)

    async def send_photo(
        self, chat_id: int, photo: bytes | str, caption: str, parse_mode: str | None
    ) -> Sent:
        """Send a photo; returns the file_id Telegram assigned to it."""
        upload = BufferedInputFile(photo, "chart.png") if isinstance(photo, bytes) else photo
        try:
            message = await self._bot.send_photo(
                chat_id,
                upload,
                caption=caption,
                parse_mode=parse_mode,
                allow_paid_broadcast=self._paid,
                request_timeout=self._timeout,
            )
        except (TimeoutError, TelegramAPIError) as exc:
            raise classify(exc) from exc
        sizes = message.photo or []
        return Sent(message.message_id, sizes[-1].file_id if sizes else None)
