"""Logging set-up: one line per event (key=value or JSON), and no secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from datetime import UTC, datetime
from typing import Any

# A Telegram bot token: digits, a colon, then 30+ URL-safe characters.
TOKEN_PATTERN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")
LOG_FORMATS = ("kv", "json")
KV_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(
    (*logging.LogRecord("", 0, "", 0, "", None, None).__dict__, "message", "asctime", "taskName")
)


# Where aiogram and pydantic write a chat id into error texts ("... in chat -100123",
# "migrated to a supergroup with id -100123", "chat_id=123"): logged as keyed hashes instead.
CHAT_ID_PATTERN = re.compile(
    r"""(\bin chat |\bsupergroup with id |\bchat_id['"]?\s*[=:]\s*['"]?)(@\w+|-?\d+)"""
)
MIGRATED_FROM_PATTERN = re.compile(r"(\bsupergroup with id c_\w+ from )(-?\d+)")


def mask_tokens(text: str) -> str:
    """`text` with anything shaped like a bot token replaced by `<token>`."""
    return TOKEN_PATTERN.sub("<token>", text)


def redact(text: str) -> str:
    """`text` with tokens masked and chat ids in known error phrases replaced by their tags."""
    text = mask_tokens(text)
    if "chat" in text or "supergroup" in text:
        for pattern in (CHAT_ID_PATTERN, MIGRATED_FROM_PATTERN):
            text = pattern.sub(lambda m: m.group(1) + _tag(m.group(2)), text)
    return text


class RedactTokens(logging.Filter):
    """Mask bot tokens and raw chat ids wherever they slipped into a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, traceback and stack text through `redact`."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        # Formatters reuse exc_text once set, so the masked traceback is what every one prints.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class KeyValueFormatter(logging.Formatter):
    """`time level=.. logger=.. message`, redacted as a whole."""

    def __init__(self) -> None:
        super().__init__(KV_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as one key=value line (a traceback follows on its own lines)."""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, `extra=` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[f"{key}_" if key in entry else key] = _extra_value(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        # Token characters never need JSON escaping, so masking the dumped line is complete.
        return mask_tokens(json.dumps(entry, ensure_ascii=False, default=str))


def _extra_value(key: str, value: object) -> object:
    """A structured field as logged: chat ids as tags, text redacted."""
    if key == "chat_id" and isinstance(value, int | str) and not isinstance(value, bool):
        return _tag(str(value))
    return redact(value) if isinstance(value, str) else value


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter for a LOG_FORMAT value (`kv` or `json`)."""
    if fmt == "kv":
        return KeyValueFormatter()
    if fmt == "json":
        return JsonFormatter()
    raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")


def configure_logging(level: str, fmt: str = "kv") -> None:
    """Log to stderr in `fmt` (kv or json) with tokens masked; quiet the chattier libraries."""
    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter(fmt))
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
    return _tag(str(chat_id))


def _tag(chat: str) -> str:
    """The keyed hash of a chat id (or @username) as written."""
    digest = hmac.new(_chat_key[0], chat.encode(), hashlib.sha256).hexdigest()
    return f"c_{digest[:12]}"
