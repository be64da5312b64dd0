"""Digest schedules: due times across time zones and DST, period keys and bounds, catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.digest.schedule import (
    DigestSchedule,
    catch_up,
    next_due,
    period_bounds,
    period_key,
    previous_due,
)

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def utc(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def daily(zone: str, hour: int, minute: int = 0) -> DigestSchedule:
    return DigestSchedule("daily", minute_of_day=hour * 60 + minute, timezone=zone)


def weekly(zone: str, weekday: int, hour: int, minute: int = 0) -> DigestSchedule:
    return DigestSchedule("weekly", weekday, hour * 60 + minute, zone)


def local(due: datetime | None, zone: str) -> datetime:
    assert due is not None
    return due.astimezone(ZoneInfo(zone))


# --- next_due: plain days, several zones ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        ("UTC", utc(2026, 3, 4, 8), utc(2026, 3, 4, 9)),
        ("Europe/Minsk", utc(2026, 3, 4, 5), utc(2026, 3, 4, 6)),  # UTC+3 all year
        ("Europe/Minsk", utc(2026, 7, 4, 7), utc(2026, 7, 5, 6)),
        ("America/New_York", utc(2026, 1, 10), utc(2026, 1, 10, 14)),  # EST, UTC-5
        ("America/New_York", utc(2026, 7, 10), utc(2026, 7, 10, 13)),  # EDT, UTC-4
        ("Europe/Vilnius", utc(2026, 1, 10), utc(2026, 1, 10, 7)),  # EET, UTC+2
        ("Europe/Vilnius", utc(2026, 7, 10), utc(2026, 7, 10, 6)),  # EEST, UTC+3
        ("Asia/Kathmandu", utc(2026, 3, 4), utc(2026, 3, 4, 3, 15)),  # UTC+5:45
        ("Pacific/Chatham", utc(2026, 1, 10), utc(2026, 1, 10, 19, 15)),  # UTC+13:45
        ("Pacific/Chatham", utc(2026, 7, 10), utc(2026, 7, 10, 20, 15)),  # UTC+12:45
    ],
)
def test_daily_digest_is_due_at_nine_local_time(
    zone: str, after: datetime, expected: datetime
) -> None:
    due = next_due(daily(zone, 9), after)
    assert due == expected
    assert due is not None
    assert due.tzinfo is UTC
    assert local(due, zone).hour == 9


def test_due_is_strictly_after_the_given_instant() -> None:
    schedule = daily("Europe/Minsk", 9)
    assert next_due(schedule, utc(2026, 3, 4, 6)) == utc(2026, 3, 5, 6)
    assert next_due(schedule, utc(2026, 3, 4, 5, 59, 59, 999999)) == utc(2026, 3, 4, 6)
    assert next_due(weekly("Europe/Minsk", 2, 9), utc(2026, 3, 4, 6)) == utc(2026, 3, 11, 6)


def test_input_in_another_offset_gives_the_same_utc_answer() -> None:
    after = datetime(2026, 3, 4, 8, 0, tzinfo=timezone(timedelta(hours=3)))  # 05:00 UTC
    due = next_due(daily("Europe/Minsk", 9), after)
    assert due == utc(2026, 3, 4, 6)
    assert due is not None
    assert due.tzinfo is UTC


def test_midnight_and_last_minute_of_the_day() -> None:
    assert next_due(daily("Asia/Kathmandu", 0), utc(2026, 3, 4)) == utc(2026, 3, 4, 18, 15)
    last = DigestSchedule("daily", minute_of_day=1439, timezone="Europe/Minsk")
    assert next_due(last, utc(2026, 3, 4)) == utc(2026, 3, 4, 20, 59)


# 2026-03-04 is a Wednesday; 18:30 in Minsk is 15:30 UTC; "after" is 15:00 local.
@pytest.mark.parametrize(
    ("weekday", "expected_day"),
    [(0, 9), (1, 10), (2, 4), (3, 5), (4, 6), (5, 7), (6, 8)],
)
def test_weekly_digest_on_each_weekday(weekday: int, expected_day: int) -> None:
    due = next_due(weekly("Europe/Minsk", weekday, 18, 30), utc(2026, 3, 4, 12))
    assert due == utc(2026, 3, expected_day, 15, 30)
    assert local(due, "Europe/Minsk").weekday() == weekday


def test_weekly_in_a_zone_whose_local_date_differs_from_utc() -> None:
    # Monday 08:00 in Chatham (+13:45) is Sunday 18:15 UTC.
    due = next_due(weekly("Pacific/Chatham", 0, 8), utc(2026, 1, 7))
    assert due == utc(2026, 1, 11, 18, 15)
    assert local(due, "Pacific/Chatham").weekday() == 0


def test_off_is_never_due() -> None:
    off = DigestSchedule("off")
    assert next_due(off, utc(2026, 3, 4)) is None
    assert previous_due(off, utc(2026, 3, 4)) is None


# --- DST: gaps and folds on the 2026 transition dates --------------------------------------


@pytest.mark.parametrize(
    ("zone", "hour", "minute", "after", "expected", "local_wall"),
    [
        # New York, 2026-03-08: 02:00 EST -> 03:00 EDT. 02:30 does not exist.
        ("America/New_York", 2, 30, utc(2026, 3, 7, 12), utc(2026, 3, 8, 7, 30), (3, 30)),
        # Vilnius, 2026-03-29: 03:00 EET -> 04:00 EEST. 03:30 does not exist.
        ("Europe/Vilnius", 3, 30, utc(2026, 3, 28, 12), utc(2026, 3, 29, 1, 30), (4, 30)),
        # Chatham, 2026-09-27: 02:45 -> 03:45. 03:00 does not exist.
        ("Pacific/Chatham", 3, 0, utc(2026, 9, 26), utc(2026, 9, 26, 14, 15), (4, 0)),
    ],
)
def test_a_wall_time_in_the_spring_gap_is_shifted_forward_by_the_gap(
    zone: str,
    hour: int,
    minute: int,
    after: datetime,
    expected: datetime,
    local_wall: tuple[int, int],
) -> None:
    schedule = daily(zone, hour, minute)
    due = next_due(schedule, after)
    assert due == expected
    assert (local(due, zone).hour, local(due, zone).minute) == local_wall
    # The day after, the wall time exists again.
    following = next_due(schedule, expected)
    assert (local(following, zone).hour, local(following, zone).minute) == (hour, minute)
    assert local(following, zone).date() == local(due, zone).date() + DAY


def test_vilnius_half_past_two_is_not_in_the_gap() -> None:
    # The EU switches at 01:00 UTC, which is 03:00 in Vilnius: 02:30 is an ordinary time.
    due = next_due(daily("Europe/Vilnius", 2, 30), utc(2026, 3, 28, 12))
    assert due == utc(2026, 3, 29, 0, 30)


@pytest.mark.parametrize(
    ("zone", "hour", "minute", "after", "first", "second_day"),
    [
        # New York, 2026-11-01: 02:00 EDT -> 01:00 EST. 01:30 happens twice.
        ("America/New_York", 1, 30, utc(2026, 10, 31, 12), utc(2026, 11, 1, 5, 30), 2),
        # Vilnius, 2026-10-25: 04:00 EEST -> 03:00 EET. 03:30 happens twice.
        ("Europe/Vilnius", 3, 30, utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30), 26),
        # Chatham, 2026-04-05: 03:45 -> 02:45. 02:45 happens twice.
        ("Pacific/Chatham", 2, 45, utc(2026, 4, 4), utc(2026, 4, 4, 13), 6),
    ],
)
def test_an_ambiguous_wall_time_is_due_once_at_its_first_occurrence(
    zone: str, hour: int, minute: int, after: datetime, first: datetime, second_day: int
) -> None:
    schedule = daily(zone, hour, minute)
    due = next_due(schedule, after)
    assert due == first
    assert local(due, zone).fold == 0
    # Neither the first occurrence nor a moment within the repeated hour is due again.
    for later in (first, first + timedelta(minutes=90)):
        again = next_due(schedule, later)
        assert local(again, zone).day == second_day
        assert (local(again, zone).hour, local(again, zone).minute) == (hour, minute)


@pytest.mark.parametrize(
    "zone",
    ["Europe/Minsk", "America/New_York", "Europe/Vilnius", "Asia/Kathmandu", "Pacific/Chatham"],
)
@pytest.mark.parametrize(("hour", "minute"), [(0, 0), (1, 30), (2, 30), (2, 45), (3, 30), (9, 0)])
def test_a_year_of_daily_digests_is_one_per_local_day(zone: str, hour: int, minute: int) -> None:
    schedule = daily(zone, hour, minute)
    due = next_due(schedule, utc(2025, 12, 31))
    assert due is not None
    day = local(due, zone).date()
    for _ in range(366):
        following = next_due(schedule, due)
        assert following is not None
        assert following > due
        assert following - due <= timedelta(hours=25)
        assert local(following, zone).date() == day + DAY
        assert previous_due(schedule, following) == due
        due, day = following, day + DAY


def test_a_year_of_weekly_digests_is_one_per_iso_week() -> None:
    schedule = weekly("America/New_York", 6, 1, 30)  # Sunday: both 2026 transitions
    due = next_due(schedule, utc(2025, 12, 31))
    keys = []
    for _ in range(53):
        assert due is not None
        keys.append(period_key(schedule, due))
        following = next_due(schedule, due)
        assert following is not None
        assert timedelta(days=7, hours=-1) <= following - due <= timedelta(days=7, hours=1)
        due = following
    assert len(set(keys)) == 53
    assert keys[0] == "week:2026-W01"
    assert keys[-1] == "week:2026-W53"


# --- period keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "daily_key", "weekly_key"),
    [
        (utc(2025, 12, 29, 9), "day:2025-12-29", "week:2026-W01"),  # ISO 2026 starts in 2025
        (utc(2026, 12, 28, 9), "day:2026-12-28", "week:2026-W53"),
        (utc(2026, 12, 31, 9), "day:2026-12-31", "week:2026-W53"),
        (utc(2027, 1, 1, 9), "day:2027-01-01", "week:2026-W53"),
        (utc(2027, 1, 3, 9), "day:2027-01-03", "week:2026-W53"),
        (utc(2027, 1, 4, 9), "day:2027-01-04", "week:2027-W01"),
    ],
)
def test_period_keys_at_the_iso_year_boundary(
    due: datetime, daily_key: str, weekly_key: str
) -> None:
    assert date(2026, 12, 28).isocalendar().week == 53  # 2026 really has 53 ISO weeks
    assert period_key(daily("UTC", 9), due) == daily_key
    assert period_key(weekly("UTC", 0, 9), due) == weekly_key


def test_period_key_uses_the_local_date_of_the_due_time() -> None:
    due = utc(2026, 12, 31, 22)  # already 2027-01-01 01:00 in Minsk, still 2026 in New York
    assert period_key(daily("Europe/Minsk", 1), due) == "day:2027-01-01"
    assert period_key(daily("America/New_York", 17), due) == "day:2026-12-31"
    assert period_key(weekly("Pacific/Chatham", 4, 11, 45), utc(2027, 1, 3, 22)) == (
        "week:2027-W01"  # Monday 2027-01-04 in Chatham
    )


def test_off_has_no_period() -> None:
    with pytest.raises(ValueError, match="off"):
        period_key(DigestSchedule("off"), utc(2026, 3, 4))
    with pytest.raises(ValueError, match="off"):
        period_bounds(DigestSchedule("off"), utc(2026, 3, 4), None)


# --- period bounds --------------------------------------------------------------------------


def test_period_without_a_previous_digest_is_one_period_back() -> None:
    due = utc(2026, 3, 4, 6)
    assert period_bounds(daily("Europe/Minsk", 9), due, None) == (due - DAY, due)
    assert period_bounds(weekly("Europe/Minsk", 2, 9), due, None) == (due - WEEK, due)


def test_period_starts_where_the_previous_digest_ended() -> None:
    due = utc(2026, 3, 4, 6)
    assert period_bounds(daily("Europe/Minsk", 9), due, due - DAY) == (due - DAY, due)
    # A schedule moved later in the day: the previous digest ended 6 h ago; no overlap.
    recent = due - timedelta(hours=6)
    assert period_bounds(daily("Europe/Minsk", 9), due, recent) == (recent, due)


def test_period_after_downtime_covers_at_most_one_period() -> None:
    due = utc(2026, 3, 4, 6)
    long_ago = due - timedelta(days=5)
    assert period_bounds(daily("Europe/Minsk", 9), due, long_ago) == (due - DAY, due)
    assert period_bounds(weekly("Europe/Minsk", 2, 9), due, long_ago - WEEK) == (due - WEEK, due)


def test_period_across_dst_follows_local_days() -> None:
    schedule = daily("America/New_York", 9)
    spring = utc(2026, 3, 8, 13)  # 09:00 EDT; the day before 09:00 EST was 14:00 UTC
    assert period_bounds(schedule, spring, None) == (utc(2026, 3, 7, 14), spring)
    autumn = utc(2026, 11, 1, 14)  # 09:00 EST; the day before 09:00 EDT was 13:00 UTC
    assert period_bounds(schedule, autumn, utc(2026, 10, 31, 13)) == (utc(2026, 10, 31, 13), autumn)


def test_period_is_empty_when_the_previous_digest_ended_after_due() -> None:
    due = utc(2026, 3, 4, 6)
    assert period_bounds(daily("UTC", 6), due, due + timedelta(hours=1)) == (due, due)


def test_period_bounds_are_utc() -> None:
    due = datetime(2026, 3, 4, 9, tzinfo=ZoneInfo("Europe/Minsk"))
    start, end = period_bounds(daily("Europe/Minsk", 9), due, None)
    assert start.tzinfo is UTC
    assert end.tzinfo is UTC
    assert (start, end) == (utc(2026, 3, 3, 6), utc(2026, 3, 4, 6))


# --- catch-up after downtime ----------------------------------------------------------------


def test_three_days_down_sends_one_digest_and_schedules_the_next_in_the_future() -> None:
    schedule = daily("Europe/Minsk", 9)
    stored = utc(2026, 3, 1, 6)
    now = utc(2026, 3, 4, 10)
    due, following = catch_up(schedule, stored, now)
    assert due == stored
    assert following == utc(2026, 3, 5, 6)
    assert period_key(schedule, stored) == "day:2026-03-01"
    # Running the tick again with the new state sends nothing more.
    assert following is not None
    assert catch_up(schedule, following, now) == (None, following)
    assert catch_up(schedule, following, now + timedelta(minutes=30)) == (None, following)


def test_catch_up_when_due_exactly_now_sends_and_moves_on() -> None:
    schedule = weekly("America/New_York", 0, 9)
    stored = utc(2026, 3, 2, 14)
    assert catch_up(schedule, stored, stored) == (stored, stored + WEEK - timedelta(hours=1))


def test_catch_up_before_due_sends_nothing() -> None:
    schedule = daily("Europe/Minsk", 9)
    stored = utc(2026, 3, 4, 6)
    assert catch_up(schedule, stored, stored - timedelta(seconds=1)) == (None, stored)


def test_catch_up_for_a_schedule_turned_off_sends_nothing() -> None:
    assert catch_up(DigestSchedule("off"), utc(2026, 3, 1), utc(2026, 3, 4)) == (None, None)


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"frequency": "hourly"}, "frequency"),
        ({"frequency": "weekly", "weekday": 7}, "weekday"),
        ({"frequency": "weekly", "weekday": -1}, "weekday"),
        ({"frequency": "weekly", "weekday": True}, "weekday"),
        ({"frequency": "daily", "minute_of_day": 1440}, "minute_of_day"),
        ({"frequency": "daily", "minute_of_day": -1}, "minute_of_day"),
        ({"frequency": "daily", "minute_of_day": 9.5}, "minute_of_day"),
        ({"frequency": "daily", "timezone": "Mars/Olympus_Mons"}, "time zone"),
        ({"frequency": "daily", "timezone": ""}, "time zone"),
        ({"frequency": "daily", "timezone": "Europe"}, "time zone"),
        ({"frequency": "daily", "timezone": "zone.tab"}, "time zone"),
        ({"frequency": "daily", "timezone": "/etc/localtime"}, "time zone"),
        ({"frequency": "daily", "timezone": "../../etc/passwd"}, "time zone"),
        ({"frequency": "daily", "timezone": "UTC\x00"}, "time zone"),
    ],
)
def test_invalid_schedules_are_rejected_naming_the_problem(
    kwargs: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        DigestSchedule(**kwargs)  # type: ignore[arg-type]


def test_naive_datetimes_are_rejected() -> None:
    schedule = daily("UTC", 9)
    naive = datetime(2026, 3, 4, 9)
    with pytest.raises(ValueError, match="after must be a timezone-aware"):
        next_due(schedule, naive)
    with pytest.raises(ValueError, match="due must be a timezone-aware"):
        period_key(schedule, naive)
    with pytest.raises(ValueError, match="last_end must be a timezone-aware"):
        period_bounds(schedule, utc(2026, 3, 4), naive)
    with pytest.raises(ValueError, match="now must be a timezone-aware"):
        catch_up(schedule, utc(2026, 3, 4), naive)
