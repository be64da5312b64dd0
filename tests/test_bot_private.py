"""Private chats end to end: /start's guided set-up, typed settings, wrong input, /now, /recent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.tables import Chat
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi import fake_botapi as fake_botapi  # noqa: PLC0414
from tests.support.botchat import (
    TIMEZONE,
    Chatting,
    add_story,
    button_texts,
    catalog,
    chatting,
)

USER = 4242


async def _chat_row(chat: Chatting, chat_id: int = USER) -> Chat:
    row = await chat.row(chat_id)
    assert row is not None
    return row


async def test_start_guides_setup_to_the_end(fake_botapi: FakeBotAPI, engine: AsyncEngine) -> None:
    async with chatting(fake_botapi, engine) as chat:
        intro = await chat.send(USER, "/start")
        assert "Belarus and the US: Diplomacy and pragmatics" in intro.visible
        assert "OST Research Centre" in intro.visible
        assert "2022" in intro.visible
        assert button_texts(intro) == ["English", "Беларуская", "Русский"]
        assert await chat.row(USER) is None, "/start alone stores nothing"

        screen = await chat.press(USER, intro, "Беларуская")
        assert "Крок 1 з 4" in screen.visible
        row = await _chat_row(chat)
        assert (row.language, row.kind, row.alert_mode, row.follow_all) == (
            "be",
            "private",
            "urgent",
            True,
        )
        assert all(text.startswith("✓") for text in button_texts(screen)[:-1])

        await chat.press(USER, screen, "Усе тэмы")  # all -> none
        assert not any(text.startswith("✓") for text in button_texts(screen))
        await chat.press(USER, screen, "Санкцыі")
        await chat.press(USER, screen, "R3:")
        assert await chat.topics(USER) == ["r3-transnational-repression", "sanctions"]

        await chat.press(USER, screen, "Гатова")
        assert "Крок 2 з 4" in screen.visible
        await chat.press(USER, screen, "Толькі дайджэст")
        assert "Крок 3 з 4" in screen.visible
        await chat.press(USER, screen, "Штотыдзень")
        await chat.press(USER, screen, "Пт")
        await chat.press(USER, screen, "18:00")
        assert "Крок 4 з 4" in screen.visible
        await chat.press(USER, screen, "Europe/Vilnius")

        assert "Гатова. Вашы налады:" in screen.visible
        assert "штотыдзень у пятніцу а 18:00" in screen.visible
        assert screen.reply_markup is None
        row = await _chat_row(chat)
        assert (row.alert_mode, row.digest_frequency, row.digest_weekday) == ("digest", "weekly", 4)
        assert (row.digest_minute, row.timezone, row.follow_all) == (
            18 * 60,
            "Europe/Vilnius",
            False,
        )
        assert row.next_digest_at is not None
        local = row.next_digest_at.astimezone(ZoneInfo("Europe/Vilnius"))
        assert (local.weekday(), local.hour, local.minute) == (4, 18, 0)
        assert row.next_digest_at > datetime.now(UTC)


async def test_done_needs_a_topic_and_daily_skips_the_weekday(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        intro = await chat.send(USER, "/start")
        screen = await chat.press(USER, intro, "English")
        await chat.press(USER, screen, "All topics")
        chat.tap(USER, screen, "top:done:-1")
        refusal = await chat.answered(3)
        assert refusal["show_alert"] in {True, "true"}
        assert "at least one topic" in refusal["text"]
        assert "Step 1 of 4" in screen.visible

        await chat.press(USER, screen, "All topics")
        await chat.press(USER, screen, "Done")
        await chat.press(USER, screen, "Everything at once")
        await chat.press(USER, screen, "Daily")
        assert "At what time" in screen.visible
        await chat.press(USER, screen, "07:00")
        await chat.press(USER, screen, "UTC")
        row = await _chat_row(chat)
        assert (row.alert_mode, row.digest_frequency, row.digest_minute) == (
            "instant",
            "daily",
            420,
        )
        assert row.timezone == "UTC"
        assert row.follow_all


async def test_forged_button_data_changes_nothing(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        intro = await chat.send(USER, "/start")
        await chat.press(USER, intro, "English")
        before = await _chat_row(chat)
        forged = ["mode:loud", "tz:Mars/Base", "hour:25", "day:9", "top:t:99", "lang:de", "zz:1"]
        for n, data in enumerate(forged, start=2):
            chat.tap(USER, intro, data)
            answer = await chat.answered(n)
            assert "not valid" in answer["text"]
        after = await _chat_row(chat)
        assert after.model_dump() == before.model_dump()


async def test_first_typed_setting_creates_row_with_defaults(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        reply = await chat.send(USER, "/mode instant")
        assert reply.visible == "Alerts: everything at once"
        row = await _chat_row(chat)
        assert (row.kind, row.alert_mode, row.follow_all) == ("private", "instant", True)
        assert (row.digest_frequency, row.digest_weekday, row.digest_minute) == ("weekly", 0, 540)
        assert row.timezone == TIMEZONE
        assert row.next_digest_at is not None
        local = row.next_digest_at.astimezone(ZoneInfo(TIMEZONE))
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)


async def test_typed_commands_change_every_setting(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        reply = await chat.send(USER, "/subscribe sanctions r1")
        assert reply.visible.startswith("Following: R1:")
        assert await chat.topics(USER) == ["r1-ukraine-transition", "sanctions"]
        await chat.send(USER, "/subscribe war")
        await chat.send(USER, "/unsubscribe sanctions")
        assert await chat.topics(USER) == ["r1-ukraine-transition", "war"]
        await chat.send(USER, "/unsubscribe all")
        assert await chat.topics(USER) == []
        assert (await chat.send(USER, "/subscribe all")).visible == "Following: all topics."
        assert (await _chat_row(chat)).follow_all

        reply = await chat.send(USER, "/digest weekly sun 20:30")
        assert reply.visible == "Digest: weekly on Sunday at 20:30 (Europe/Minsk)."
        reply = await chat.send(USER, "/digest daily 07:05")
        assert reply.visible == "Digest: daily at 07:05 (Europe/Minsk)."
        reply = await chat.send(USER, "/tz america/new_york")
        assert reply.visible.startswith("Time zone: America/New_York (local time now ")
        row = await _chat_row(chat)
        assert row.next_digest_at is not None
        local = row.next_digest_at.astimezone(ZoneInfo("America/New_York"))
        assert (local.hour, local.minute) == (7, 5)
        assert (await chat.send(USER, "/digest off")).visible == "Digest: off (America/New_York)."
        assert (await _chat_row(chat)).next_digest_at is None
        await chat.send(USER, "/digest weekly пятніца")
        assert (await _chat_row(chat)).digest_weekday == 4

        assert (await chat.send(USER, "/mode INSTANT")).visible == "Alerts: everything at once"
        rule = "(Hrodna OR Гродна) NEAR/5 court*"
        reply = await chat.send(USER, f"/keywords {rule}")
        assert reply.visible == f"Personal keywords saved: {rule}"
        assert (await _chat_row(chat)).keywords == rule
        assert (await chat.send(USER, "/pause")).visible.startswith("Paused")
        assert (await _chat_row(chat)).paused
        settings_text = (await chat.send(USER, "/settings")).visible
        for expected in ("Language: English", "Alerts: everything at once", rule, "paused"):
            assert expected in settings_text
        assert (await chat.send(USER, "/resume")).visible.startswith("Resumed")
        assert (await chat.send(USER, "/keywords off")).visible == "Personal keywords cleared."
        row = await _chat_row(chat)
        assert (row.paused, row.keywords, row.next_digest_at is not None) == (False, None, True)


WRONG_INPUT = [
    ("/subscribe bogus", "Unknown topic “bogus”. Valid topics: r1-ukraine-transition,"),
    ("/unsubscribe war nope", "Unknown topic “nope”."),
    ("/mode loud", "Unknown alert mode “loud”. Use one of: instant, urgent, digest."),
    ("/digest hourly", "Unknown digest frequency “hourly”. Use one of: daily, weekly, off."),
    ("/digest weekly funday", "Unknown weekday “funday”. Use mon, tue,"),
    ("/digest daily 25:00", "Bad time “25:00”: write HH:MM between 00:00 and 23:59"),
    ("/digest daily mon", "A daily digest takes only a time (HH:MM), not “mon”."),
    ("/digest off 09:00", "“/digest off” takes nothing after it, not “09:00”."),
    ("/tz Mars/Base", "Unknown time zone “Mars/Base”. Write an IANA name"),
    ("/tz ../../etc/passwd", "Unknown time zone “../../etc/passwd”."),
    ("/lang de", "Unknown language “de”. Use one of: en, be, ru."),
    ("/recent 50", "Bad number “50”: write a whole number from 1 to 20."),
    ("/recent many", "Bad number “many”"),
]


async def test_wrong_input_names_the_argument_and_changes_nothing(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        for command, expected in WRONG_INPUT:
            reply = await chat.send(USER, command)
            assert expected in reply.visible, command
            assert "\n" not in reply.visible, command
        assert await chat.row(USER) is None


async def test_bad_keyword_rule_points_at_the_problem(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        await chat.send(USER, "/keywords Hrodna")
        reply = await chat.send(USER, "/keywords (Hrodna OR court")
        first, pointer_line, caret = reply.visible.split("\n")
        assert first.startswith("That rule has a problem:")
        assert pointer_line == "(Hrodna OR court"
        assert caret.strip() == "^"
        assert (await _chat_row(chat)).keywords == "Hrodna", "the old rule is kept"


async def test_unknown_commands_and_free_text_point_to_help(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        assert "/help" in (await chat.send(USER, "/frobnicate")).visible
        assert "only understand commands" in (await chat.send(USER, "hello there")).visible
        help_text = (await chat.send(USER, "/help")).visible
        for command in ("/start", "/subscribe", "/digest", "/keywords", "/recent", "/stop"):
            assert command in help_text
        assert await chat.row(USER) is None


async def test_about_lists_recommendations_and_data_kept(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        await chat.send(USER, "/lang ru")
        about = (await chat.send(USER, "/about")).visible
        statements = {t.recommendation: t.statement for t in catalog().topics if t.statement}
        for code in ("R1", "R2", "R3"):
            statement = statements[code]
            assert statement is not None
            assert f"{code}: {statement.ru}" in about
        assert "идентификатор и тип этого чата" in about
        assert "/stop" in about


async def test_now_and_recent_show_the_chats_topics(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    now = datetime.now(UTC)
    async with chatting(fake_botapi, engine) as chat:
        for n in range(6):
            topic = "sanctions" if n % 2 == 0 else "war"
            seen = now - timedelta(hours=6 - n)
            await add_story(chat.database, n, f"Story {n} on {topic}", [topic], seen)
        await add_story(chat.database, 99, "Old story", ["sanctions"], now - timedelta(days=20))

        digest = (await chat.send(USER, "/now")).visible
        assert "Weekly digest" in digest
        assert all(f"Story {n} on" in digest for n in range(6))
        assert "Old story" not in digest

        await chat.send(USER, "/subscribe sanctions")
        recent = (await chat.send(USER, "/recent 2")).visible
        assert recent.startswith("Latest matched stories, newest first: 2")
        assert recent.index("Story 4") < recent.index("Story 2")
        assert "Story 0" not in recent
        assert "war" not in recent
        recent = (await chat.send(USER, "/recent")).visible
        assert recent.startswith("Latest matched stories, newest first: 4")
        assert "Old story" in recent


async def test_now_with_nothing_matched_says_so(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        reply = await chat.send(USER, "/now")
        assert reply.visible.startswith("Nothing new matched your topics between")
        assert (await chat.send(USER, "/recent")).visible == (
            "No matched stories for your topics yet."
        )
        assert await chat.row(USER) is None, "looking stores nothing"
