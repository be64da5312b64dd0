"""Who is staff: a user id from STAFF_IDS, writing in a private chat, and nobody else.

Staff routers carry `StaffOnly` on the router itself (DESIGN 1). A staff command from anyone
else, or from staff inside a group, falls through to the refusal counter (routers/staff_guard)
and on to the fallback router, so it is answered exactly like an unknown command (F48, F51).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from aiogram.filters import BaseFilter
from aiogram.types import Message

from bot.config.settings import Settings

log = logging.getLogger(__name__)

STAFF_COMMANDS = (
    "staff",
    "feeds",
    "feed_add",
    "feed_pause",
    "feed_resume",
    "feed_remove",
    "rules",
    "rule_test",
    "rule_add",
    "rule_remove",
    "rule_reset",
    "stats",
    "poll_now",
    "audit",
    "channels",
    "channel_add",
    "channel_topics",
    "channel_digest",
    "channel_remove",
)


def is_staff(message: Message, settings: Settings | None) -> bool:
    """A private chat with a user whose id is in STAFF_IDS (never a group, never a channel)."""
    user = message.from_user
    return (
        settings is not None
        and message.chat.type == "private"
        and message.sender_chat is None
        and user is not None
        and not user.is_bot
        and user.id == message.chat.id
        and user.id in settings.staff_ids
    )


class StaffOnly(BaseFilter):
    """Passes only staff in their private chat with the bot."""

    async def __call__(self, message: Message, **data: Any) -> bool:
        """True for staff; False (silently) for everyone else."""
        settings = data.get("settings")
        return is_staff(message, settings if isinstance(settings, Settings) else None)


class Refusals:
    """Staff commands refused since start, per command; never who sent them or what text."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def count(self, command: str, chat_type: str) -> None:
        """Note one refusal; one log line with the command and the chat type only."""
        self._counts[command] += 1
        log.info("staff command refused command=%s chat_type=%s", command, chat_type)

    @property
    def total(self) -> int:
        """All refusals since start."""
        return sum(self._counts.values())

    def by_command(self) -> dict[str, int]:
        """Refusals per command name."""
        return dict(self._counts)


# In memory only, per process: a restart starts from zero (nothing about senders is kept).
REFUSALS = Refusals()


def staff_id(message: Message) -> int:
    """The staff member's user id (StaffOnly already checked there is one, in STAFF_IDS)."""
    assert message.from_user is not None
    return message.from_user.id
