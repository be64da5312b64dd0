"""Faults and rate limits of the fake Bot API server (see tests/fakes/botapi.py).

The error texts are Telegram's own, because briefbot classifies some failures by their
description (403 "bot was blocked by the user" and friends, 400 "chat not found").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Delivery(Enum):
    """What the server does with a request that a fault hits."""

    RESPOND = "respond"  # answer with the error; nothing is delivered
    DROP_AFTER_ACCEPT = "drop"  # deliver (record), then close the connection unanswered
    HANG = "hang"  # deliver (record), then never answer (until the server stops)


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure: an error answer, or a delivery whose answer is lost."""

    status: int = 0
    description: str = ""
    parameters: dict[str, Any] | None = None
    delivery: Delivery = Delivery.RESPOND

    def body(self) -> dict[str, Any]:
        """The JSON Telegram would send for this error."""
        answer: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            answer["parameters"] = dict(self.parameters)
        return answer


def too_many_requests(retry_after: int) -> Fault:
    """429 with parameters.retry_after (aiogram raises TelegramRetryAfter)."""
    return Fault(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def migrated(new_chat_id: int) -> Fault:
    """400 for a group that became a supergroup (aiogram raises TelegramMigrateToChat)."""
    return Fault(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": new_chat_id},
    )


class Faults:
    """Ready-made faults with Telegram's wording (REFERENCE.md, Telegram Bot API)."""

    BLOCKED = Fault(403, "Forbidden: bot was blocked by the user")
    USER_DEACTIVATED = Fault(403, "Forbidden: user is deactivated")
    KICKED = Fault(403, "Forbidden: bot was kicked from the group chat")
    KICKED_SUPERGROUP = Fault(403, "Forbidden: bot was kicked from the supergroup chat")
    CANT_INITIATE = Fault(403, "Forbidden: bot can't initiate conversation with a user")
    CHAT_NOT_FOUND = Fault(400, "Bad Request: chat not found")
    MESSAGE_TOO_LONG = Fault(400, "Bad Request: message is too long")
    UNAUTHORIZED = Fault(401, "Unauthorized")
    CONFLICT = Fault(
        409,
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    )
    INTERNAL = Fault(500, "Internal Server Error")
    BAD_GATEWAY = Fault(502, "Bad Gateway")
    RESTARTING = Fault(500, "Internal Server Error: restart")
    DROP_AFTER_ACCEPT = Fault(delivery=Delivery.DROP_AFTER_ACCEPT)
    HANG = Fault(delivery=Delivery.HANG)


@dataclass(slots=True)
class ArmedFault:
    """A fault waiting to fire: `remaining` None means until cleared."""

    fault: Fault
    remaining: int | None
    method: str | None = None  # None: any method

    def matches(self, method: str) -> bool:
        """Whether this fault applies to a call of `method`."""
        return self.remaining != 0 and self.method in {None, method}

    def consume(self) -> Fault:
        """Fire once."""
        if self.remaining is not None:
            self.remaining -= 1
        return self.fault


@dataclass(slots=True)
class TokenBucket:
    """Allows `burst` calls at once, refilled at `rate` calls per second."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one call is allowed (0.0: allowed now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Spend one call (the caller checked wait_time first)."""
        self._refill(now)
        self.tokens -= 1.0


@dataclass(slots=True)
class RateLimits:
    """Telegram's send limits (FAQ): set a rate to None to disable that limit.

    Only accepted sends count (sendMessage, sendPhoto); a refused call spends nothing. The
    defaults mirror the documented limits; tests that send many messages quickly should
    loosen or disable them.
    """

    global_per_second: float | None = 30.0
    global_burst: float = 30.0
    chat_per_second: float | None = 1.0
    chat_burst: float = 3.0  # "short bursts tolerated"
    group_per_minute: float | None = 20.0
    group_burst: float = 20.0

    @classmethod
    def disabled(cls) -> RateLimits:
        """No rate limits at all."""
        return cls(global_per_second=None, chat_per_second=None, group_per_minute=None)


@dataclass(slots=True)
class RateLimiter:
    """Applies RateLimits; remembers one bucket per chat."""

    limits: RateLimits = field(default_factory=RateLimits)
    _global: TokenBucket | None = None
    _chats: dict[int, TokenBucket] = field(default_factory=dict)
    _groups: dict[int, TokenBucket] = field(default_factory=dict)

    def reset(self, limits: RateLimits | None = None) -> None:
        """Forget all spent capacity (and optionally switch limits)."""
        if limits is not None:
            self.limits = limits
        self._global = None
        self._chats.clear()
        self._groups.clear()

    def _buckets(self, chat_id: int) -> list[TokenBucket]:
        lim = self.limits
        buckets: list[TokenBucket] = []
        if lim.global_per_second is not None:
            if self._global is None:
                self._global = TokenBucket(lim.global_per_second, lim.global_burst)
            buckets.append(self._global)
        if lim.chat_per_second is not None:
            buckets.append(
                self._chats.setdefault(chat_id, TokenBucket(lim.chat_per_second, lim.chat_burst))
            )
        if lim.group_per_minute is not None and chat_id < 0:
            buckets.append(
                self._groups.setdefault(
                    chat_id, TokenBucket(lim.group_per_minute / 60.0, lim.group_burst)
                )
            )
        return buckets

    def retry_after(self, chat_id: int, now: float) -> int:
        """0 if a send to `chat_id` is allowed now, else retry_after in whole seconds (>= 1)."""
        wait = max((bucket.wait_time(now) for bucket in self._buckets(chat_id)), default=0.0)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def spend(self, chat_id: int, now: float) -> None:
        """Count one accepted send (refused ones, 429 or 400, count nothing)."""
        for bucket in self._buckets(chat_id):
            bucket.take(now)
