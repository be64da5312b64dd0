"""The naive contender: what many Telegram RSS bots do, one send_message after another."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import LinkPreviewOptions

from bench.delivery.processes import usage


def make_bot(api: str, token: str) -> Bot:
    """An aiogram Bot talking to the fake server."""
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))


def plan_entries(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(chat id, message bodies) per line of the plan, read as needed."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            chat_id, bodies = json.loads(line)
            yield int(chat_id), bodies


async def naive(args: argparse.Namespace) -> dict[str, Any]:
    """What many RSS bots do: send in sequence, sleep on 429 and retry, skip on other errors."""
    bot = make_bot(args.api, args.token)
    counts: Counter[str] = Counter()
    try:
        started = time.monotonic()
        for chat_id, bodies in plan_entries(Path(args.plan)):
            for body in bodies:
                await _send_naively(bot, chat_id, body, counts)
        ended = time.monotonic()
    finally:
        await bot.session.close()
    return {"started": started, "ended": ended, "wall_s": ended - started, **counts, **usage()}


async def _send_naively(bot: Bot, chat_id: int, body: str, counts: Counter[str]) -> None:
    while True:
        try:
            await bot.send_message(
                chat_id,
                body,
                parse_mode="HTML",
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramRetryAfter as exc:
            counts["retry_after"] += 1
            await asyncio.sleep(exc.retry_after)
            continue
        except (TelegramAPIError, TelegramNetworkError) as exc:
            counts[f"skipped_{type(exc).__name__}"] += 1
        else:
            counts["sent"] += 1
        return
