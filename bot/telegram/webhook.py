"""Webhook mode: an aiohttp server that checks Telegram's secret header and answers at once."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import TelegramObject, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.config.settings import Settings

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
REMEMBERED_UPDATES = 10_000


class OncePerUpdate(BaseMiddleware):
    """Handles each update_id once: Telegram re-delivers updates it thinks were not received."""

    def __init__(self, remember: int = REMEMBERED_UPDATES) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._remember = remember

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Skip an update seen before; remember the newest REMEMBERED_UPDATES ids."""
        if isinstance(event, Update):
            if event.update_id in self._seen:
                log.info("update=%d delivered again: ignored", event.update_id)
                return None
            self._seen[event.update_id] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return await handler(event, data)


class SecretCheckedHandler(SimpleRequestHandler):
    """aiogram's handler, answering 403 (not 401) to a request without the right secret."""

    async def handle(self, request: web.Request) -> web.Response:
        """Refuse before reading the body unless the secret header matches."""
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            return web.Response(status=403, text="Forbidden")
        return await super().handle(request)


def webhook_app(
    dispatcher: Dispatcher, bot: Bot, secret: str, path: str, **data: Any
) -> web.Application:
    """The aiohttp application: one route, updates handled in the background (prompt 200)."""
    dispatcher.update.outer_middleware(OncePerUpdate())
    app = web.Application()
    SecretCheckedHandler(
        dispatcher=dispatcher, bot=bot, secret_token=secret, handle_in_background=True, **data
    ).register(app, path=path)
    setup_application(app, dispatcher, bot=bot, **data)
    return app


async def serve_webhook(
    dispatcher: Dispatcher, bot: Bot, settings: Settings, stop: asyncio.Event, **data: Any
) -> None:
    """Register the webhook with Telegram and serve it until `stop` (it stays registered)."""
    assert settings.webhook_url is not None
    assert settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    app = webhook_app(dispatcher, bot, secret, settings.webhook_path, **data)
    runner = web.AppRunner(app, access_log=None)  # access logs would carry client addresses
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    await bot.set_webhook(
        settings.webhook_url,
        secret_token=secret,
        allowed_updates=dispatcher.resolve_used_update_types(),
    )
    log.info("webhook mode: listening on port %d", settings.webhook_port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
