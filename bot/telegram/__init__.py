"""The Telegram side: the Dispatcher with one router per feature, and the runner."""

from __future__ import annotations

from aiogram import Dispatcher, Router

from bot.i18n import get_i18n
from bot.telegram.filters import AdminCache
from bot.telegram.middlewares import ChatLocale, ChatRowMiddleware


def build_dispatcher() -> Dispatcher:
    """The Dispatcher: middlewares, then every feature router in order (fallback last)."""
    from bot.telegram.routers import ROUTERS

    dispatcher = Dispatcher()
    # One admin-status cache per Dispatcher (not per process), handed to handlers by name.
    dispatcher["admin_cache"] = AdminCache()
    dispatcher.update.outer_middleware(ChatRowMiddleware())
    ChatLocale(get_i18n()).setup(dispatcher)
    for router in ROUTERS:
        _detach(router)
        dispatcher.include_router(router)
    return dispatcher


def _detach(router: Router) -> None:
    # Feature routers are module-level (aiogram's convention) and a router belongs to one
    # parent; a process that builds a second Dispatcher (tests do, once per test) takes
    # them over from the first. aiogram has no public way to do this.
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
