"""Telegram's send limits, kept in memory: a global rate, one message per second per chat,
20 per minute per group, and what a 429 teaches (pause that chat, slow everything down)."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# A 429 from several chats within this window means a global flood limit, not one busy chat.
STORM_WINDOW_SECONDS = 2.0
STORM_CHATS = 3
# After a 429 the rate drops to this fraction and then climbs back by RECOVERY per success.
SLOWDOWN = 0.5
RECOVERY_PER_SEND = 0.25  # back from half rate to full in ~60 sends (~3 s at 30/s)
MIN_RATE = 1.0
# Chat and group memory older than a minute no longer constrains anything.
FORGET_AFTER_SECONDS = 61.0
WINDOW_SECONDS = 1.000001


@dataclass(frozen=True, slots=True)
class SendLimits:
    """The limits to respect (REFERENCE.md: ~30/s overall, ~1/s per chat, 20/min per group)."""

    per_second: float = 30.0
    burst: float = 5.0
    chat_interval_seconds: float = 1.0
    group_per_minute: int = 20


class Pacer:
    """Decides when the next message to a chat may go; `clock` is monotonic seconds."""

    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self.rate = limits.per_second
        self._tokens = limits.burst
        self._refilled = clock()
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._recent_429: deque[tuple[float, int]] = deque()
        self._slowed_at: float | None = None
        # The bucket alone lets `burst` extra sends into a second: this caps any 1 s window.
        # Times of the sends of the last second (refunded ones removed again).
        self._window: deque[float] = deque()
        self._window_cap = max(int(limits.per_second), 1)
        self._forgotten = self._refilled

    def _refill(self, now: float) -> None:
        self._tokens = min(self.limits.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now

    def global_ready_at(self) -> float:
        """When the global bucket (and any global pause) allows one more send."""
        now = self._clock()
        self._refill(now)
        ready = now if self._tokens >= 1.0 else now + (1.0 - self._tokens) / self.rate
        # WINDOW_SECONDS is a hair over 1 s so float rounding never lets a 31st send in.
        while self._window and self._window[0] + WINDOW_SECONDS <= now:
            self._window.popleft()
        if len(self._window) >= self._window_cap:
            ready = max(ready, self._window[-self._window_cap] + WINDOW_SECONDS)
        return max(ready, self._paused_until)

    def chat_ready_at(self, chat_id: int, *, is_group: bool) -> float:
        """When this chat may receive its next message (ignoring the global bucket)."""
        ready = self._chat_next.get(chat_id, 0.0)
        sends = self._group_sends.get(chat_id)
        if is_group and sends and len(sends) >= self.limits.group_per_minute:
            ready = max(ready, sends[0] + 60.0)
        return ready

    def ready_at(self, chat_id: int, *, is_group: bool) -> float:
        """When a message to this chat may go, all limits considered."""
        return max(self.global_ready_at(), self.chat_ready_at(chat_id, is_group=is_group))

    def record_send(self, chat_id: int, *, is_group: bool) -> float:
        """Spend capacity for a message about to go out; returns the time it was spent."""
        now = self._clock()
        self._refill(now)
        self._tokens -= 1.0
        self._window.append(now)
        self._chat_next[chat_id] = now + self.limits.chat_interval_seconds
        if is_group:
            sends = self._group_sends.setdefault(chat_id, deque())
            sends.append(now)
            while len(sends) > self.limits.group_per_minute:
                sends.popleft()
        self._forget(now)
        return now

    def refund(self, spent_at: float) -> None:
        """Give back the global capacity of a send Telegram refused without delivering.

        The chat's own interval stays spent: the chat is retried later anyway, and a refused
        request to one chat says nothing about the others.
        """
        self._refill(self._clock())
        self._tokens = min(self.limits.burst, self._tokens + 1.0)
        with contextlib.suppress(ValueError):  # ValueError: already out of the 1 s window
            self._window.remove(spent_at)

    def record_success(self) -> None:
        """A send went through: creep back towards the configured rate."""
        self.rate = min(self.limits.per_second, self.rate + RECOVERY_PER_SEND)

    def record_retry_after(self, chat_id: int, seconds: float) -> None:
        """A 429: pause this chat; slow down; pause everything if several chats got one."""
        now = self._clock()
        until = now + seconds
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)
        # Requests in flight together come back 429 together: one signal, one slowdown.
        if self._slowed_at is None or now - self._slowed_at >= STORM_WINDOW_SECONDS:
            self._slowed_at = now
            self.rate = max(MIN_RATE, self.rate * SLOWDOWN)
        self._recent_429.append((now, chat_id))
        while self._recent_429 and self._recent_429[0][0] < now - STORM_WINDOW_SECONDS:
            self._recent_429.popleft()
        if len({chat for _, chat in self._recent_429}) >= STORM_CHATS:
            self._paused_until = max(self._paused_until, until)

    def pause_all(self, seconds: float) -> None:
        """Stop every send for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        """Seconds left of a global pause (0 when none)."""
        return max(0.0, self._paused_until - self._clock())

    def _forget(self, now: float) -> None:
        # Bounded memory over 10,000s of chats: drop entries that no longer constrain.
        if now - self._forgotten < FORGET_AFTER_SECONDS:
            return
        self._forgotten = now
        horizon = now - FORGET_AFTER_SECONDS
        self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        self._group_sends = {c: s for c, s in self._group_sends.items() if s and s[-1] > horizon}
