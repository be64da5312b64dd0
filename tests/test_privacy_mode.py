"""ADVERSARIAL G57: privacy mode off, or the bot promoted to admin, is reported to staff."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.db.engine import Database
from bot.db.tables import Chat, OutboxRow
from bot.telegram.runner import check_privacy_mode
from tests.fakes.botapi import FakeBotAPI
from tests.support.botchat import chatting, settings

STAFF = 777001
GROUP, ADMIN = -1009876543, 4242


async def staff_notices(database: Database) -> list[str]:
    async with database.read() as session:
        rows = await session.execute(
            select(col(OutboxRow.ref))
            .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
            .where(col(Chat.chat_id) == STAFF, col(OutboxRow.kind) == "staff")
        )
        return [ref.split(":")[0] for ref in rows.scalars()]


class _Pipeline:
    """The two attributes check_privacy_mode reads."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.settings = settings(staff_ids=(STAFF,))


async def test_privacy_mode_off_warns_loudly_and_tells_staff_once(
    engine: AsyncEngine, fake_botapi: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database.on(engine)
    bot = fake_botapi.make_bot()
    await check_privacy_mode(bot, _Pipeline(database))  # type: ignore[arg-type]
    assert await staff_notices(database) == []
    fake_botapi.bot_user["can_read_all_group_messages"] = True
    await check_privacy_mode(bot, _Pipeline(database))  # type: ignore[arg-type]
    await check_privacy_mode(bot, _Pipeline(database))  # type: ignore[arg-type]
    assert await staff_notices(database) == ["privacy-mode-off"]
    assert "privacy mode is OFF" in caplog.text


async def test_promotion_to_admin_in_a_group_is_reported_to_staff(
    engine: AsyncEngine, fake_botapi: FakeBotAPI
) -> None:
    async with chatting(fake_botapi, engine, staff_ids=(STAFF,)) as chat:
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "member", old_status="left")
        await chat.run.reply_to(GROUP)
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "administrator", old_status="member")
        note = await chat.run.reply_to(GROUP)
        assert "administrator here now" in note.visible
        assert await staff_notices(chat.database) == ["promoted"]


async def test_after_promotion_group_chatter_is_still_ignored_and_unstored(
    engine: AsyncEngine, fake_botapi: FakeBotAPI
) -> None:
    chatter = "private plans of the group, zq-7731"
    async with chatting(fake_botapi, engine, staff_ids=(STAFF,)) as chat:
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "member", old_status="left")
        await chat.run.reply_to(GROUP)
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "administrator", old_status="member")
        await chat.run.reply_to(GROUP)
        fake_botapi.push_message(GROUP, chatter, from_id=ADMIN + 1)
        await chat.run.settle()
        assert len(fake_botapi.messages(GROUP)) == 2  # the introduction and the note only
        async with chat.database.read() as session:
            bodies = (await session.scalars(select(col(OutboxRow.body)))).all()
        assert not any(chatter in body for body in bodies)


async def test_a_group_admin_is_not_staff(engine: AsyncEngine, fake_botapi: FakeBotAPI) -> None:
    """ADVERSARIAL F49: admin rights in a group give nothing in the staff commands."""
    async with chatting(fake_botapi, engine, staff_ids=(STAFF,)) as chat:
        fake_botapi.set_member(GROUP, ADMIN, "administrator")
        unknown = await chat.send(ADMIN, "/frobnicate")
        refused = await chat.send(ADMIN, "/stats")
        assert refused.visible == unknown.visible
        assert "I don't know that command" in refused.visible
