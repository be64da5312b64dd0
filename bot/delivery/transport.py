"""Where messages go, as a protocol; the terminal transport; failures classified as SendError.

The Telegram transport lives in bot/delivery/telegram.py, so that nothing here imports
aiogram (whose import alone costs seconds of start-up for commands that never talk to it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

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
