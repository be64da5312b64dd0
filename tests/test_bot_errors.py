"""PostgreSQL going down while the bot runs (ADVERSARIAL D43): a plain answer, never silence."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import Database
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi import fake_botapi as fake_botapi  # noqa: PLC0414
from tests.fakes.botapi_faults import RateLimits
from tests.support.botchat import catalog, settings, wait_until
from tests.support.botrun import running_bot
from tests.test_adversarial_storage_gaps import PostgresDown

USER, GROUP = 5151, -1005151
DATABASE_DOWN = (
    "briefbot cannot reach its database just now, so nothing was changed. "
    "Please try again in a few minutes."
)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_database_outage_gets_a_plain_answer_in_private_and_silence_in_groups(
    engine: AsyncEngine,
    database_url: str,
    fake_botapi: FakeBotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every update reads the database first; while it is down users are told, not ignored."""
    fake_botapi.set_rate_limits(RateLimits.disabled())
    caplog.set_level(logging.ERROR, logger="bot.telegram.routers.errors")
    outage = PostgresDown(database_url)
    async with running_bot(
        fake_botapi, Database.on(engine), settings=settings(), catalog=catalog()
    ) as run:
        await outage.arm()
        try:
            fake_botapi.push_message(GROUP, "/start", from_id=USER)
            fake_botapi.push_message(USER, "/start")
            during = await run.reply_to(USER)

            def both_failed() -> bool:
                return sum("database unavailable" in r.getMessage() for r in caplog.records) == 2

            await wait_until(both_failed)
            await asyncio.sleep(0.2)  # room for a group answer, were one coming
        finally:
            await outage.disarm()
        fake_botapi.push_message(USER, "/start")
        after = await run.reply_to(USER)  # back to normal once the database returns

    assert during.text == DATABASE_DOWN
    assert after.text != DATABASE_DOWN
    assert fake_botapi.messages(GROUP) == []  # a failed group update stays silent
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "/start" not in logged
    assert str(USER) not in logged
