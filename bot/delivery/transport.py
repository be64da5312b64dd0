"""Where messages go: Telegram through aiogram, or the terminal. Failures become SendError."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

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
from aiohttp import ClientConnectorError, ConnectionTimeoutError

from bot.digest.html import html_to_plain

log = logging.getLogger(__name__)


class Failure(Enum):
    """What a failed send means for the row and the chat."""

    RETRY_AFTER = "retry_after"  # 429: wait, slow down, resend
    FORBIDDEN = "forbidden"  # 403: the chat is gone for us
    MIGRATED = "migrated"  # the group became a supergroup with a new id
    BAD_ENTITIES = "bad_entities"  # 400 can't parse entities: resend as plain text
    CHAT_NOT_FOUND = "chat_not_found"  # 400: permanent
    BAD_REQUEST = "bad_request"  # any other 400: permanent for this message
    NOT_SENT = "not_sent"  # 5xx, connect failure: nothing reached Telegram; back off
    MAYBE_SENT = "maybe_sent"  # a timeout or dropped connection after the request went out
    UNAUTHORIZED = "unauthorized"  # 401: the token is revoked; stop everything


@dataclass(slots=True)
class SendError(Exception):
    """A send that did not succeed, classified."""

    kind: Failure
    detail: str
    retry_after: float = 0.0
    migrate_to: int | None = None

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Sent:
    """What Telegram returned for an accepted message."""

    message_id: int
    file_id: str | None = None  # for photos: reusable for the next chat


class Transport(Protocol):
    """Sends one message; raises SendError."""

    async def send_text(self, chat_id: int, text: str, parse_mode: str | None) -> Sent:
        """Send a text message."""

    async def send_photo(
        self, chat_id: int, photo: bytes | str, caption: str, parse_mode: str | None
    ) -> Sent:
        """Send a photo (PNG bytes, or a file_id Telegram gave for an earlier upload)."""


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


class TelegramTransport:
    """Sends through an aiogram Bot; link previews off so digests stay compact."""

    def __init__(self, bot: Bot, *, timeout: float = 15.0, paid_broadcast: bool = False) -> None:
        self._bot = bot
        self._timeout = int(max(timeout, 1))
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


class ConsoleTransport:
    """Prints messages as a reader would see them: the no-BOT_TOKEN mode of `briefbot run`."""

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self._write = write
        self._count = 0

    def _next_id(self) -> int:
        self._count += 1
        return self._count

    async def send_text(self, chat_id: int, text: str, parse_mode: str | None) -> Sent:
        """Print the text (HTML rendered to plain text)."""
        plain = html_to_plain(text) if parse_mode == "HTML" else text
        self._write(f"\n{'─' * 72}\n{plain}\n")
        return Sent(self._next_id())

    async def send_photo(
        self, chat_id: int, photo: bytes | str, caption: str, parse_mode: str | None
    ) -> Sent:
        """Print the caption and where the chart would be."""
        plain = html_to_plain(caption) if parse_mode == "HTML" else caption
        size = f"{len(photo)} bytes" if isinstance(photo, bytes) else "already uploaded"
        self._write(f"\n{'─' * 72}\n[chart: PNG, {size}]\n{plain}\n")
        return Sent(self._next_id(), file_id=None)
