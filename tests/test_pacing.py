"""Pacer: Telegram's send limits on an injected monotonic clock (ADVERSARIAL C27)."""

from __future__ import annotations

import pytest

from bot.delivery.pacing import (
    FORGET_AFTER_SECONDS,
    MIN_RATE,
    RECOVERY_PER_SEND,
    STORM_WINDOW_SECONDS,
    Pacer,
    SendLimits,
)
from tests.support.outbox import most_in_window

USER, OTHER, GROUP = 101, 102, -1001


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def greedy_sends(pacer: Pacer, clock: FakeClock, chats: list[int], *, until: float) -> list[float]:
    """Send round-robin to `chats` as early as the pacer allows; returns the send times."""
    times: list[float] = []
    turn = 0
    while True:
        chat = chats[turn % len(chats)]
        clock.now = max(clock.now, pacer.ready_at(chat, is_group=chat < 0))
        if clock.now >= until:
            return times
        pacer.record_send(chat, is_group=chat < 0)
        times.append(clock.now)
        turn += 1


def test_global_bucket_allows_the_burst_then_paces_evenly() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(per_second=10.0, burst=3.0, chat_interval_seconds=0.0), clock)
    for chat in range(3):
        assert pacer.ready_at(chat, is_group=False) == clock.now
        pacer.record_send(chat, is_group=False)
    assert pacer.global_ready_at() == pytest.approx(clock.now + 0.1)


def test_no_second_ever_holds_more_than_the_global_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(per_second=30.0, burst=5.0, chat_interval_seconds=0.0), clock)
    times = greedy_sends(pacer, clock, list(range(1, 500)), until=clock.now + 10.0)
    assert most_in_window(times, 1.0) <= 30
    assert len(times) >= 290  # and the rate is really used


def test_each_chat_waits_its_interval_without_holding_up_others() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(chat_interval_seconds=1.0), clock)
    pacer.record_send(USER, is_group=False)
    assert pacer.chat_ready_at(USER, is_group=False) == pytest.approx(clock.now + 1.0)
    assert pacer.ready_at(OTHER, is_group=False) == pytest.approx(clock.now)
    clock.now += 1.0
    assert pacer.ready_at(USER, is_group=False) == pytest.approx(clock.now)


def test_a_group_gets_at_most_20_messages_a_minute() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(), clock)
    start = clock.now
    times = greedy_sends(pacer, clock, [GROUP], until=start + 180.0)
    assert times[19] - times[0] < 60.0  # one a second until the twentieth
    assert times[20] == pytest.approx(start + 60.0)
    assert most_in_window(times, 60.0) == 20
    assert len(times) == 60


def test_private_chats_are_not_held_to_the_group_limit() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(), clock)
    times = greedy_sends(pacer, clock, [USER], until=clock.now + 60.0)
    assert len(times) == 60


def test_retry_after_37_pauses_that_chat_for_37_seconds_and_slows_down() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(), clock)
    pacer.record_send(USER, is_group=False)
    pacer.record_retry_after(USER, 37.0)
    assert pacer.ready_at(USER, is_group=False) >= clock.now + 37.0
    assert pacer.ready_at(OTHER, is_group=False) < clock.now + 1.0  # one chat, no storm
    assert pacer.paused_for == 0.0
    assert pacer.rate == pytest.approx(15.0)
    clock.now += 36.9
    assert pacer.ready_at(USER, is_group=False) > clock.now
    clock.now += 0.2
    assert pacer.ready_at(USER, is_group=False) <= clock.now


def test_429s_from_three_chats_at_once_pause_every_chat() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(), clock)
    for chat in (1, 2, 3):
        pacer.record_retry_after(chat, 37.0)
        clock.now += 0.5
    assert pacer.paused_for >= 37.0 - 1.0
    assert pacer.ready_at(OTHER, is_group=False) >= clock.now - 1.0 + 37.0
    clock.now += 37.0
    assert pacer.paused_for == 0.0


def test_429s_spread_out_in_time_are_not_a_storm() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(), clock)
    for chat in (1, 2, 3):
        pacer.record_retry_after(chat, 5.0)
        clock.now += STORM_WINDOW_SECONDS + 0.1
    assert pacer.paused_for == 0.0


def test_one_storm_halves_the_rate_once_and_successes_restore_it() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(per_second=30.0), clock)
    for chat in range(8):  # every request in flight comes back 429 together
        pacer.record_retry_after(chat, 2.0)
    assert pacer.rate == pytest.approx(15.0)
    clock.now += STORM_WINDOW_SECONDS
    pacer.record_retry_after(USER, 2.0)  # still refused after backing off: slow down again
    assert pacer.rate == pytest.approx(7.5)
    for _ in range(int((30.0 - 7.5) / RECOVERY_PER_SEND) + 10):
        pacer.record_success()
    assert pacer.rate == 30.0


def test_rate_never_drops_below_the_minimum() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(), clock)
    for _ in range(20):
        pacer.record_retry_after(USER, 1.0)
        clock.now += STORM_WINDOW_SECONDS
    assert pacer.rate == MIN_RATE


def test_pause_all_holds_every_chat() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(), clock)
    pacer.pause_all(10.0)
    assert pacer.paused_for == pytest.approx(10.0)
    assert pacer.ready_at(USER, is_group=False) == pytest.approx(clock.now + 10.0)


def test_memory_of_quiet_chats_is_forgotten() -> None:
    clock = FakeClock()
    pacer = Pacer(SendLimits(per_second=1e6, burst=1e6), clock)
    for chat in range(1, 5001):
        pacer.record_send(chat, is_group=False)
        pacer.record_send(-chat, is_group=True)
    assert len(pacer._chat_next) == 10_000
    clock.now += FORGET_AFTER_SECONDS + 1.0
    pacer.record_send(USER, is_group=False)
    assert set(pacer._chat_next) == {USER}
    assert pacer._group_sends == {}


def test_a_refused_send_gives_its_global_capacity_back_but_not_the_chats() -> None:
    """A request Telegram refused without delivering costs no global slot; the chat still waits."""
    clock = FakeClock()
    pacer = Pacer(SendLimits(per_second=30.0, burst=1.0, chat_interval_seconds=1.0), clock)
    spent_at = pacer.record_send(USER, is_group=False)
    assert pacer.global_ready_at() > clock.now  # the only token is spent
    pacer.refund(spent_at)
    assert pacer.global_ready_at() == clock.now  # another chat may go at once
    assert pacer.chat_ready_at(USER, is_group=False) == clock.now + 1.0


def test_refunds_never_let_a_second_hold_more_than_the_rate_of_accepted_sends() -> None:
    """With every other send refused and refunded, accepted sends still fill at most 30 a second."""
    clock = FakeClock()
    pacer = Pacer(SendLimits(per_second=30.0, burst=5.0, chat_interval_seconds=0.0), clock)
    accepted: list[float] = []
    for turn in range(2000):
        clock.now = max(clock.now, pacer.ready_at(turn, is_group=False))
        spent_at = pacer.record_send(turn, is_group=False)
        if turn % 2:
            pacer.refund(spent_at)
        else:
            accepted.append(clock.now)
    assert most_in_window(accepted, 1.0) <= 30
    # Refused requests took no slots: 1,000 accepted sends need about 1,000 / 30 s, not twice that.
    assert accepted[-1] - accepted[0] < 1000 / 30 + 1
