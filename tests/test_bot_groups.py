"""Groups end to end: joining and leaving, admins only (ADVERSARIAL F49-F51), migration."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.tables import Chat
from bot.telegram.filters import AdminCache
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi import fake_botapi as fake_botapi  # noqa: PLC0414
from tests.fakes.botapi_updates import chat_json
from tests.support.botchat import TIMEZONE, Chatting, button_data, chatting

GROUP = -1_001_777_000_111  # a supergroup
OLD_GROUP = -555_111  # a basic group
ADMIN, MEMBER, OUTSIDER, PRIVATE_USER = 501, 502, 503, 4242
CHANNEL = -1_001_999_000_222
REFUSAL = "only this group's administrators"


async def _group_row(chat: Chatting, chat_id: int = GROUP) -> Chat:
    row = await chat.row(chat_id)
    assert row is not None
    return row


async def _added(chat: Chatting, chat_id: int = GROUP, by: int = ADMIN) -> str:
    chat.server.push_my_chat_member(chat_id, by, "member", old_status="left")
    return (await chat.run.reply_to(chat_id)).visible


async def test_added_to_group_introduces_itself_with_group_defaults(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        await chat.send(PRIVATE_USER, "/keywords secretword")
        intro = await _added(chat, by=OUTSIDER)
        assert "Belarus and the US: Diplomacy and pragmatics" in intro
        assert "weekly on Monday at 09:00 (Europe/Minsk)" in intro
        # F51: an outsider's group learns nothing about other subscribers.
        assert "secretword" not in intro
        assert str(PRIVATE_USER) not in intro
        await chat.run.settle()
        assert len(fake_botapi.messages(GROUP)) == 1
        row = await _group_row(chat)
        assert (row.kind, row.alert_mode, row.digest_frequency, row.follow_all) == (
            "supergroup",
            "digest",
            "weekly",
            True,
        )
        assert row.timezone == TIMEZONE
        assert row.next_digest_at is not None
        local = row.next_digest_at.astimezone(ZoneInfo(TIMEZONE))
        assert (local.weekday(), local.hour) == (0, 9)

        # Promoted to admin while in the group (G57): no second introduction, a note that
        # nothing changes in what the bot reads or keeps.
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "administrator", old_status="member")
        await chat.run.settle()
        messages = fake_botapi.messages(GROUP)
        assert len(messages) == 2
        assert "administrator here now" in messages[1].visible
        assert "Diplomacy and pragmatics" not in messages[1].visible

        fake_botapi.push_my_chat_member(GROUP, ADMIN, "left", old_status="administrator")
        await chat.run.settle()
        assert await chat.row(GROUP) is None


async def test_member_is_refused_and_admin_accepted(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    fake_botapi.set_member(GROUP, ADMIN, "administrator")
    async with chatting(fake_botapi, engine) as chat:
        await _added(chat)
        for command in ("/mode instant", "/subscribe war", "/unsubscribe all", "/digest off"):
            reply = await chat.send(GROUP, command, from_id=MEMBER)
            assert REFUSAL in reply.visible, command
        for command in ("/tz UTC", "/lang ru", "/keywords x", "/pause", "/stop", "/now"):
            assert REFUSAL in (await chat.send(GROUP, command, from_id=MEMBER)).visible
        row = await _group_row(chat)
        assert (row.alert_mode, row.follow_all, row.digest_frequency) == ("digest", True, "weekly")
        assert (row.timezone, row.language, row.keywords, row.paused) == (
            TIMEZONE,
            "en",
            None,
            False,
        )

        # Reading is open to members.
        assert (
            "Alerts: digest only" in (await chat.send(GROUP, "/settings", from_id=MEMBER)).visible
        )
        help_text = (await chat.send(GROUP, "/help", from_id=MEMBER)).visible
        assert "only administrators can change settings" in help_text

        reply = await chat.send(GROUP, "/mode@briefbot_test_bot instant", from_id=ADMIN)
        assert reply.visible == "Alerts: everything at once"
        await chat.send(GROUP, "/digest daily 08:00", from_id=ADMIN)
        row = await _group_row(chat)
        assert (row.alert_mode, row.digest_frequency, row.digest_minute) == (
            "instant",
            "daily",
            480,
        )


async def test_anonymous_admin_accepted_and_spoofed_senders_ignored(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    channel = chat_json(CHANNEL, "channel")
    async with chatting(fake_botapi, engine) as chat:
        await _added(chat)
        reply = await chat.send(GROUP, "/mode instant", anonymous_admin=True)
        assert reply.visible == "Alerts: everything at once"

        # A user posting as some channel, a channel auto-forward, and 777000 on its own.
        fake_botapi.push_message(GROUP, "/mode urgent", from_id=136817688, sender_chat=channel)
        fake_botapi.push_message(GROUP, "/mode urgent", from_id=777000, sender_chat=channel)
        fake_botapi.push_message(GROUP, "/mode urgent", from_id=777000)
        # GroupAnonymousBot without sender_chat == the group is no admin either.
        fake_botapi.push_message(GROUP, "/mode urgent", from_id=1087968824)
        await chat.run.settle()
        assert len(fake_botapi.messages(GROUP)) == 2
        assert (await _group_row(chat)).alert_mode == "instant"


async def test_group_buttons_are_reverified(fake_botapi: FakeBotAPI, engine: AsyncEngine) -> None:
    fake_botapi.set_member(GROUP, ADMIN, "administrator")
    async with chatting(fake_botapi, engine) as chat:
        await _added(chat)
        menu = await chat.send(GROUP, "/start", from_id=ADMIN)
        chat.tap(GROUP, menu, button_data(menu, "Русский"), from_id=MEMBER)
        refusal = await chat.answered(1)
        assert REFUSAL in refusal["text"]
        assert refusal["show_alert"] in {True, "true"}
        assert (await _group_row(chat)).language == "en"
        assert not menu.edits

        await chat.press(GROUP, menu, "Русский", from_id=ADMIN)
        assert "Шаг 1 из 4" in menu.visible
        assert (await _group_row(chat)).language == "ru"
        # /start checked the admin, the member's tap the member; the admin's tap is cached.
        assert len(fake_botapi.calls("getChatMember")) == 2


async def test_admin_answers_are_cached_for_a_minute(fake_botapi: FakeBotAPI) -> None:
    now = [1000.0]
    cache = AdminCache(clock=lambda: now[0])
    bot = fake_botapi.make_bot()
    fake_botapi.set_member(GROUP, ADMIN, "administrator")
    assert await cache.is_admin(bot, GROUP, ADMIN)
    fake_botapi.set_member(GROUP, ADMIN, "member")
    now[0] += 59
    assert await cache.is_admin(bot, GROUP, ADMIN), "cached"
    assert len(fake_botapi.calls("getChatMember")) == 1
    now[0] += 2
    assert not await cache.is_admin(bot, GROUP, ADMIN), "checked live again after 60 s"
    assert not await cache.is_admin(bot, GROUP, MEMBER)
    assert len(fake_botapi.calls("getChatMember")) == 3


async def test_migration_keeps_the_subscription(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    fake_botapi.set_member(OLD_GROUP, ADMIN, "creator")
    async with chatting(fake_botapi, engine) as chat:
        await _added(chat, OLD_GROUP)
        await chat.send(OLD_GROUP, "/subscribe sanctions", from_id=ADMIN)
        for _ in range(2):  # seen twice (both service messages, twice over): idempotent
            fake_botapi.push_migration(OLD_GROUP, GROUP, ADMIN)
            await chat.run.settle()
            assert await chat.row(OLD_GROUP) is None
            row = await _group_row(chat)
            assert (row.kind, row.follow_all) == ("supergroup", False)
            assert await chat.topics(GROUP) == ["sanctions"]


async def test_groups_ignore_chatter_and_unknown_commands(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        await _added(chat)
        for text in ("hello everyone", "/frobnicate", "/start@some_other_bot", "/mode@other_bot x"):
            fake_botapi.push_message(GROUP, text, from_id=MEMBER)
        await chat.run.settle()
        assert len(fake_botapi.messages(GROUP)) == 1, "only the introduction"
        assert not fake_botapi.calls("getChatMember")
