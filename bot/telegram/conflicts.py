"""ADVERSARIAL C37: repeated 409 Conflict on getUpdates means another process uses our token.

aiogram's polling loop catches the error, logs it and retries with backoff; this handler on
aiogram's dispatcher logger counts those records and, after CONFLICTS_BEFORE_ALERT in a row
within the window, raises one operator alert (a CRITICAL log line and a staff notice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

CONFLICTS_BEFORE_ALERT = 5
WINDOW_SECONDS = 300.0
AIOGRAM_LOGGER = "aiogram.dispatcher"

log = logging.getLogger(__name__)


class ConflictWatch(logging.Handler):
    """Counts 'Failed to fetch updates - TelegramConflictError' records; alerts once."""

    def __init__(self, on_alert: Callable[[], Awaitable[object]] | None = None) -> None:
        super().__init__(level=logging.ERROR)
        self._on_alert = on_alert
        self._seen: list[float] = []
        self.alerted = False
        self._tasks: set[asyncio.Task[object]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        """Count a conflict record; alert when there are enough of them recently."""
        if "TelegramConflictError" not in record.getMessage():
            return
        now = time.monotonic()
        self._seen = [t for t in self._seen if now - t < WINDOW_SECONDS] + [now]
        if self.alerted or len(self._seen) < CONFLICTS_BEFORE_ALERT:
            return
        self.alerted = True
        log.critical(
            "getUpdates answered 409 Conflict %d times: another process is using this bot's"
            " token (possible token leak). Stop it, or revoke the token with @BotFather.",
            len(self._seen),
        )
        if self._on_alert is not None:
            task: asyncio.Task[object] = asyncio.ensure_future(self._on_alert())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def attach(self) -> ConflictWatch:
        """Listen on aiogram's dispatcher logger."""
        logging.getLogger(AIOGRAM_LOGGER).addHandler(self)
        return self

    def detach(self) -> None:
        """Stop listening."""
        logging.getLogger(AIOGRAM_LOGGER).removeHandler(self)
