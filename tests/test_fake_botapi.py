"""The fake Bot API server, exercised through a real aiogram Bot over loopback HTTP."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    ChatMemberAdministrator,
    ChatMemberBanned,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)

from tests.fakes.botapi import FakeBotAPI, Fault, Faults, RateLimits
from tests.fakes.botapi import fake_botapi as fake_botapi  # noqa: PLC0414
from tests.fakes.botapi_faults import migrated
from tests.fakes.botapi_html import EntityParseError, parse_html
from tests.fakes.botapi_updates import ANONYMOUS_ADMIN_ID, MemberStatus, member_json

USER = 42
GROUP = -100_555_000_111


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _wait_for(condition: object, seconds: float = 5.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# --- basics ------------------------------------------------------------------------------


async def test_get_me_over_http(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    me = await bot.get_me()
    assert me.id == int(fake_botapi.token.split(":")[0])
    assert me.is_bot
    assert me.username == "briefbot_test_bot"
    assert fake_botapi.base_url.startswith("http://127.0.0.1:")
    assert [c.method for c in fake_botapi.calls()] == ["getMe"]


async def test_send_message_is_recorded(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Mute", callback_data="mute:1")]]
    )
    before = time.monotonic()
    sent = await bot.send_message(
        USER,
        "<b>Minsk</b> &amp; Washington",
        parse_mode="HTML",
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_markup=markup,
    )
    second = await bot.send_message(USER, "plain")
    other = await bot.send_message(7, "elsewhere")

    assert sent.text == "Minsk & Washington"
    assert (sent.message_id, second.message_id, other.message_id) == (1, 2, 1)
    [first, _] = fake_botapi.messages(USER)
    assert first.text == "<b>Minsk</b> &amp; Washington"
    assert first.visible == "Minsk & Washington"
    assert first.parse_mode == "HTML"
    assert first.link_preview_options == {"is_disabled": True}
    assert first.reply_markup == {
        "inline_keyboard": [[{"text": "Mute", "callback_data": "mute:1"}]],
    }
    assert first.accepted_at >= before
    assert len(fake_botapi.messages()) == 3


async def test_unknown_method_and_wrong_token(fake_botapi: FakeBotAPI) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{fake_botapi.base_url}/bot{fake_botapi.token}/sendTelepathy"
        async with http.post(url, data={"chat_id": "1"}) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        # JSON bodies are accepted too, as by Telegram.
        url = f"{fake_botapi.base_url}/bot{fake_botapi.token}/sendMessage"
        async with http.post(url, json={"chat_id": 5, "text": "json"}) as response:
            assert (await response.json())["result"]["text"] == "json"
    other = Bot("987654:ZZZ-revoked", session=fake_botapi.make_bot().session)
    with pytest.raises(TelegramUnauthorizedError):
        await other.get_me()


# --- HTML and length validation ----------------------------------------------------------


async def test_valid_html_tags_are_accepted(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    text = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        "<strike>k</strike><del>d</del><tg-spoiler>x</tg-spoiler>"
        '<span class="tg-spoiler">y</span><a href="https://e.org/?a=1&amp;b=2">l</a>'
        '<code>c</code><pre><code class="language-python">p</code></pre>'
        "<blockquote>q</blockquote><blockquote expandable>w</blockquote>"
        " 1 &lt; 2 &gt; 0 &quot;q&quot; &#8212; &#x41;"
    )
    sent = await bot.send_message(USER, text, parse_mode="HTML")
    assert sent.text == 'bsieunskdxylcpqw 1 < 2 > 0 "q" — A'


BAD_HTML = [
    "<p>paragraph</p>",
    "a < b & c",
    "<b>unbalanced",
    "closing</b>",
    "<b>crossed</i>",
    "line<br/>break",
    "mail <a@b.org>",
    '<span class="x">s</span>',
    "Fish &chips",
    '<a href="https://e.org/?a=1&b=2">raw ampersand in href</a>',
]


async def test_bad_html_is_refused(fake_botapi: FakeBotAPI) -> None:
    # One test, not parametrized: each aiogram session close costs 0.25 s.
    fake_botapi.set_rate_limits(RateLimits.disabled())
    bot = fake_botapi.make_bot()
    for text in BAD_HTML:
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(USER, text, parse_mode="HTML")
        # Without parse_mode the same text is fine: that is the plain-text fallback.
        await bot.send_message(USER, text)
    assert [m.text for m in fake_botapi.messages(USER)] == BAD_HTML
    assert {m.parse_mode for m in fake_botapi.messages(USER)} == {None}


def test_html_checker_visible_text() -> None:
    assert parse_html("<b>a</b> &amp; <i>b</i>") == ("a & b", 2)
    with pytest.raises(EntityParseError, match="Unsupported start tag"):
        parse_html("<img src=x>")


async def test_length_is_counted_after_entity_parsing(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    # 4096 visible characters inside 1024 entities: far longer as markup, still fine.
    await bot.send_message(USER, "<b>abcd</b>" * 1024, parse_mode="HTML")
    # Escapes count as one character each.
    await bot.send_message(USER, "&lt;" * 4096, parse_mode="HTML")
    # An emoji outside the BMP counts as two (UTF-16), as in Telegram's entity offsets.
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(USER, "x" * 4095 + "🇧")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    assert len(fake_botapi.messages(USER)) == 2


async def test_photo_caption_limit_and_size(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    photo = BufferedInputFile(b"\x89PNG" + bytes(2000), filename="chart.png")
    sent = await bot.send_photo(USER, photo, caption="<i>" + "c" * 1024 + "</i>", parse_mode="HTML")
    assert sent.photo is not None
    assert sent.photo[-1].file_size == 2004
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(USER, photo, caption="c" * 1025)
    [recorded] = fake_botapi.messages(USER)
    assert recorded.photo_size == 2004
    assert recorded.caption == "<i>" + "c" * 1024 + "</i>"
    assert recorded.visible == "c" * 1024


# --- rate limits -------------------------------------------------------------------------


async def test_per_chat_rate_gives_retry_after(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    for n in range(3):  # the default burst allowance
        await bot.send_message(USER, f"m{n}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "one too many")
    assert caught.value.retry_after >= 1
    await bot.send_message(USER + 1, "another chat is not affected")
    assert len(fake_botapi.messages(USER)) == 3


async def test_group_and_global_limits_with_fake_clock() -> None:
    clock = FakeClock()
    limits = RateLimits(chat_per_second=None, global_per_second=5.0, global_burst=5.0)
    async with FakeBotAPI(limits=limits, clock=clock) as server:
        bot = server.make_bot()
        for chat in range(1, 6):
            await bot.send_message(chat, "hi")
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(6, "global cap")
        clock.now += 1.0
        await bot.send_message(6, "refilled")

        server.set_rate_limits(RateLimits(chat_per_second=None, global_per_second=None))
        for n in range(20):
            await bot.send_message(GROUP, f"g{n}")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(GROUP, "21st in a minute")
        assert caught.value.retry_after == 3  # one slot per 3 s at 20/min
        clock.now += 3.0
        await bot.send_message(GROUP, "after the wait")

        server.set_rate_limits(RateLimits.disabled())
        for n in range(50):
            await bot.send_message(USER, f"u{n}")


async def test_storm_429_then_recovery() -> None:
    clock = FakeClock()
    async with FakeBotAPI(clock=clock) as server:
        bot = server.make_bot()
        server.storm_429(40.0, retry_after=37)
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(USER, "digest")
        assert caught.value.retry_after == 37
        assert "retry after 37" in caught.value.message
        clock.now += 40.0
        await bot.send_message(USER, "digest")
        assert [m.visible for m in server.messages()] == ["digest"]


# --- injected faults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Faults.BLOCKED, TelegramForbiddenError),
        (Faults.USER_DEACTIVATED, TelegramForbiddenError),
        (Faults.KICKED, TelegramForbiddenError),
        (Faults.CANT_INITIATE, TelegramForbiddenError),
        (Faults.CHAT_NOT_FOUND, TelegramBadRequest),
        (Faults.UNAUTHORIZED, TelegramUnauthorizedError),
        (Faults.CONFLICT, TelegramConflictError),
        (Faults.INTERNAL, TelegramServerError),
        (Faults.BAD_GATEWAY, TelegramServerError),
        (Faults.RESTARTING, RestartingTelegram),
    ],
)
async def test_fault_maps_to_aiogram_exception(
    fake_botapi: FakeBotAPI, fault: Fault, error: type[TelegramAPIError]
) -> None:
    bot = fake_botapi.make_bot()
    fake_botapi.fail_chat(USER, fault)
    with pytest.raises(error) as caught:
        await bot.send_message(USER, "x")
    assert caught.value.message == fault.description
    assert fake_botapi.calls("sendMessage")[0].status == fault.status
    await bot.send_message(USER + 1, "other chats still work")
    assert fake_botapi.messages(USER) == []


async def test_migrated_group_carries_new_id(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    fake_botapi.fail_chat(-555, migrated(GROUP))
    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(-555, "x")
    assert caught.value.migrate_to_chat_id == GROUP
    assert "upgraded to a supergroup" in caught.value.message
    await bot.send_message(caught.value.migrate_to_chat_id, "x")
    assert [m.chat_id for m in fake_botapi.messages()] == [GROUP]


async def test_fail_next_counts_calls_and_clear_faults(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    fake_botapi.fail_next(Faults.INTERNAL, "sendMessage", times=2)
    await bot.get_me()  # another method is not affected
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "x")
    fake_botapi.fail_chat(USER, Faults.BLOCKED, times=1)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(USER, "y")
    await bot.send_message(USER, "y")
    fake_botapi.fail_chat(USER, Faults.BLOCKED)
    fake_botapi.clear_faults()
    await bot.send_message(USER, "z")
    assert [m.visible for m in fake_botapi.messages(USER)] == ["x", "y", "z"]


async def test_drop_after_accept_is_delivered_but_unanswered(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    fake_botapi.fail_next(Faults.DROP_AFTER_ACCEPT, "sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "did it arrive?")
    assert [m.visible for m in fake_botapi.messages(USER)] == ["did it arrive?"]
    assert fake_botapi.calls("sendMessage")[0].status == 0
    await bot.send_message(USER, "next")  # the session recovers


async def test_hang_exercises_client_timeout(fake_botapi: FakeBotAPI) -> None:
    # 2 s, not less: on a busy machine a shorter timeout could expire before the request
    # even reached the server, and then nothing would be recorded as delivered.
    bot = fake_botapi.make_bot(timeout=2.0)
    fake_botapi.fail_next(Faults.HANG, "sendMessage")
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(USER, "slow")
    assert [m.visible for m in fake_botapi.messages(USER)] == ["slow"]


# --- other methods -----------------------------------------------------------------------


async def test_edit_delete_commands_members(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    sent = await bot.send_message(USER, "draft")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(text="draft", chat_id=USER, message_id=sent.message_id)
    await bot.edit_message_text(text="final", chat_id=USER, message_id=sent.message_id)
    [recorded] = fake_botapi.messages(USER)
    assert (recorded.visible, recorded.edits) == ("final", ["draft"])
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=USER, message_id=99)
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)

    await bot.set_my_commands([BotCommand(command="start", description="Subscribe")])
    assert fake_botapi.my_commands["default"] == [{"command": "start", "description": "Subscribe"}]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])
    assert await bot.delete_webhook(drop_pending_updates=True)

    fake_botapi.set_member(GROUP, 7, "administrator")
    fake_botapi.set_member(GROUP, 8, "creator", is_anonymous=True)
    admin = await bot.get_chat_member(GROUP, 7)
    assert isinstance(admin, ChatMemberAdministrator)
    assert (await bot.get_chat_member(GROUP, 9)).status == "member"
    admins = await bot.get_chat_administrators(GROUP)
    assert sorted(m.user.id for m in admins) == [7, 8]
    assert await bot.leave_chat(GROUP)
    assert fake_botapi.left_chats == [GROUP]


@pytest.mark.parametrize(
    "status", ["creator", "administrator", "member", "restricted", "left", "kicked"]
)
def test_every_member_status_parses_in_aiogram(status: MemberStatus) -> None:
    update = Update.model_validate(
        {
            "update_id": 1,
            "my_chat_member": {
                "chat": {"id": GROUP, "type": "supergroup", "title": "G"},
                "from": {"id": 7, "is_bot": False, "first_name": "A"},
                "date": 0,
                "old_chat_member": member_json(
                    {"id": 1, "is_bot": True, "first_name": "B"}, "left"
                ),
                "new_chat_member": member_json(
                    {"id": 1, "is_bot": True, "first_name": "B"}, status
                ),
            },
        }
    )
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == status


async def test_migration_service_messages(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    fake_botapi.push_migration(-555, GROUP, from_id=7)
    old, new = (u.message for u in await bot.get_updates())
    assert old is not None
    assert new is not None
    assert (old.chat.id, old.migrate_to_chat_id) == (-555, GROUP)
    assert (new.chat.id, new.migrate_from_chat_id) == (GROUP, -555)


# --- updates -----------------------------------------------------------------------------


async def test_get_updates_returns_pushed_and_honours_offset(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    first = fake_botapi.push_message(USER, "/start")
    fake_botapi.push_message(GROUP, "/settings", anonymous_admin=True)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first["update_id"], first["update_id"] + 1]
    start, settings = (u.message for u in updates)
    assert start is not None
    assert settings is not None
    assert start.text == "/start"
    assert start.from_user is not None
    assert start.from_user.id == USER
    assert start.chat.type == "private"
    assert settings.chat.type == "supergroup"
    assert settings.from_user is not None
    assert settings.from_user.id == ANONYMOUS_ADMIN_ID
    assert settings.sender_chat is not None
    assert settings.sender_chat.id == settings.chat.id == GROUP

    # Unconfirmed updates come again; an offset confirms them.
    assert len(await bot.get_updates()) == 2
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == []
    assert fake_botapi.updates.pending == []

    # A long poll returns as soon as an update arrives.
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    fake_botapi.push_my_chat_member(USER, USER, "kicked")
    started = time.monotonic()
    [blocked] = await poll
    assert time.monotonic() - started < 1.0
    assert blocked.my_chat_member is not None
    assert isinstance(blocked.my_chat_member.new_chat_member, ChatMemberBanned)


async def test_second_poller_gets_the_first_one_a_conflict(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    newer = asyncio.create_task(bot.get_updates())
    with pytest.raises(TelegramConflictError):
        await older
    assert await newer == []


async def test_callback_query_answered_once(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    sent = await bot.send_message(USER, "pick")
    update = fake_botapi.push_callback(USER, USER, "mute:1", message_id=sent.message_id)
    [received] = await bot.get_updates()
    assert received.callback_query is not None
    assert received.callback_query.data == "mute:1"
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id, text="Muted")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    assert fake_botapi.answered_callbacks[0]["text"] == "Muted"


async def test_dispatcher_polling_answers_start(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot()
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Welcome to <b>briefbot</b>", parse_mode="HTML")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    fake_botapi.push_message(USER, "/start")
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )
    try:
        await _wait_for(lambda: fake_botapi.messages(USER))
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 5)
    [reply] = fake_botapi.messages(USER)
    assert reply.visible == "Welcome to briefbot"
    assert reply.parse_mode == "HTML"


async def test_bot_defaults_are_recorded(fake_botapi: FakeBotAPI) -> None:
    bot = fake_botapi.make_bot(
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True)
    )
    await bot.send_message(USER, "<b>digest</b>")
    [recorded] = fake_botapi.messages(USER)
    assert recorded.parse_mode == "HTML"
    assert recorded.visible == "digest"
    assert recorded.link_preview_options is not None
    assert recorded.link_preview_options["is_disabled"] is True
