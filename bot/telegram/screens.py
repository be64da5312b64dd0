"""The screens of the guided set-up: each is a text and its buttons, edited in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config.catalog import Catalog
from bot.db.tables import Chat
from bot.digest.html import escape
from bot.digest.topics import topic_texts
from bot.telegram import keyboards
from bot.telegram.texts import html, intro_private, settings_summary

STEPS = 4


class Screen(NamedTuple):
    """A set-up step as shown: HTML text and its inline keyboard (None on the last one)."""

    text: str
    markup: InlineKeyboardMarkup | None


def _step(number: int, title: str) -> str:
    return (
        "<b>"
        + html(_("Step {number} of {total}: {title}"), number=number, total=STEPS, title=title)
        + "</b>"
    )


def language() -> Screen:
    """What briefbot is, and the language buttons."""
    return Screen(intro_private(), keyboards.languages())


def topics(catalog: Catalog, row: Chat, followed: Sequence[str]) -> Screen:
    """Toggle recommendations and themes."""
    text = "\n".join(
        [
            _step(1, _("topics")),
            escape(
                _(
                    "Which of the brief's recommendations (R1–R3) and which themes should "
                    "I follow for you? Tap to switch one on or off, then Done."
                )
            ),
        ]
    )
    texts = topic_texts(catalog.topics, row.language)
    return Screen(text, keyboards.topics(texts, row.follow_all, followed))


def modes() -> Screen:
    """Alert mode."""
    text = "\n".join(
        [
            _step(2, _("alerts")),
            escape(_("When a news item matches your topics, when should I tell you?")),
        ]
    )
    return Screen(text, keyboards.modes())


def frequencies() -> Screen:
    """Digest frequency."""
    text = "\n".join([_step(3, _("digest")), escape(_("How often do you want a digest?"))])
    return Screen(text, keyboards.frequencies())


def weekdays() -> Screen:
    """Weekday of a weekly digest."""
    text = "\n".join([_step(3, _("digest")), escape(_("On which day of the week?"))])
    return Screen(text, keyboards.weekdays())


def hours() -> Screen:
    """Hour of the digest."""
    text = "\n".join(
        [
            _step(3, _("digest")),
            escape(_("At what time (in your time zone, chosen next)?")),
            escape(_("For another time, type e.g. /digest weekly mon 07:30 later.")),
        ]
    )
    return Screen(text, keyboards.hours())


def zones() -> Screen:
    """Time zone."""
    text = "\n".join(
        [
            _step(4, _("time zone")),
            escape(_("Which time zone are you in?")),
            escape(_("If yours is not here, type /tz and its name, e.g. /tz Asia/Tbilisi.")),
        ]
    )
    return Screen(text, keyboards.zones())


def finished(catalog: Catalog, row: Chat, followed: Sequence[str]) -> Screen:
    """The summary after the last step."""
    text = "\n".join(
        [
            "<b>" + escape(_("All set. Your settings:")) + "</b>",
            settings_summary(row, catalog, followed),
            "",
            escape(_("You can change anything later: /help lists every command.")),
        ]
    )
    return Screen(text, None)
