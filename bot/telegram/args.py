"""Parsing typed command arguments; every failure is a BadArgumentError with a one-line answer.

The answer names the bad argument and the accepted values, in the update's language.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cache

from aiogram.utils.i18n import gettext as _

from bot.config.catalog import Catalog
from bot.i18n import LANGUAGES

MODES = ("instant", "urgent", "digest")
FREQUENCIES = ("daily", "weekly", "off")
RECENT_DEFAULT, RECENT_MAX = 5, 20
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")

# Weekday names people type: English, Russian and Belarusian, full and abbreviated.
_WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        "mon monday пн пон понедельник панядзелак",
        "tue tues tuesday вт вторник аў аўт аўторак",
        "wed wednesday ср среда серада",
        "thu thur thurs thursday чт четверг чц чацвер",
        "fri friday пт пятница пятніца",
        "sat saturday сб суббота субота",
        "sun sunday вс воскресенье нд нядзеля",
    )
):
    for _name in _names.split():
        _WEEKDAYS[_name] = _index


class BadArgumentError(ValueError):
    """A typed argument that is not accepted; str() is the answer for the user."""


@dataclass(frozen=True, slots=True)
class DigestChoice:
    """A parsed /digest: frequency, and the weekday and minute of day when given."""

    frequency: str
    weekday: int | None = None
    minute: int | None = None


def words(text: str | None) -> list[str]:
    """Arguments split on spaces and commas."""
    return [part for part in re.split(r"[\s,]+", text or "") if part]


def parse_mode(value: str) -> str:
    """instant, urgent or digest."""
    mode = value.strip().lower()
    if mode not in MODES:
        raise BadArgumentError(
            _("Unknown alert mode “{value}”. Use one of: {accepted}.").format(
                value=value, accepted=", ".join(MODES)
            )
        )
    return mode


def parse_language(value: str) -> str:
    """en, be or ru."""
    language = value.strip().lower()
    if language not in LANGUAGES:
        raise BadArgumentError(
            _("Unknown language “{value}”. Use one of: {accepted}.").format(
                value=value, accepted=", ".join(LANGUAGES)
            )
        )
    return language


def parse_time(value: str) -> int:
    """HH:MM (or H:MM, HH.MM) as minutes after midnight."""
    match = _TIME.fullmatch(value.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise BadArgumentError(
            _("Bad time “{value}”: write HH:MM between 00:00 and 23:59, e.g. 09:00.").format(
                value=value
            )
        )
    return int(match[1]) * 60 + int(match[2])


def parse_weekday(value: str) -> int:
    """Monday=0 .. Sunday=6 from an English, Russian or Belarusian name or abbreviation."""
    day = _WEEKDAYS.get(value.strip().lower().rstrip("."))
    if day is None:
        raise BadArgumentError(
            _("Unknown weekday “{value}”. Use mon, tue, wed, thu, fri, sat or sun.").format(
                value=value
            )
        )
    return day


def parse_digest(args: list[str]) -> DigestChoice:
    """daily [HH:MM] | weekly [DAY] [HH:MM] | off."""
    frequency = args[0].lower()
    if frequency not in FREQUENCIES:
        raise BadArgumentError(
            _("Unknown digest frequency “{value}”. Use one of: {accepted}.").format(
                value=args[0], accepted=", ".join(FREQUENCIES)
            )
        )
    weekday = minute = None
    for arg in args[1:]:
        if frequency == "off":
            raise BadArgumentError(
                _("“/digest off” takes nothing after it, not “{value}”.").format(value=arg)
            )
        if any(ch.isdigit() for ch in arg):
            minute = parse_time(arg)
        elif frequency == "weekly":
            weekday = parse_weekday(arg)
        else:
            raise BadArgumentError(
                _("A daily digest takes only a time (HH:MM), not “{value}”.").format(value=arg)
            )
    return DigestChoice(frequency, weekday, minute)


@cache
def _zones() -> dict[str, str]:
    known = zoneinfo.available_timezones() | {"UTC"}
    return {name.lower(): name for name in known}


@cache
def _cities() -> dict[str, str | None]:
    # "minsk" -> Europe/Minsk; a city that names two zones maps to None (ambiguous).
    cities: dict[str, str | None] = {}
    for name in _zones().values():
        city = name.rsplit("/", 1)[-1].lower()
        cities[city] = None if city in cities else name
    return cities


def parse_zone(value: str) -> str:
    """An IANA time zone name, case-insensitive; a unique city name is accepted too."""
    key = value.strip().lower().replace(" ", "_")
    zone = _zones().get(key) or _cities().get(key)
    if zone is None:
        raise BadArgumentError(
            _(
                "Unknown time zone “{value}”. Write an IANA name such as Europe/Minsk, "
                "Europe/Vilnius or America/New_York."
            ).format(value=value)
        )
    return zone


def parse_topics(args: list[str], catalog: Catalog) -> list[str]:
    """Topic ids (or R1..R3 for the recommendation topics), in the order given."""
    by_key = {t.id: t.id for t in catalog.topics}
    by_key.update({t.recommendation.lower(): t.id for t in catalog.topics if t.recommendation})
    unknown = [a for a in args if a.lower() not in by_key]
    if unknown:
        raise BadArgumentError(
            _("Unknown topic “{value}”. Valid topics: {accepted}.").format(
                value=" ".join(unknown), accepted=", ".join(t.id for t in catalog.topics)
            )
        )
    return list(dict.fromkeys(by_key[a.lower()] for a in args))


def parse_count(args: list[str]) -> int:
    """The N of /recent: 1..20, default 5."""
    if not args:
        return RECENT_DEFAULT
    if len(args) == 1 and args[0].isdigit() and 1 <= int(args[0]) <= RECENT_MAX:
        return int(args[0])
    raise BadArgumentError(
        _("Bad number “{value}”: write a whole number from 1 to {most}.").format(
            value=" ".join(args), most=RECENT_MAX
        )
    )
