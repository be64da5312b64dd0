"""Who may run staff commands, and what /stats may show (F48, F51, G56), end to end."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import chats
from bot.db.tables import Item, ItemTopic
from bot.telegram.staffauth import REFUSALS
from tests.fakes.botapi import FakeBotAPI
from tests.support.staffkit import (
    OUTSIDER,
    STAFF,
    StaffKit,
    staff_bot,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
async def kit(fake_botapi: FakeBotAPI, engine: AsyncEngine) -> AsyncIterator[StaffKit]:
    async with staff_bot(fake_botapi, engine) as running:
        yield running


STAFF_ATTEMPTS = [
    "/feeds",
    "/feed_add https://new.example/rss",
    "/feed_pause yaml-feed",
    "/feed_remove yaml-feed",
    "/rule_add sanctions Belavia",
    "/rule_reset sanctions",
    "/stats",
    "/stats subscribers sanctions",
    "/audit",
    "/poll_now",
    "/channel_add @somechannel",
    "/staff",
]


async def test_non_staff_get_the_unknown_command_answer_and_nothing_changes(
    kit: StaffKit,
) -> None:
    unknown = (await kit.send(OUTSIDER, "/no_such_command")).visible
    before, refusals = await kit.state(), REFUSALS.total
    for text in STAFF_ATTEMPTS:
        answer = await kit.send(OUTSIDER, text)
        assert answer.visible == unknown, text
        assert "yaml-feed" not in answer.visible
    assert await kit.state() == before
    assert REFUSALS.total == refusals + len(STAFF_ATTEMPTS)
    # A staff id forwarded through a channel or an anonymous sender is no staff member.
    assert (await kit.send(OUTSIDER, "/feeds", from_id=STAFF)).visible == unknown


async def test_staff_commands_in_a_group_do_nothing(kit: StaffKit) -> None:
    group = -1009876543210
    unknown = await kit.silent(group, "/no_such_command", from_id=STAFF)
    before, refusals = await kit.state(), REFUSALS.total
    attempts = ("/feeds", "/feed_pause yaml-feed", "/stats", "/rule_reset sanctions")
    for text in attempts:
        assert await kit.silent(group, text, from_id=STAFF) == unknown == []
    assert REFUSALS.total == refusals + len(attempts)  # seen, counted, and answered as unknown
    assert await kit.state() == before
    assert kit.server.messages(STAFF) == []


async def test_stats_shows_counts_and_never_a_chat_id(kit: StaffKit) -> None:
    now = datetime.now(UTC)
    ids = [918273645, 192837465, -1005647382910]
    async with kit.database.write() as session:
        await chats.add_chat(session=session, chat_id=ids[0], kind="private", now=now)
        await chats.add_chat(
            session=session,
            chat_id=ids[1],
            kind="private",
            now=now,
            language="be",
            alert_mode="instant",
        )
        await chats.add_chat(session=session, chat_id=ids[2], kind="supergroup", now=now)
        item = Item(
            feed_id="yaml-feed",
            key="k",
            title="EU sanctions",
            summary="",
            published_at=now,
            first_seen_at=now - timedelta(days=8),
            language="en",
            content_hash="h",
        )
        session.add(item)
        await session.flush()
        assert item.id is not None
        session.add(ItemTopic(item_id=item.id, topic_id="sanctions"))
    pages = await kit.send_expecting(STAFF, "/stats", 2)
    shown = "\n".join(p.visible for p in pages)
    assert "Subscribers: 3 chats, 0 paused" in shown
    assert "by alert mode: urgent 2, instant 1" in shown
    assert "by language: en 2, be 1" in shown
    assert "by chat kind: private 2, supergroup 1" in shown
    assert "Items per week, newest first: 0 / 1 / 0 / 0" in shown
    assert "sanctions" in shown
    for chat_id in ids:
        assert str(abs(chat_id)) not in shown
    refused = await kit.send(STAFF, "/stats subscribers sanctions")
    assert "counts only" in refused.visible
    for chat_id in ids:
        assert str(abs(chat_id)) not in refused.visible


STAFF_MODULES = [
    "bot/telegram/staff_views.py",
    "bot/telegram/staff_texts.py",
    "bot/telegram/routers/staff.py",
    "bot/telegram/routers/staff_rules.py",
    "bot/telegram/routers/channels.py",
]


def _msgids() -> list[str]:
    found: list[str] = []
    for path in STAFF_MODULES:
        for node in ast.walk(ast.parse((REPO / path).read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"_", "N_"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append(node.args[0].value)
    return found


def test_every_staff_msgid_has_belarusian_and_russian_with_the_same_fields_and_tags() -> None:
    translations = json.loads((REPO / "tests/data/staff_translations.json").read_text("utf-8"))
    msgids = _msgids()
    assert msgids, "no msgids found"
    assert set(msgids) == set(translations)
    fields = re.compile(r"\{\w+\}|</?\w+>")
    for msgid in msgids:
        for language in ("be", "ru"):
            text = translations[msgid][language]
            assert text, (msgid, language)
            assert text != msgid, (msgid, language)
            assert sorted(fields.findall(text)) == sorted(fields.findall(msgid)), (msgid, language)
            assert text.count("|") == msgid.count("|"), (msgid, language)
