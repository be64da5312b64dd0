"""Runs the pipeline behind aiogram: long polling, scheduler and sender started on startup."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.delivery.transport import TelegramTransport
from bot.logs import set_chat_hash_key
from bot.service import Pipeline, open_pipeline, run_pipeline
from bot.telegram import build_dispatcher

log = logging.getLogger(__name__)


def make_bot(settings: Settings) -> Bot:
    """An aiogram Bot for the configured token and (optionally) a custom Bot API server."""
    assert settings.bot_token is not None
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_base)
        if settings.telegram_api_base
        else None
    )
    session = AiohttpSession(api=api) if api else AiohttpSession()
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def run_telegram(settings: Settings, catalog: Catalog, stop: asyncio.Event) -> None:
    """Long polling with the pipeline's jobs started in aiogram's startup hook."""
    assert settings.bot_token is not None
    set_chat_hash_key(settings.bot_token.get_secret_value().encode())
    bot = make_bot(settings)
    transport = TelegramTransport(
        bot, timeout=settings.send_timeout_seconds, paid_broadcast=settings.allow_paid_broadcast
    )
    async with open_pipeline(settings, catalog, transport) as pipeline:
        dispatcher = build_dispatcher()
        background: list[asyncio.Task[None]] = []

        async def on_startup() -> None:
            await bot.delete_webhook(drop_pending_updates=False)
            background.append(asyncio.create_task(run_pipeline(pipeline, stop)))

        async def stop_polling() -> None:
            await stop.wait()
            await dispatcher.stop_polling()

        dispatcher.startup.register(on_startup)
        stopper = asyncio.create_task(stop_polling())
        try:
            await dispatcher.start_polling(
                bot,
                handle_signals=False,
                pipeline=pipeline,
                database=pipeline.database,
                settings=settings,
                catalog=catalog,
            )
        finally:
            stop.set()
            await asyncio.gather(*background, stopper, return_exceptions=True)
            await bot.session.close()


__all__ = ["Pipeline", "build_dispatcher", "make_bot", "run_telegram"]
