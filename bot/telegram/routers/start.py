"""/start and the guided set-up: language, topics, alert mode, digest schedule, time zone.

Each tap is saved at once (the database is the only state), and the same message is
edited into the next step. The row is created by the first tap, not by /start itself.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db.engine import Database
from bot.db.tables import Chat
from bot.i18n import LANGUAGES, get_i18n
from bot.telegram import screens
from bot.telegram.args import FREQUENCIES, MODES
from bot.telegram.filters import CONFIGURE, ConfigureGuard
from bot.telegram.keyboards import (
    COMMON_ZONES,
    DayPick,
    FreqPick,
    HourPick,
    LangPick,
    ModePick,
    TopicPick,
    ZonePick,
)
from bot.telegram.prefs import (
    Change,
    followed_topics,
    reschedule,
    set_followed,
    update_chat,
    utcnow,
)
from bot.telegram.replies import edit, say

router = Router(name=__name__)
router.message.middleware(ConfigureGuard())
router.callback_query.middleware(ConfigureGuard())


@router.message(Command("start", ignore_case=True), flags=CONFIGURE)
async def start(message: Message) -> None:
    """What briefbot is, and the first question: the language."""
    screen = screens.language()
    await say(message, screen.text, screen.markup)


async def _apply(
    callback: CallbackQuery,
    database: Database,
    settings: Settings,
    language: str,
    change: Change,
) -> tuple[Message, Chat, list[str]] | None:
    """Save one tap's change to the chat's row; None when the button's message is gone."""
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(_("This button has expired. Type /start again."), show_alert=True)
        return None
    row, followed = await update_chat(
        database=database, chat=message.chat, settings=settings, language=language, change=change
    )
    return message, row, followed


async def _invalid(callback: CallbackQuery) -> None:
    await callback.answer(_("This button is not valid any more."), show_alert=True)


@router.callback_query(LangPick.filter(), flags=CONFIGURE)
async def pick_language(
    callback: CallbackQuery,
    *,
    callback_data: LangPick,
    database: Database,
    settings: Settings,
    catalog: Catalog,
    language: str,
) -> None:
    """Language chosen: the chat's row is created, then the topics step."""
    code = callback_data.code
    if code not in LANGUAGES:
        return await _invalid(callback)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.language = code

    applied = await _apply(callback, database, settings, code, change)
    if applied is not None:
        message, row, followed = applied
        # The rest of this update speaks the new language.
        with get_i18n().use_locale(code):
            await edit(message, *screens.topics(catalog, row, followed))
            await callback.answer()
    return None


@router.callback_query(TopicPick.filter(F.action.in_({"t", "all"})), flags=CONFIGURE)
async def toggle_topic(
    callback: CallbackQuery,
    *,
    callback_data: TopicPick,
    database: Database,
    settings: Settings,
    catalog: Catalog,
    language: str,
) -> None:
    """Switch one topic, or all of them, on or off."""
    ids = [t.id for t in catalog.topics]
    index = callback_data.index
    if callback_data.action == "t" and not 0 <= index < len(ids):
        return await _invalid(callback)

    async def change(session: AsyncSession, row: Chat) -> None:
        if callback_data.action == "all":
            # "All" toggles between every topic and none.
            await set_followed(
                session=session, row=row, catalog=catalog, topics=None if not row.follow_all else []
            )
            return
        current = ids if row.follow_all else await followed_topics(session=session, row=row)
        topic = ids[index]
        chosen = [t for t in current if t != topic] if topic in current else [*current, topic]
        await set_followed(session=session, row=row, catalog=catalog, topics=chosen)

    applied = await _apply(callback, database, settings, language, change)
    if applied is not None:
        message, row, followed = applied
        await edit(message, *screens.topics(catalog, row, followed))
        await callback.answer()
    return None


@router.callback_query(TopicPick.filter(F.action == "done"), flags=CONFIGURE)
async def topics_done(
    callback: CallbackQuery, *, database: Database, settings: Settings, language: str
) -> None:
    """Topics chosen: on to the alert mode (at least one topic is needed)."""

    async def change(session: AsyncSession, row: Chat) -> None:
        return None

    applied = await _apply(callback, database, settings, language, change)
    if applied is None:
        return
    message, row, followed = applied
    if not row.follow_all and not followed:
        await callback.answer(_("Choose at least one topic, or All topics."), show_alert=True)
        return
    await edit(message, *screens.modes())
    await callback.answer()


@router.callback_query(ModePick.filter(), flags=CONFIGURE)
async def pick_mode(
    callback: CallbackQuery,
    *,
    callback_data: ModePick,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """Alert mode chosen: on to the digest frequency."""
    if callback_data.mode not in MODES:
        return await _invalid(callback)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.alert_mode = callback_data.mode

    applied = await _apply(callback, database, settings, language, change)
    if applied is not None:
        await edit(applied[0], *screens.frequencies())
        await callback.answer()
    return None


@router.callback_query(FreqPick.filter(), flags=CONFIGURE)
async def pick_frequency(
    callback: CallbackQuery,
    *,
    callback_data: FreqPick,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """Frequency chosen: weekly asks the day, daily the hour, none skips to the zone."""
    if callback_data.freq not in FREQUENCIES:
        return await _invalid(callback)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.digest_frequency = callback_data.freq
        reschedule(row, utcnow())

    applied = await _apply(callback, database, settings, language, change)
    if applied is not None:
        following = {"weekly": screens.weekdays, "daily": screens.hours, "off": screens.zones}
        await edit(applied[0], *following[callback_data.freq]())
        await callback.answer()
    return None


@router.callback_query(DayPick.filter(), flags=CONFIGURE)
async def pick_weekday(
    callback: CallbackQuery,
    *,
    callback_data: DayPick,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """Weekday chosen: on to the hour."""
    if not 0 <= callback_data.weekday <= 6:
        return await _invalid(callback)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.digest_weekday = callback_data.weekday
        reschedule(row, utcnow())

    applied = await _apply(callback, database, settings, language, change)
    if applied is not None:
        await edit(applied[0], *screens.hours())
        await callback.answer()
    return None


@router.callback_query(HourPick.filter(), flags=CONFIGURE)
async def pick_hour(
    callback: CallbackQuery,
    *,
    callback_data: HourPick,
    database: Database,
    settings: Settings,
    language: str,
) -> None:
    """Hour chosen: on to the time zone."""
    if not 0 <= callback_data.hour <= 23:
        return await _invalid(callback)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.digest_minute = callback_data.hour * 60
        reschedule(row, utcnow())

    applied = await _apply(callback, database, settings, language, change)
    if applied is not None:
        await edit(applied[0], *screens.zones())
        await callback.answer()
    return None


@router.callback_query(ZonePick.filter(), flags=CONFIGURE)
async def pick_zone(
    callback: CallbackQuery,
    *,
    callback_data: ZonePick,
    database: Database,
    settings: Settings,
    catalog: Catalog,
    language: str,
) -> None:
    """Time zone chosen: the set-up ends with a summary."""
    if callback_data.zone not in COMMON_ZONES:
        return await _invalid(callback)

    async def change(session: AsyncSession, row: Chat) -> None:
        row.timezone = callback_data.zone
        reschedule(row, utcnow())

    applied = await _apply(callback, database, settings, language, change)
    if applied is not None:
        message, row, followed = applied
        await edit(message, *screens.finished(catalog, row, followed))
        await callback.answer()
    return None
