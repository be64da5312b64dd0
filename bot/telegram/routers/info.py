"""/help, /about, /settings for anyone; /now and /recent post stories (in groups: admins)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat
from bot.digest.html import escape
from bot.telegram.args import BadArgumentError, parse_count, words
from bot.telegram.filters import CONFIGURE, ConfigureGuard
from bot.telegram.prefs import defaults, followed_topics, utcnow
from bot.telegram.replies import say, say_parts
from bot.telegram.stories import current_digest, recent_stories, render_recent
from bot.telegram.texts import BRIEF_TITLE, html, not_subscribed, settings_summary

router = Router(name=__name__)
router.message.middleware(ConfigureGuard())


def _commands() -> list[tuple[str, str]]:
    return [
        ("/start", _("guided set-up")),
        ("/subscribe all|TOPIC…", _("follow all topics or some")),
        ("/unsubscribe TOPIC…|all", _("stop following topics")),
        ("/mode instant|urgent|digest", _("when alerts come")),
        ("/digest daily|weekly [DAY] [HH:MM]|off", _("digest schedule")),
        ("/tz ZONE", _("time zone, e.g. Europe/Minsk")),
        ("/lang en|be|ru", _("language")),
        ("/keywords RULE|off", _("your own extra keyword rule")),
        ("/settings", _("show all settings")),
        ("/now", _("the current digest, now")),
        ("/recent [N]", _("the last N matched stories (up to 20)")),
        ("/pause, /resume", _("stop and restart alerts and digests")),
        ("/stop", _("delete everything briefbot keeps about this chat")),
        ("/about", _("the brief, and what data briefbot keeps")),
    ]


@router.message(Command("help", ignore_case=True))
async def help_(message: Message) -> None:
    """Every command, one line each."""
    lines = [f"<b>{escape(_('Commands'))}</b>"]
    lines += [f"{escape(cmd)} — {escape(what)}" for cmd, what in _commands()]
    if message.chat.type != "private":
        lines += ["", escape(_("In groups, only administrators can change settings."))]
    await say(message, "\n".join(lines))


@router.message(Command("about", ignore_case=True))
async def about(message: Message, *, catalog: Catalog, language: str) -> None:
    """The brief, its three recommendations, the data kept and how to delete it."""
    brief = f"<i>{escape(BRIEF_TITLE)}</i>"
    intro = escape(
        _(
            "briefbot ties news on Belarus to the three recommendations of the policy brief "
            "{brief} by the OST Research Centre and the Oxford Belarus Observatory (2022):"
        )
    ).format(brief=brief)
    lines = [intro]
    for topic in catalog.topics:
        if topic.recommendation and topic.statement:
            statement = getattr(topic.statement, language, topic.statement.en)
            lines.append(f"<b>{escape(topic.recommendation)}</b>: {escape(statement)}")
    kept = _(
        "briefbot keeps only: this chat's id and type, its settings (language, time zone, "
        "topics, alert mode, digest schedule, personal keywords) and the queue of messages "
        "it still owes the chat. No names, usernames or messages."
    )
    lines += ["", escape(kept), escape(_("/stop deletes all of it at once."))]
    await say(message, "\n".join(lines))


@router.message(Command("settings", ignore_case=True))
async def show_settings(message: Message, *, database: Database, catalog: Catalog) -> None:
    """Everything this chat has set."""
    async with database.read() as session:
        row = await chats.get_chat(session=session, chat_id=message.chat.id)
        followed = await followed_topics(session=session, row=row) if row is not None else []
    if row is None:
        return await say(message, not_subscribed())
    title = f"<b>{escape(_('Settings'))}</b>"
    return await say(message, f"{title}\n{settings_summary(row, catalog, followed)}")


async def _chat_view(
    database: Database, message: Message, settings: Settings, language: str
) -> tuple[Chat, frozenset[str] | None]:
    """The chat's row and followed topics; an unsaved default row for a chat without one."""
    async with database.read() as session:
        row = await chats.get_chat(session=session, chat_id=message.chat.id)
        topics = await followed_topics(session=session, row=row) if row is not None else []
    if row is None:
        # Looking is free: nothing is stored until a setting is chosen.
        values = defaults(message.chat.type, settings, language)
        row = Chat(chat_id=message.chat.id, kind=message.chat.type, created_at=utcnow(), **values)
    return row, (None if row.follow_all else frozenset(topics))


@router.message(Command("now", ignore_case=True), flags=CONFIGURE)
async def now(
    message: Message, *, database: Database, settings: Settings, catalog: Catalog, language: str
) -> None:
    """The current digest, composed now, in as many parts as needed."""
    row, followed = await _chat_view(database, message, settings, language)
    async with database.read() as session:
        parts = await current_digest(
            session=session, chat=row, followed=followed, catalog=catalog, now=utcnow()
        )
    await say_parts(message, parts)


@router.message(Command("recent", ignore_case=True), flags=CONFIGURE)
async def recent(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    catalog: Catalog,
    language: str,
) -> None:
    """The last N matched stories for the chat's topics (default 5, at most 20)."""
    try:
        count = parse_count(words(command.args))
    except BadArgumentError as error:
        return await say(message, escape(str(error)))
    row, followed = await _chat_view(database, message, settings, language)
    async with database.read() as session:
        stories = await recent_stories(
            session=session, followed=followed, limit=count, now=utcnow()
        )
    if not stories:
        return await say(message, escape(_("No matched stories for your topics yet.")))
    header = (
        "<b>"
        + html(_("Latest matched stories, newest first: {count}"), count=len(stories))
        + "</b>"
    )
    return await say_parts(message, render_recent(stories, row, catalog, header))
