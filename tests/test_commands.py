"""Command menus: one per scope and language, staff tools only in staff chats."""

from __future__ import annotations

from bot.telegram.commands import PRIVATE, STAFF, set_menus
from tests.fakes.botapi import FakeBotAPI


async def test_menus_are_set_per_scope_language_and_staff_chat(fake_botapi: FakeBotAPI) -> None:
    await set_menus(fake_botapi.make_bot(), staff_ids=(555,))
    menus = fake_botapi.my_commands_by_language
    english = [c["command"] for c in menus[("all_private_chats", "")]]
    assert english == [name for name, _ in PRIVATE]
    russian = {c["command"]: c["description"] for c in menus[("all_private_chats", "ru")]}
    english_text = {c["command"]: c["description"] for c in menus[("all_private_chats", "")]}
    assert russian["stop"] != english_text["stop"]  # translated
    admins = [c["command"] for c in menus[("all_chat_administrators", "be")]]
    assert "keywords" not in admins
    assert "subscribe" in admins
    staff = [c["command"] for c in menus[("chat", "")]]
    assert staff[-len(STAFF) :] == [name for name, _ in STAFF]
    assert not any(name in english for name, _ in STAFF)
