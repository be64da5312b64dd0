"""Typed equivalents of every setting: /subscribe /unsubscribe /mode /digest /tz /lang /keywords.

Wrong input gets one line naming the bad argument and what is accepted; nothing changes.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db.engine import Database
from bot.db.tables import Chat
from bot.digest.html import escape
from bot.i18n import get_i18n
from bot.matching.rules import RuleSyntaxError, parse_rule
from bot.telegram.args import (
    MODES,
    BadArgumentError,
    parse_digest,
    parse_language,
    parse_mode,
    parse_topics,
    parse_zone,
    words,
)
from bot.telegram.filters import CONFIGURE, ConfigureGuard
from bot.telegram.prefs import (
    Change,
    followed_topics,
    reschedule,
    set_followed,
    topics_after,
    update_chat,
    utcnow,
)
from bot.telegram.replies import say
from bot.telegram.texts import (
    LANGUAGE_NAMES,
    digest_line,
    html,
    local_now,
    mode_name,
    topic_list,
    topics_line,
)

router = Router(name=__name__)
router.message.middleware(ConfigureGuard())

KEYWORDS_EXAMPLE = "/keywords (Hrodna OR Гродна) NEAR/5 court* -sport"


async def _save(
    message: Message, database: Database, settings: Settings, language: str, change: Change
) -> tuple[Chat, list[str]]:
    return await update_chat(
        database=database, chat=message.chat, settings=settings, language=language, change=change
    )


async def _bad(message: Message, error: BadArgumentError) -> None:
    await say(message, escape(str(error)))


@router.message(Command("subscribe", ignore_case=True), flags=CONFIGURE)
async def subscribe(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    catalog: Catalog,
    language: str,
) -> None:
    """Follow all topics, or add some (following all, naming topics means only those)."""
    args = words(command.args)
    if not args:
        usage = html(_("Usage: /subscribe all, or /subscribe and topic ids. Topics:"))
        return await say(message, usage + "\n" + topic_list(catalog, language))
    try:
        wanted = None if "all" in (a.lower() for a in args) else parse_topics(args, catalog)
    except BadArgumentError as error:
        return await _bad(message, error)

    async def change(session: AsyncSession, row: Chat) -> None:
        if wanted is None or row.follow_all:
            chosen = wanted
        else:
            current = await followed_topics(session=session, row=row)
            chosen = topics_after(current, catalog, wanted, [])
        await set_followed(session=session, row=row, catalog=catalog, topics=chosen)

    row, followed = await _save(message, database, settings, language, change)
    return await say(
        message, html(_("Following: {topics}."), topics=topics_line(row, catalog, followed))
    )


@router.message(Command("unsubscribe", ignore_case=True), flags=CONFIGURE)
async def unsubscribe(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    catalog: Catalog,
    language: str,
) -> None:
    """Stop following some topics, or all of them."""
    args = words(command.args)
    if not args:
        usage = html(_("Usage: /unsubscribe all, or /unsubscribe and topic ids. Topics:"))
        return await say(message, usage + "\n" + topic_list(catalog, language))
    try:
        dropped = None if "all" in (a.lower() for a in args) else parse_topics(args, catalog)
    except BadArgumentError as error:
        return await _bad(message, error)

    async def change(session: AsyncSession, row: Chat) -> None:
        current = None if row.follow_all else await followed_topics(session=session, row=row)
        chosen = [] if dropped is None else topics_after(current, catalog, [], dropped)
        await set_followed(session=session, row=row, catalog=catalog, topics=chosen)

    row, followed = await _save(message, database, settings, language, change)
    return await say(
        message, html(_("Following: {topics}."), topics=topics_line(row, catalog, followed))
    )


@router.message(Command("mode", ignore_case=True), flags=CONFIGURE)
async def mode(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """instant | urgent | digest."""
    if not command.args:
        usage = _("Usage: /mode and one of: {accepted}.").format(accepted=", ".join(MODES))
        return await say(message, escape(usage))
    try:
        chosen = parse_mode(command.args)
    except BadArgumentError as error:
        return await _bad(message, error)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.alert_mode = chosen

    await _save(message, database, settings, language, change)
    return await say(message, html(_("Alerts: {mode}"), mode=mode_name(chosen)))


@router.message(Command("digest", ignore_case=True), flags=CONFIGURE)
async def digest(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """daily [HH:MM] | weekly [DAY] [HH:MM] | off."""
    args = words(command.args)
    if not args:
        usage = _("Usage: /digest daily [HH:MM], /digest weekly [DAY] [HH:MM] or /digest off.")
        return await say(message, escape(usage))
    try:
        choice = parse_digest(args)
    except BadArgumentError as error:
        return await _bad(message, error)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.digest_frequency = choice.frequency
        if choice.weekday is not None:
            row.digest_weekday = choice.weekday
        if choice.minute is not None:
            row.digest_minute = choice.minute
        reschedule(row, utcnow())

    row, _followed = await _save(message, database, settings, language, change)
    text = html(_("Digest: {schedule} ({zone})."), schedule=digest_line(row), zone=row.timezone)
    return await say(message, text)


@router.message(Command("tz", ignore_case=True), flags=CONFIGURE)
async def timezone(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """An IANA time zone for digests and the times shown."""
    if not command.args:
        return await say(message, escape(_("Usage: /tz and a time zone, e.g. /tz Europe/Minsk.")))
    try:
        zone = parse_zone(command.args)
    except BadArgumentError as error:
        return await _bad(message, error)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.timezone = zone
        reschedule(row, utcnow())

    await _save(message, database, settings, language, change)
    text = html(
        _("Time zone: {zone} (local time now {time})."), zone=zone, time=local_now(zone, utcnow())
    )
    return await say(message, text)


@router.message(Command("lang", ignore_case=True), flags=CONFIGURE)
async def lang(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """en | be | ru."""
    if not command.args:
        usage = _("Usage: /lang and one of: {accepted}.").format(accepted="en, be, ru")
        return await say(message, escape(usage))
    try:
        chosen = parse_language(command.args)
    except BadArgumentError as error:
        return await _bad(message, error)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.language = chosen

    await _save(message, database, settings, chosen, change)
    with get_i18n().use_locale(chosen):
        return await say(message, html(_("Language: {language}"), language=LANGUAGE_NAMES[chosen]))


@router.message(Command("keywords", ignore_case=True), flags=CONFIGURE)
async def keywords(
    message: Message,
    *,
    command: CommandObject,
    database: Database,
    settings: Settings,
    catalog: Catalog,
    language: str,
) -> None:
    """A personal extra rule in the rule language; `off` clears it."""
    text = (command.args or "").strip()
    if not text:
        usage = html(_("Usage: /keywords and a rule, or /keywords off. Example:"))
        return await say(message, f"{usage}\n<code>{escape(KEYWORDS_EXAMPLE)}</code>")
    rule = None if text.lower() == "off" else text
    if rule is not None:
        try:
            parse_rule(rule, aliases=catalog.aliases.keys())
        except RuleSyntaxError as error:
            head = html(_("That rule has a problem: {problem}."), problem=error.message)
            return await say(message, f"{head}\n<pre>{escape(error.pointer())}</pre>")

    async def change(session: AsyncSession, row: Chat) -> None:
        row.keywords = rule

    await _save(message, database, settings, language, change)
    if rule is None:
        return await say(message, escape(_("Personal keywords cleared.")))
    saved = escape(_("Personal keywords saved:"))
    return await say(message, f"{saved} <code>{escape(rule)}</code>")
