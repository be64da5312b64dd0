"""What every handler can ask for by name (aiogram workflow data), declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db.engine import Database
from bot.db.tables import Chat

if TYPE_CHECKING:
    from bot.service import Pipeline
    from bot.telegram.filters import AdminCache


class Deps(TypedDict, total=False):
    """Workflow data: given to start_polling / the webhook handler, or set by middlewares."""

    database: Database
    settings: Settings
    catalog: Catalog
    pipeline: Pipeline  # absent in tests that run the bot without polling feeds
    chat_row: Chat | None  # set by ChatRowMiddleware: the subscriber row of the update's chat
    language: str  # set by ChatLocale: en, be or ru
    admin_cache: AdminCache  # set by build_dispatcher: getChatMember answers, 60 s
