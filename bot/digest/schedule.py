"""When each subscriber's digest is due: pure functions of a schedule and a given instant.

All instants in and out are timezone-aware; results are UTC. Local wall times are resolved
in the schedule's IANA zone with two DST rules:

* a wall time inside a spring-forward gap is shifted forward by the length of the gap
  (02:30 on a 02:00->03:00 night becomes 03:30), so the spacing between digests stays
  one period of elapsed time;
* an ambiguous wall time (fall back) is its first occurrence (fold=0), and a day has
  exactly one occurrence, so a digest is never due twice on that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Frequency = Literal["daily", "weekly", "off"]

_FREQUENCIES: frozenset[str] = frozenset(get_args(Frequency))
_MINUTES_PER_DAY = 24 * 60
# Local dates scanned around an instant. A weekly slot is at most 7 dates away; one more
# on each side absorbs zones that skipped a calendar day (Pacific/Apia, 2011-12-30).
_SCAN_BEFORE = 9
_SCAN_AFTER = 9


@dataclass(frozen=True)
class DigestSchedule:
    """A subscriber's digest schedule: how often, which weekday, what local time, which zone."""

    frequency: Frequency
    weekday: int = 0  # Monday=0, used by "weekly" only
    minute_of_day: int = 9 * 60
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.frequency not in _FREQUENCIES:
            raise ValueError(
                f"frequency must be one of {sorted(_FREQUENCIES)}, got {self.frequency!r}"
            )
        if not _is_int(self.weekday) or not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) .. 6 (Sunday), got {self.weekday!r}")
        if not _is_int(self.minute_of_day) or not 0 <= self.minute_of_day < _MINUTES_PER_DAY:
            raise ValueError(f"minute_of_day must be 0 .. 1439, got {self.minute_of_day!r}")
        _zone(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone (ZoneInfo caches instances per key)."""
        return _zone(self.timezone)

    @property
    def local_time(self) -> time:
        """The local wall time the digest is due at."""
        return time(self.minute_of_day // 60, self.minute_of_day % 60)


def next_due(schedule: DigestSchedule, after: datetime) -> datetime | None:
    """The first scheduled instant strictly after `after`, in UTC; None when digests are off."""
    _require_aware(after, "after")
    if schedule.frequency == "off":
        return None
    later = [at for at in _slots_around(schedule, after) if at > after]
    return min(later)


def previous_due(schedule: DigestSchedule, before: datetime) -> datetime | None:
    """The last scheduled instant strictly before `before`, in UTC; None when digests are off."""
    _require_aware(before, "before")
    if schedule.frequency == "off":
        return None
    earlier = [at for at in _slots_around(schedule, before) if at < before]
    return max(earlier)


def period_bounds(
    schedule: DigestSchedule, due: datetime, last_end: datetime | None
) -> tuple[datetime, datetime]:
    """The digest's coverage [start, end) in UTC: end = due, start as described below.

    start = max(last_end, previous_due(due)) when `last_end` is given, else previous_due(due).
    For an on-schedule `due`, previous_due is the slot one period (day or week) earlier in
    local time, so a period over a DST change is 23 or 25 hours (or a week minus or plus an
    hour) and normal operation (last_end = the previous due) gives back-to-back periods.
    After downtime a digest therefore covers at most one period back, and it never overlaps
    the previous digest; start is clamped to end if last_end is later than due (a clock that
    went backwards), which yields an empty period.
    """
    _require_aware(due, "due")
    floor = previous_due(schedule, due)
    if floor is None:
        raise ValueError("digests are off: a period has no bounds")
    start = floor
    if last_end is not None:
        _require_aware(last_end, "last_end")
        start = max(start, last_end)
    end = due.astimezone(UTC)
    return min(start, end).astimezone(UTC), end


def period_key(schedule: DigestSchedule, due: datetime) -> str:
    """A stable delivery key for the digest period: "day:YYYY-MM-DD" or "week:YYYY-Www"."""
    _require_aware(due, "due")
    local_day = due.astimezone(schedule.zone).date()
    if schedule.frequency == "daily":
        return f"day:{local_day.isoformat()}"
    if schedule.frequency == "weekly":
        iso = local_day.isocalendar()
        return f"week:{iso.year:04d}-W{iso.week:02d}"
    raise ValueError("digests are off: a period has no key")


def catch_up(
    schedule: DigestSchedule, next_due_at: datetime, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """The misfire rule: (due to send now or None, new next due) from the stored due and now.

    If the stored due time has passed, exactly one digest is sent, keyed and bounded by the
    stored due time, however many slots were missed while the process was down; the next one
    is the first slot after now. A schedule that is now "off" sends nothing.
    """
    _require_aware(next_due_at, "next_due_at")
    _require_aware(now, "now")
    if schedule.frequency == "off":
        return None, None
    if next_due_at <= now:
        return next_due_at.astimezone(UTC), next_due(schedule, now)
    return None, next_due_at.astimezone(UTC)


def _slots_around(schedule: DigestSchedule, instant: datetime) -> list[datetime]:
    zone = schedule.zone
    anchor = instant.astimezone(zone).date()
    days = (anchor + timedelta(days=offset) for offset in range(-_SCAN_BEFORE, _SCAN_AFTER + 1))
    return [
        _resolve(datetime.combine(day, schedule.local_time), zone)
        for day in days
        if schedule.frequency == "daily" or day.weekday() == schedule.weekday
    ]


def _resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall time -> the UTC instant under the module's gap and fold rules."""
    # For a wall time in a transition, fold=0 and fold=1 use the offsets before and after it.
    one = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    earlier, later = sorted((one, other))
    if earlier.astimezone(zone).replace(tzinfo=None) == wall:
        return earlier  # a real wall time, or the first occurrence of an ambiguous one
    # The wall time does not exist: the later reading is shifted forward by the gap.
    return later


def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    # Besides unknown keys: absolute or "../" paths and NUL bytes (ValueError), a
    # directory such as "Europe" (OSError), a non-TZif file such as "zone.tab" (ValueError).
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise ValueError(f"unknown IANA time zone {key!r}") from exc


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as a weekday is a caller bug, not Tuesday.
    return isinstance(value, int) and not isinstance(value, bool)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")


__all__ = [
    "DigestSchedule",
    "Frequency",
    "catch_up",
    "next_due",
    "period_bounds",
    "period_key",
    "previous_due",
]
