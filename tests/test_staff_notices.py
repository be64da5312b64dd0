"""Staff hear once per incident when a feed starts failing or goes quiet beyond its rhythm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat, Feed, Item, OutboxRow
from bot.delivery import outbox
from bot.delivery.sender import Sender
from bot.delivery.staff_notices import check_feeds, report_long_pause
from bot.delivery.transport import Failure, SendError, Sent
from tests.fakes.botapi_html import parse_html

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
STAFF = (111, 222)


async def add_feed(
    database: Database, feed_id: str, *, gap: timedelta, last: datetime, failing: bool = False
) -> None:
    async with database.write() as session:
        session.add(
            Feed(
                id=feed_id,
                url=f"https://{feed_id}.example/rss",
                title=feed_id,
                publisher="ngo",
                language="en",
                scope="belarus",
                interval_seconds=900,
                created_at=NOW - gap * 30,
                last_new_item_at=last,
                failing_since=NOW - timedelta(hours=3) if failing else None,
                last_error_reason="http_503" if failing else None,
            )
        )
        await session.flush()
        for n in range(10):
            seen = last - gap * n
            session.add(
                Item(
                    feed_id=feed_id,
                    key=f"{feed_id}{n}",
                    title="t",
                    summary="",
                    published_at=seen,
                    first_seen_at=seen,
                    language="en",
                    content_hash=f"{feed_id}{n}",
                )
            )


async def notices(database: Database) -> list[tuple[int, str, str]]:
    async with database.read() as session:
        rows = await session.execute(
            select(col(Chat.chat_id), col(OutboxRow.ref), col(OutboxRow.body))
            .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
            .where(col(OutboxRow.kind) == "staff")
            .order_by(col(Chat.chat_id), col(OutboxRow.ref))
        )
        return [(c, r, b) for c, r, b in rows]


async def test_failing_and_quiet_feeds_are_reported_once_to_each_staff_member(
    engine: AsyncEngine,
) -> None:
    database = Database.on(engine)
    await add_feed(
        database, "broken", gap=timedelta(hours=6), last=NOW - timedelta(hours=5), failing=True
    )
    await add_feed(database, "quiet", gap=timedelta(hours=6), last=NOW - timedelta(days=3))
    await add_feed(database, "weekly", gap=timedelta(days=7), last=NOW - timedelta(days=3))
    await add_feed(database, "busy", gap=timedelta(hours=1), last=NOW - timedelta(hours=2))
    assert await check_feeds(database=database, staff_ids=STAFF, now=NOW) == 4
    assert await check_feeds(database=database, staff_ids=STAFF, now=NOW + timedelta(hours=1)) == 0
    found = await notices(database)
    assert [(chat, ref.split(":")[0] + ":" + ref.split(":")[1]) for chat, ref, _ in found] == [
        (111, "failing:broken"),
        (111, "silent:quiet"),
        (222, "failing:broken"),
        (222, "silent:quiet"),
    ]
    for _, _, body in found:
        parse_html(body)
    assert "http_503" in found[0][2]
    assert "3 days" in found[1][2]
    async with database.read() as session:
        staff = (await session.scalars(select(Chat).where(col(Chat.chat_id) == 111))).one()
    assert (staff.digest_frequency, staff.alert_mode, staff.follow_all) == ("off", "digest", False)


async def test_no_staff_configured_means_no_notices(engine: AsyncEngine) -> None:
    database = Database.on(engine)
    await add_feed(database, "broken", gap=timedelta(hours=6), last=NOW, failing=True)
    assert await check_feeds(database=database, staff_ids=(), now=NOW) == 0
    assert await notices(database) == []


class FloodedTransport:
    """Every send answers 429 with a long retry_after, as in a flood-control storm."""

    async def send_text(self, chat_id: int, text: str, parse_mode: str | None) -> Sent:
        raise SendError(Failure.RETRY_AFTER, "Too Many Requests", retry_after=90)

    async def send_photo(
        self, chat_id: int, photo: bytes | str, caption: str, parse_mode: str | None
    ) -> Sent:
        raise SendError(Failure.RETRY_AFTER, "Too Many Requests", retry_after=90)


async def test_a_long_flood_pause_is_reported_to_staff_once(engine: AsyncEngine) -> None:
    database = Database.on(engine)
    async with database.write() as session:
        for chat_id in (1, 2, 3, 4):
            chat = await chats.add_chat(session=session, chat_id=chat_id, kind="private", now=NOW)
            await outbox.enqueue(
                session=session,
                rows=[
                    outbox.outbox_row(
                        chat_pk=chat.id or 0, kind="alert", ref="item:1", body="x", now=NOW
                    )
                ],
            )
    reported: list[float] = []

    async def long_pause(seconds: float) -> None:
        reported.append(seconds)
        await report_long_pause(database=database, staff_ids=STAFF, seconds=seconds, now=NOW)

    sender = Sender(database=database, transport=FloodedTransport(), on_long_pause=long_pause)
    await sender.drain(within_seconds=3)
    assert len(reported) == 1
    assert reported[0] >= 60
    found = await notices(database)
    assert [(chat, ref.split(":")[0]) for chat, ref, _ in found] == [(111, "pause"), (222, "pause")]
    assert "90 s" in found[0][2] or "89 s" in found[0][2]
