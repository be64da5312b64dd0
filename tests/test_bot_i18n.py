"""Every message under bot/telegram/ is translated; every command answers in the chat's language."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import LANGUAGES, LOCALES_DIR, translator
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi import fake_botapi as fake_botapi  # noqa: PLC0414
from tests.fakes.botapi_updates import message_json
from tests.support.botchat import REPO, chatting

USER = 4343
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?\w+[^>]*>")


def _telegram_msgids() -> dict[str, str]:
    """msgid -> the first file that uses it: every _() under bot/telegram/, and the staff
    notices (the second argument of each Notice(...) in bot/delivery/)."""
    found: dict[str, str] = {}
    sources: list[tuple[Path, dict[str, Any]]] = [
        (REPO / "bot" / "telegram", {"_": None, "N_": None}),
        (REPO / "bot" / "delivery", {"Notice": (2,)}),
    ]
    for folder, keywords in sources:
        for filename, _lineno, message, _comments, _context in extract_from_dir(
            folder, method_map=[("**.py", "python")], keywords=keywords
        ):
            assert isinstance(message, str), f"plural forms are not used: {message!r}"
            found.setdefault(message, f"{folder.name}/{filename}")
    return found


def _catalog(language: str) -> dict[str, str]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "briefbot.po"
    with Path(path).open("rb") as po_file:
        return {str(m.id): str(m.string) for m in read_po(po_file) if m.id}


def test_every_telegram_msgid_has_belarusian_and_russian() -> None:
    msgids = _telegram_msgids()
    assert len(msgids) > 100
    english = _catalog("en")
    for language in ("be", "ru"):
        translations = _catalog(language)
        missing = [f"{where}: {m!r}" for m, where in msgids.items() if not translations.get(m)]
        assert not missing, f"{language}: no translation for\n" + "\n".join(missing)
    assert not [m for m in msgids if m not in english], "every msgid is listed in en too"


@pytest.mark.parametrize("language", ["be", "ru"])
def test_translations_keep_placeholders_and_tags(language: str) -> None:
    for msgid, string in _catalog(language).items():
        if not string:
            continue
        assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(msgid)), msgid
        assert sorted(TAG.findall(string)) == sorted(TAG.findall(msgid)), msgid


def _expect(language: str, msgid: str) -> str:
    """The translated text up to its first placeholder (a translation, not the English)."""
    text = translator(language)(msgid)
    if language != "en":
        assert text != msgid, f"{language} lacks {msgid!r}"
    return text.split("{", 1)[0]


# Each command with a message its answer must contain, in the chat's language. /stop comes
# last: afterwards the chat has no language of its own.
CONVERSATION = [
    ("/start", "First, choose your language:"),
    ("/help", "guided set-up"),
    ("/about", "/stop deletes all of it at once."),
    ("/subscribe sanctions", "Following: {topics}."),
    ("/unsubscribe sanctions", "none (only your personal keywords, if any)"),
    ("/subscribe all", "all topics"),
    ("/mode urgent", "urgent items at once, the rest in the digest"),
    ("/digest weekly fri 18:00", "weekly on {day} at {time}"),
    ("/digest daily", "daily at {time}"),
    ("/digest off", "off"),
    ("/tz Europe/Vilnius", "Time zone: {zone} (local time now {time})."),
    ("/keywords Hrodna", "Personal keywords saved:"),
    ("/keywords (Hrodna", "That rule has a problem: {problem}."),
    ("/keywords off", "Personal keywords cleared."),
    ("/settings", "Personal keywords: none"),
    ("/now", "Nothing new matched your topics between {start} and {end}."),
    ("/recent 3", "No matched stories for your topics yet."),
    ("/recent 99", "Bad number “{value}”: write a whole number from 1 to {most}."),
    ("/mode loud", "Unknown alert mode “{value}”. Use one of: {accepted}."),
    (
        "/tz Mars/Base",
        "Unknown time zone “{value}”. Write an IANA name such as Europe/Minsk, "
        "Europe/Vilnius or America/New_York.",
    ),
    ("/pause", "Paused: no alerts or digests until /resume."),
    ("/resume", "Resumed: alerts and digests are on again."),
    ("/frobnicate", "I don't know that command. /help lists what I can do."),
    ("hello", "I only understand commands. /help lists them."),
    (
        "/stop",
        "Done: briefbot keeps nothing about this chat any more (settings, topics, keywords "
        "and queued messages are deleted). /start sets it up again.",
    ),
]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_command_answers_in_the_chats_language(
    fake_botapi: FakeBotAPI, engine: AsyncEngine, language: str
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        reply = await chat.send(USER, f"/lang {language}")
        assert _expect(language, "Language: {language}") in reply.visible
        for command, msgid in CONVERSATION:
            reply = await chat.send(USER, command)
            assert _expect(language, msgid) in reply.visible, command


async def test_before_a_choice_replies_follow_telegrams_language(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        for user_id, code, language in (
            (5001, "ru-RU", "ru"),
            (5002, "be", "be"),
            (5003, "de", "en"),
        ):
            user = {"id": user_id, "is_bot": False, "first_name": "A", "language_code": code}
            private = {"id": user_id, "type": "private", "first_name": "A"}
            message_id = fake_botapi.next_message_id(user_id)
            message = message_json(message_id, private, user, int(time.time()), "/start")
            fake_botapi.updates.push_update({"message": message})
            reply = await chat.run.reply_to(user_id)
            assert _expect(language, "First, choose your language:") in reply.visible
            assert await chat.row(user_id) is None
