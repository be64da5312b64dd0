"""`briefbot run` with a BOT_TOKEN: a new matching item reaches a subscriber through the Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits
from tests.support.feedserver import FeedServer
from tests.test_cli import briefbot
from tests.test_console import env_for


def rss(*titles: str) -> str:
    """An RSS document whose items were published just now."""
    now = format_datetime(datetime.now(UTC))
    items = "".join(
        f"<item><guid>{t}</guid><link>https://news.example/{i}</link><title>{t}</title>"
        f"<pubDate>{now}</pubDate></item>"
        for i, t in enumerate(titles)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>L</title>{items}</channel></rss>"
    )


def add_subscriber(db: Path, chat_id: int) -> None:
    """A private chat that wants every relevant item at once; feeds due now."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO chats (chat_id, kind, language, timezone, paused, alert_mode, follow_all,"
            " digest_frequency, digest_weekday, digest_minute, empty_digest_note, created_at)"
            " VALUES (?, 'private', 'ru', 'Europe/Minsk', 0, 'instant', 1, 'off', 0, 540, 1,"
            " '2026-01-01 00:00:00.000000')",
            (chat_id,),
        )
        conn.execute("UPDATE feeds SET next_check_at = NULL")  # due again at once


async def test_run_sends_an_alert_for_a_new_item_through_the_bot_api(
    tmp_path: Path, feed_server: FeedServer, fake_botapi: FakeBotAPI
) -> None:
    fake_botapi.set_rate_limits(RateLimits.disabled())
    env = env_for(tmp_path, feed_server)
    feed_server.add("/feed.xml", rss("Погода в Минске"))
    first = await briefbot("poll", "--once", env=env, cwd=tmp_path)  # the feed's backlog
    assert first.code == 0, first.stderr
    add_subscriber(tmp_path / "console.db", 4242)
    feed_server.add("/feed.xml", rss("Погода в Минске", "ЕС ввёл новые санкции против Беларуси"))
    env.update(
        BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_BASE=fake_botapi.base_url,
        POLL_TICK_SECONDS="1",
        RETENTION_DAYS="36500",
        LOG_LEVEL="INFO",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    fake_botapi.push_message(777, "/help")  # a user talks to the running bot meanwhile
    try:
        async with asyncio.timeout(60):
            while not (fake_botapi.messages(4242) and fake_botapi.messages(777)):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    except TimeoutError:
        pass  # the assertions below say what is missing, with the log
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert fake_botapi.messages(4242), err.decode()
    assert proc.returncode == 0, err.decode()
    [alert] = fake_botapi.messages(4242)
    assert "ЕС ввёл новые санкции против Беларуси" in alert.visible
    assert "Погода" not in alert.visible
    assert alert.parse_mode == "HTML"
    assert DEFAULT_TOKEN not in err.decode()
    assert fake_botapi.calls("deleteWebhook")  # long polling took over from any webhook
    [help_reply] = fake_botapi.messages(777)
    assert "/subscribe" in help_reply.visible
    assert fake_botapi.my_commands_by_language  # command menus were registered at start
