"""Texts shown to subscribers, built as escaped Telegram HTML in the current update's language.

Every function here runs inside an update (aiogram's I18n context is set), so `_()` picks
the chat's language. Translated templates are escaped before placeholders are filled with
escaped values: a translation or a value can never inject a tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.config.catalog import Catalog
from bot.db.tables import Chat
from bot.digest.html import escape, truncate
from bot.digest.topics import topic_texts

LANGUAGE_NAMES = {"en": "English", "be": "Беларуская", "ru": "Русский"}
BRIEF_TITLE = "Belarus and the US: Diplomacy and pragmatics"
MAX_LISTED_TOPICS = 20


def html(template: str, **values: object) -> str:
    """The template escaped, with its {placeholders} filled with escaped values."""
    return escape(template).format(**{key: escape(str(value)) for key, value in values.items()})


def weekday_names() -> list[str]:
    """Monday..Sunday in the current language."""
    return [
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    ]


def weekday_short_names() -> list[str]:
    """Mon..Sun abbreviations in the current language (button labels)."""
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def mode_name(mode: str) -> str:
    """An alert mode as a reader understands it."""
    names = {
        "instant": _("everything at once"),
        "urgent": _("urgent items at once, the rest in the digest"),
        "digest": _("digest only"),
    }
    return names.get(mode, mode)


def clock_time(minute_of_day: int) -> str:
    """09:00 for 540."""
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def digest_line(chat: Chat) -> str:
    """The digest schedule in words (plain text)."""
    at = clock_time(chat.digest_minute)
    if chat.digest_frequency == "daily":
        return _("daily at {time}").format(time=at)
    if chat.digest_frequency == "weekly":
        day = weekday_names()[chat.digest_weekday % 7]
        return _("weekly on {day} at {time}").format(day=day, time=at)
    return _("off")


def topic_titles(catalog: Catalog, language: str, ids: Sequence[str]) -> list[str]:
    """Titles of these topic ids in catalog order (unknown ids shown as they are)."""
    titles = {t.topic_id: t.title for t in topic_texts(catalog.topics, language)}
    known = [titles[t.id] for t in catalog.topics if t.id in ids]
    return known + [t for t in ids if t not in titles]


def topics_line(chat: Chat, catalog: Catalog, followed: Sequence[str]) -> str:
    """Which topics a chat follows (plain text)."""
    if chat.follow_all:
        return _("all topics")
    if not followed:
        return _("none (only your personal keywords, if any)")
    return "; ".join(topic_titles(catalog, chat.language, followed))


def _next_digest(chat: Chat) -> str | None:
    if chat.next_digest_at is None or chat.paused:
        return None
    local = chat.next_digest_at.astimezone(ZoneInfo(chat.timezone))
    return f"{local:%Y-%m-%d %H:%M}"


def settings_summary(chat: Chat, catalog: Catalog, followed: Sequence[str]) -> str:
    """Every setting of a chat, one per line (HTML)."""
    lines = [
        html(_("Language: {language}"), language=LANGUAGE_NAMES.get(chat.language, chat.language)),
        html(_("Topics: {topics}"), topics=topics_line(chat, catalog, followed)),
        html(_("Alerts: {mode}"), mode=mode_name(chat.alert_mode)),
        html(_("Digest: {schedule}"), schedule=digest_line(chat)),
        html(_("Time zone: {zone}"), zone=chat.timezone),
    ]
    following = _next_digest(chat)
    if following is not None:
        lines.append(html(_("Next digest: {when}"), when=following))
    if chat.keywords:
        lines.append(escape(_("Personal keywords:")) + f" <code>{escape(chat.keywords)}</code>")
    else:
        lines.append(escape(_("Personal keywords: none")))
    status = _("paused (/resume to continue)") if chat.paused else _("active")
    lines.append(html(_("Status: {status}"), status=status))
    return "\n".join(lines)


def topic_list(catalog: Catalog, language: str) -> str:
    """Topic ids with their titles, for usage messages (HTML)."""
    rows = [
        f"<code>{escape(t.topic_id)}</code> — {escape(truncate(t.title, 80))}"
        for t in topic_texts(catalog.topics, language)[:MAX_LISTED_TOPICS]
    ]
    return "\n".join(rows)


def topic_ids(catalog: Catalog) -> str:
    """Comma-separated topic ids (plain text)."""
    return ", ".join(t.id for t in catalog.topics)


def intro_private() -> str:
    """What briefbot is, for /start in a private chat (HTML)."""
    brief = f"<i>{escape(BRIEF_TITLE)}</i>"
    return "\n".join(
        [
            escape(
                _(
                    "briefbot follows news and official sources on Belarus and tells you "
                    "when something touches the three recommendations of the policy brief "
                    "{brief} (OST Research Centre and Oxford Belarus Observatory, 2022)."
                )
            ).format(brief=brief),
            escape(
                _(
                    "You choose the topics; urgent news comes at once, "
                    "the rest in a daily or weekly digest."
                )
            ),
            "",
            escape(_("First, choose your language:")),
        ]
    )


def intro_group(chat: Chat) -> str:
    """The short introduction a group sees when briefbot is added (HTML)."""
    brief = f"<i>{escape(BRIEF_TITLE)}</i>"
    return "\n".join(
        [
            escape(
                _(
                    "Hello! briefbot sends news on Belarus tied to the recommendations of "
                    "the policy brief {brief}."
                )
            ).format(brief=brief),
            html(
                _("This group will get a digest {schedule} ({zone})."),
                schedule=digest_line(chat),
                zone=chat.timezone,
            ),
            escape(
                _(
                    "Group administrators can change this: /start to set up, /settings "
                    "to review, /help for every command. briefbot reads only commands "
                    "addressed to it and keeps only this group's settings."
                )
            ),
        ]
    )


def not_subscribed() -> str:
    """For commands that need a subscription the chat does not have (HTML)."""
    return escape(_("This chat is not subscribed yet: /start sets it up."))


def unknown_command() -> str:
    """The pointer for unknown commands (also fit for commands a user may not run)."""
    return escape(_("I don't know that command. /help lists what I can do."))


def free_text() -> str:
    """The pointer for free text in a private chat."""
    return escape(_("I only understand commands. /help lists them."))


def group_refusal() -> str:
    """A polite refusal for group members who are not administrators (plain text)."""
    return _("Sorry, only this group's administrators can change briefbot's settings here.")


def local_now(zone: str, now: datetime) -> str:
    """The current local time in a zone, for confirmations."""
    return f"{now.astimezone(ZoneInfo(zone)):%H:%M}"
