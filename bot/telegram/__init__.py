"""The Telegram side: the Dispatcher with one router per feature, and the runner."""

from __future__ import annotations

from aiogram import Dispatcher

from bot.i18n import get_i18n
from bot.telegram.middlewares import ChatLocale, ChatRowMiddleware


def build_dispatcher() -> Dispatcher:
    """The Dispatcher: middlewares, then every feature router in order (fallback last)."""
    from bot.telegram.routers import ROUTERS

    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(ChatRowMiddleware())
    ChatLocale(get_i18n()).setup(dispatcher)
    for router in ROUTERS:
        dispatcher.include_router(router)
    return dispatcher
