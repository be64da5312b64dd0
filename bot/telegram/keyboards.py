"""Inline keyboards of the guided set-up and their callback data.

Callback data comes back from the client and can be forged: handlers validate every value
(language, topic index, mode, weekday, hour, zone) before using it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.digest.html import truncate
from bot.digest.model import TopicText
from bot.i18n import LANGUAGES
from bot.telegram.texts import LANGUAGE_NAMES, weekday_short_names

COMMON_ZONES = (
    "Europe/Minsk",
    "Europe/Vilnius",
    "Europe/Warsaw",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "UTC",
)
HOURS = tuple(range(6, 22))  # 06:00 .. 21:00; other times with /digest ... HH:MM
BUTTON_TITLE = 48
CHECK = "✓ "


class LangPick(CallbackData, prefix="lang"):
    """The interface language chosen on the first set-up screen."""

    code: str


class TopicPick(CallbackData, prefix="top"):
    """A tap on the topics screen: toggle one topic (by catalog index), all, or done."""

    action: str  # "t" toggle, "all", "done"
    index: int = -1


class ModePick(CallbackData, prefix="mode"):
    """The alert mode."""

    mode: str


class FreqPick(CallbackData, prefix="freq"):
    """The digest frequency."""

    freq: str


class DayPick(CallbackData, prefix="day"):
    """The weekday of a weekly digest, Monday=0."""

    weekday: int


class HourPick(CallbackData, prefix="hour"):
    """The local hour of the digest."""

    hour: int


class ZonePick(CallbackData, prefix="tz"):
    """One of the common time zones."""

    zone: str


def languages() -> InlineKeyboardMarkup:
    """English, Belarusian, Russian, each in its own language."""
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LangPick(code=code))
    return builder.as_markup()


def topics(
    texts: Sequence[TopicText], follow_all: bool, followed: Sequence[str]
) -> InlineKeyboardMarkup:
    """One toggle per topic (✓ when followed), then "all topics" and "done"."""
    rows = []
    for index, topic in enumerate(texts):
        on = follow_all or topic.topic_id in followed
        label = (CHECK if on else "") + truncate(topic.title, BUTTON_TITLE)
        data = TopicPick(action="t", index=index).pack()
        rows.append([InlineKeyboardButton(text=label, callback_data=data)])
    everything = (CHECK if follow_all else "") + _("All topics")
    rows.append(
        [
            InlineKeyboardButton(text=everything, callback_data=TopicPick(action="all").pack()),
            InlineKeyboardButton(text=_("Done ➜"), callback_data=TopicPick(action="done").pack()),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def modes() -> InlineKeyboardMarkup:
    """Urgent at once / everything at once / digest only."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Urgent at once, the rest in the digest"), callback_data=ModePick(mode="urgent")
    )
    builder.button(text=_("Everything at once"), callback_data=ModePick(mode="instant"))
    builder.button(text=_("Digest only"), callback_data=ModePick(mode="digest"))
    builder.adjust(1)
    return builder.as_markup()


def frequencies() -> InlineKeyboardMarkup:
    """Daily / weekly / no digest."""
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Daily"), callback_data=FreqPick(freq="daily"))
    builder.button(text=_("Weekly"), callback_data=FreqPick(freq="weekly"))
    builder.button(text=_("No digest"), callback_data=FreqPick(freq="off"))
    builder.adjust(2, 1)
    return builder.as_markup()


def weekdays() -> InlineKeyboardMarkup:
    """Monday .. Sunday."""
    builder = InlineKeyboardBuilder()
    for day, name in enumerate(weekday_short_names()):
        builder.button(text=name, callback_data=DayPick(weekday=day))
    builder.adjust(4, 3)
    return builder.as_markup()


def hours() -> InlineKeyboardMarkup:
    """06:00 .. 21:00, four a row."""
    builder = InlineKeyboardBuilder()
    for hour in HOURS:
        builder.button(text=f"{hour:02d}:00", callback_data=HourPick(hour=hour))
    builder.adjust(4)
    return builder.as_markup()


def zones() -> InlineKeyboardMarkup:
    """The common zones of briefbot's readers; others are typed with /tz."""
    builder = InlineKeyboardBuilder()
    for zone in COMMON_ZONES:
        builder.button(text=zone.replace("_", " "), callback_data=ZonePick(zone=zone))
    builder.adjust(2)
    return builder.as_markup()
