"""Webhook mode: the secret header is required, an update is handled once, answers are prompt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Dispatcher, Router
from aiogram.types import Message
from aiohttp import web

from bot.config.settings import load_settings
from bot.errors import ConfigError
from bot.telegram.webhook import SECRET_HEADER, serve_webhook, webhook_app
from tests.fakes.botapi import FakeBotAPI

SECRET = "s3cret-token_for-tests"


def update(update_id: int, text: str) -> dict[str, object]:
    """A message update as Telegram posts it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "T"},
            "text": text,
        },
    }


class Server:
    """The webhook app on a loopback port, with the texts its handler saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.url = ""


@pytest.fixture
async def server(fake_botapi: FakeBotAPI, unused_tcp_port: int) -> AsyncIterator[Server]:
    state = Server()
    router = Router()

    @router.message()
    async def record(message: Message) -> None:
        if message.text == "slow":
            await asyncio.sleep(3)
        state.seen.append(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = webhook_app(dispatcher, fake_botapi.make_bot(), SECRET, "/telegram")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    state.url = f"http://127.0.0.1:{unused_tcp_port}/telegram"
    try:
        yield state
    finally:
        await runner.cleanup()


async def post(url: str, body: dict[str, object], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        return response.status


async def test_a_request_without_the_right_secret_is_refused_unprocessed(server: Server) -> None:
    assert await post(server.url, update(1, "no header"), None) == 403
    assert await post(server.url, update(2, "wrong"), "not-the-secret-token") == 403
    await asyncio.sleep(0.2)
    assert server.seen == []


async def test_the_same_update_delivered_twice_is_handled_once(server: Server) -> None:
    assert await post(server.url, update(7, "hello"), SECRET) == 200
    assert await post(server.url, update(7, "hello"), SECRET) == 200
    assert await post(server.url, update(8, "again"), SECRET) == 200
    async with asyncio.timeout(5):
        while len(server.seen) < 2:  # noqa: ASYNC110 (waits for background handling)
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert server.seen == ["hello", "again"]


async def test_a_slow_handler_does_not_delay_the_answer(server: Server) -> None:
    started = time.monotonic()
    assert await post(server.url, update(9, "slow"), SECRET) == 200
    assert time.monotonic() - started < 1.5
    assert server.seen == []  # still being handled


def test_webhook_mode_requires_a_secret_of_telegrams_alphabet() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET is required"):
        load_settings(webhook_url="https://bot.example/telegram")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        load_settings(webhook_url="https://bot.example/telegram", webhook_secret="short!")
    ok = load_settings(webhook_url="https://bot.example/telegram", webhook_secret=SECRET)
    assert ok.webhook_secret is not None


async def test_serving_registers_the_webhook_with_its_secret(
    fake_botapi: FakeBotAPI, unused_tcp_port: int
) -> None:
    settings = load_settings(
        webhook_url="https://bot.example/telegram",
        webhook_secret=SECRET,
        webhook_host="127.0.0.1",
        webhook_port=unused_tcp_port,
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(
        serve_webhook(Dispatcher(), fake_botapi.make_bot(), settings, stop)
    )
    async with asyncio.timeout(5):
        while fake_botapi.webhook is None:  # noqa: ASYNC110 (waits for the fake to be told)
            await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{unused_tcp_port}/telegram"
    assert await post(url, update(1, "x"), None) == 403
    stop.set()
    await asyncio.wait_for(serving, timeout=5)
    assert fake_botapi.webhook == {"url": "https://bot.example/telegram", "secret_token": SECRET}
