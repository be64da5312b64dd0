"""ADVERSARIAL C37: repeated 409 Conflict on getUpdates raises one operator alert."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from aiogram import Dispatcher
from aiogram.utils.backoff import BackoffConfig

from bot.telegram.conflicts import CONFLICTS_BEFORE_ALERT, ConflictWatch
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi_faults import Faults


async def test_repeated_conflicts_alert_the_operator_once(
    fake_botapi: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    alerts: list[str] = []

    async def on_alert() -> None:
        alerts.append("token-conflict")

    fake_botapi.fail_next(Faults.CONFLICT, "getUpdates", times=CONFLICTS_BEFORE_ALERT * 2)
    watch = ConflictWatch(on_alert).attach()
    dispatcher = Dispatcher()
    polling = asyncio.create_task(
        dispatcher.start_polling(
            fake_botapi.make_bot(),
            handle_signals=False,
            polling_timeout=1,
            backoff_config=BackoffConfig(min_delay=0.01, max_delay=0.05, factor=1.1, jitter=0.0),
        )
    )
    try:
        async with asyncio.timeout(10):
            while len(fake_botapi.calls("getUpdates")) <= CONFLICTS_BEFORE_ALERT * 2:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
    finally:
        watch.detach()
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await asyncio.wait_for(polling, timeout=10)
    assert watch.alerted
    assert alerts == ["token-conflict"]
    critical = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert len(critical) == 1
    assert "possible token leak" in critical[0].getMessage()


def test_a_few_conflicts_do_not_alert() -> None:
    watch = ConflictWatch()
    record = logging.LogRecord(
        "aiogram.dispatcher",
        logging.ERROR,
        __file__,
        1,
        "Failed to fetch updates - TelegramConflictError: Conflict",
        None,
        None,
    )
    for _ in range(CONFLICTS_BEFORE_ALERT - 1):
        watch.emit(record)
    assert not watch.alerted
    watch.emit(record)
    assert watch.alerted
