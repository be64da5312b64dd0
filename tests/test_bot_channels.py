"""Staff channel commands end to end: getChat/getChatMember checks, chat rows, audit rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import chats
from bot.db.tables import Chat
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi_methods import Params, bad_request
from tests.support.staffkit import OUTSIDER, STAFF, StaffKit, snapshot, staff_bot

CHANNEL = -1001111111111
MEMBER_ONLY = -1002222222222
GROUP = -1003333333333


class ChannelAPI(FakeBotAPI):
    """The fake Bot API plus getChat for a few known chats (the shared fake has none)."""

    known: ClassVar[dict[str, tuple[int, str, str]]] = {
        "@briefchan": (CHANNEL, "channel", "Brief <Channel>"),
        str(CHANNEL): (CHANNEL, "channel", "Brief <Channel>"),
        str(MEMBER_ONLY): (MEMBER_ONLY, "channel", "Not ours"),
        "@diaspora_group": (GROUP, "supergroup", "Diaspora"),
    }

    def handlers(self) -> dict[str, Callable[[Params], Awaitable[Any]]]:
        """The shared handlers and getChat."""
        return {**super().handlers(), "getchat": self.get_chat}

    async def get_chat(self, params: Params) -> dict[str, Any]:
        """getChat: a ChatFullInfo for a known chat, else 400 chat not found."""
        found = self.known.get(str(params.values.get("chat_id")))
        if found is None:
            raise bad_request("chat not found")
        chat_id, kind, title = found
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            "id": chat_id,
            "type": kind,
            "title": title,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }


@pytest.fixture
async def kit(engine: AsyncEngine) -> AsyncIterator[StaffKit]:
    async with ChannelAPI() as server, staff_bot(server, engine) as running:
        bot_id = int(server.token.split(":")[0])
        server.set_member(CHANNEL, bot_id, "administrator")
        server.set_member(MEMBER_ONLY, bot_id, "member")
        yield running


async def _channel(kit: StaffKit, chat_id: int = CHANNEL) -> tuple[Chat | None, list[str]]:
    async with kit.database.read() as session:
        row = await chats.get_chat(session=session, chat_id=chat_id)
        topics = await chats.chat_topics(session=session, chat_pk=row.id) if row and row.id else []
    return row, topics


async def test_channel_add_checks_the_bot_is_admin_and_stores_a_digest_channel(
    kit: StaffKit,
) -> None:
    added = await kit.send(STAFF, "/channel_add @briefchan be")
    assert "Channel “Brief <Channel>” registered" in added.visible
    assert f"{CHANNEL}: weekly digest, mon 09:00 UTC; be; all topics" in added.visible
    row, _ = await _channel(kit)
    assert row is not None
    assert (row.kind, row.alert_mode, row.digest_frequency, row.language, row.follow_all) == (
        "channel",
        "digest",
        "weekly",
        "be",
        True,
    )
    assert row.next_digest_at is not None
    [entry] = await kit.audit("channel.add")
    assert entry.target == f"channel:{CHANNEL}"
    assert entry.before is None
    assert (snapshot(entry.after) or {})["alert_mode"] == "digest"

    assert "already registered" in (await kit.send(STAFF, f"/channel_add {CHANNEL}")).visible
    assert "not an administrator" in (await kit.send(STAFF, f"/channel_add {MEMBER_ONLY}")).visible
    assert (
        "is a supergroup, not a channel"
        in (await kit.send(STAFF, "/channel_add @diaspora_group")).visible
    )
    assert "cannot see that channel" in (await kit.send(STAFF, "/channel_add @nobody_here")).visible
    assert "is not a channel" in (await kit.send(STAFF, "/channel_add 12345")).visible
    assert await kit.count(Chat) == 1
    assert len(await kit.audit()) == 1


async def test_channel_topics_digest_and_remove_are_audited(kit: StaffKit) -> None:
    await kit.send(STAFF, f"/channel_add {CHANNEL}")
    topics = await kit.send(STAFF, f"/channel_topics {CHANNEL} sanctions")
    assert "Saved." in topics.visible
    assert "sanctions" in topics.visible
    row, followed = await _channel(kit)
    assert row is not None
    assert row.follow_all is False
    assert followed == ["sanctions"]
    assert "Unknown: nope" in (await kit.send(STAFF, f"/channel_topics {CHANNEL} nope")).visible
    await kit.send(STAFF, f"/channel_topics {CHANNEL} all")
    row, followed = await _channel(kit)
    assert row is not None
    assert row.follow_all is True
    assert followed == []

    daily = await kit.send(STAFF, f"/channel_digest {CHANNEL} daily 08:30")
    assert "daily digest, 08:30 UTC" in daily.visible
    weekly = await kit.send(STAFF, f"/channel_digest {CHANNEL} weekly fri 18:00")
    assert "weekly digest, fri 18:00 UTC" in weekly.visible
    row, _ = await _channel(kit)
    assert row is not None
    assert (row.digest_weekday, row.digest_minute) == (4, 18 * 60)
    assert "Usage" in (await kit.send(STAFF, f"/channel_digest {CHANNEL} hourly")).visible

    assert "removed" in (await kit.send(STAFF, f"/channel_remove {CHANNEL}")).visible
    assert await kit.count(Chat) == 0
    assert (
        "not a registered channel" in (await kit.send(STAFF, f"/channel_remove {CHANNEL}")).visible
    )
    actions = [e.action for e in await kit.audit()]
    assert actions == [
        "channel.add",
        "channel.topics",
        "channel.topics",
        "channel.digest",
        "channel.digest",
        "channel.remove",
    ]
    [first_topics, _all] = await kit.audit("channel.topics")
    assert (snapshot(first_topics.before) or {})["follow_all"] is True
    assert (snapshot(first_topics.after) or {})["topics"] == ["sanctions"]
    [removal] = await kit.audit("channel.remove")
    assert removal.after is None
    assert (snapshot(removal.before) or {})["chat_id"] == CHANNEL


async def test_channel_commands_from_outsiders_are_unknown_and_touch_no_api(
    kit: StaffKit,
) -> None:
    unknown = (await kit.send(OUTSIDER, "/no_such_command")).visible
    calls = len(kit.server.calls("getChat")) + len(kit.server.calls("getChatMember"))
    for text in (f"/channel_add {CHANNEL}", "/channels", f"/channel_remove {CHANNEL}"):
        assert (await kit.send(OUTSIDER, text)).visible == unknown
    assert len(kit.server.calls("getChat")) + len(kit.server.calls("getChatMember")) == calls
    assert await kit.count(Chat) == 0
    # A channel registered by staff is listed for staff.
    await kit.send(STAFF, f"/channel_add {CHANNEL}")
    assert str(CHANNEL) in (await kit.send(STAFF, "/channels")).visible
