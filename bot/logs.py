"""Logging set-up: one key=value line per event, and no secrets."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

# A Telegram bot token: digits, a colon, then 30+ URL-safe characters.
TOKEN_PATTERN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")


class RedactTokens(logging.Filter):
    """Replace anything shaped like a bot token, wherever it slipped into a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with tokens masked."""
        message = record.getMessage()
        if TOKEN_PATTERN.search(message):
            record.msg = TOKEN_PATTERN.sub("<token>", message)
            record.args = None
        return True


def configure_logging(level: str) -> None:
    """Log to stderr as `time level logger message`; quiet the chattier libraries."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    noisy_loggers = (
        "aiosqlite",
        "asyncio",
        "apscheduler.executors.default",
        "apscheduler.scheduler",
        "alembic",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


# Chat ids appear in logs only as keyed hashes, so a leaked log is not a subscriber list.
_chat_key = [secrets.token_bytes(16)]


def set_chat_hash_key(key: bytes) -> None:
    """Use a stable key (derived from a secret) so one chat hashes alike across restarts."""
    _chat_key[0] = hashlib.sha256(b"briefbot-chat-log|" + key).digest()


def chat_tag(chat_id: int) -> str:
    """A short keyed hash of a chat id, for log lines."""
    digest = hmac.new(_chat_key[0], str(chat_id).encode(), hashlib.sha256).hexdigest()
    return f"c_{digest[:12]}"
