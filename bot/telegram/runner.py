"""Runs the pipeline behind aiogram: long polling, scheduler and sender started on startup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.delivery.staff_notices import Notice, notify_staff
from bot.delivery.telegram import TelegramTransport
from bot.logs import set_chat_hash_key
from bot.service import LEAD_RETRY_SECONDS, Pipeline, open_pipeline, run_pipeline
from bot.telegram import build_dispatcher
from bot.telegram.commands import set_menus
from bot.telegram.conflicts import ConflictWatch
from bot.telegram.webhook import OncePerUpdate, serve_webhook

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
        data = {
            "pipeline": pipeline,
            "database": pipeline.database,
            "settings": settings,
            "catalog": catalog,
        }
        background: list[asyncio.Task[None]] = []

        async def on_startup() -> None:
            await set_menus(bot, settings.staff_ids)
            await check_privacy_mode(bot, pipeline)
            # The scheduler needs the running loop: it starts with the dispatcher.
            background.append(asyncio.create_task(run_pipeline(pipeline, stop)))

        dispatcher.startup.register(on_startup)
        try:
            if settings.webhook_url:
                await serve_webhook(dispatcher, bot, settings, stop, **data)
            elif await _lead_or_stop(pipeline, stop):
                # getUpdates allows one consumer per token: only the leader polls updates.
                await _poll_updates(dispatcher, bot, stop, data)
        finally:
            stop.set()
            await asyncio.gather(*background, return_exceptions=True)
            await bot.session.close()


async def check_privacy_mode(bot: Bot, pipeline: Pipeline) -> None:
    """ADVERSARIAL G57: privacy mode off means the bot sees every group message: warn loudly."""
    me = await bot.get_me()
    if not me.can_read_all_group_messages:
        return
    log.warning(
        "privacy mode is OFF: the bot receives every message in its groups. Turn it back on:"
        " @BotFather -> /mybots -> Bot Settings -> Group Privacy -> Turn on"
    )
    notice = Notice(
        "privacy-mode-off",
        "⚠️ Group privacy mode is off for this bot, so Telegram sends it every group message."
        " briefbot ignores them, but turn it back on: @BotFather → /mybots → Bot Settings →"
        " Group Privacy → Turn on.",
        {},
    )
    await notify_staff(
        database=pipeline.database,
        staff_ids=pipeline.settings.staff_ids,
        notice=notice,
        now=datetime.now(UTC),
    )


async def _lead_or_stop(pipeline: Pipeline, stop: asyncio.Event) -> bool:
    """Wait until this process leads (True) or is stopped (False)."""
    while not stop.is_set():
        if await pipeline.lead.try_acquire():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=LEAD_RETRY_SECONDS)
    return False


async def _poll_updates(
    dispatcher: Dispatcher, bot: Bot, stop: asyncio.Event, data: dict[str, Any]
) -> None:
    """Long polling until `stop`; updates are handled once each, in the background."""
    dispatcher.update.outer_middleware(OncePerUpdate())
    # getUpdates and a webhook exclude each other: polling takes over from a webhook.
    await bot.delete_webhook(drop_pending_updates=False)

    async def stop_polling() -> None:
        await stop.wait()
        await dispatcher.stop_polling()

    stopper = asyncio.create_task(stop_polling())
    pipeline: Pipeline = data["pipeline"]

    async def token_leak() -> None:
        notice = Notice(
            "token-conflict",
            "🚨 Another process is reading this bot's updates (409 Conflict): the token may"
            " have leaked. Stop the other process, or revoke the token with @BotFather.",
            {},
        )
        await notify_staff(
            database=pipeline.database,
            staff_ids=pipeline.settings.staff_ids,
            notice=notice,
            now=datetime.now(UTC),
        )

    watch = ConflictWatch(token_leak).attach()
    try:
        await dispatcher.start_polling(bot, handle_signals=False, **data)
    finally:
        watch.detach()
        stopper.cancel()
