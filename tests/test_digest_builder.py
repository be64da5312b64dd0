"""Due digests are composed into the outbox once per period, and each schedule moves on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.config.catalog import Catalog, load_catalog
from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chart, Chat, OutboxRow
from bot.delivery import outbox as outbox_module
from bot.delivery.digests import DigestBuilder, first_digest_at
from bot.delivery.sender import Sender
from bot.delivery.telegram import TelegramTransport
from tests.fakes.botapi import FakeBotAPI, RateLimits
from tests.fakes.botapi_html import parse_html
from tests.support.botchat import add_story as add_item
from tests.test_cli import REPO

# Monday 2026-11-23 09:00 in Minsk (UTC+3) is 06:00 UTC.
MONDAY_9_MINSK = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO / "feeds.yaml")


async def add_chat(database: Database, chat_id: int, due: datetime, **settings: object) -> None:
    async with database.write() as session:
        chat = await chats.add_chat(
            session=session,
            chat_id=chat_id,
            kind="private",
            now=due - timedelta(days=30),
            next_digest_at=due,
            **settings,
        )
        if settings.get("follow_all") is False:
            await chats.set_topics(session=session, chat_pk=chat.id or 0, topics=["sanctions"])


async def outbox(database: Database) -> list[tuple[int, str, str, int, str]]:
    async with database.read() as session:
        rows = await session.execute(
            select(
                col(Chat.chat_id),
                col(OutboxRow.kind),
                col(OutboxRow.ref),
                col(OutboxRow.part),
                col(OutboxRow.body),
            )
            .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
            .order_by(col(Chat.chat_id), col(OutboxRow.id))
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_a_due_weekly_digest_is_queued_once_with_its_chart(
    engine: AsyncEngine, catalog: Catalog
) -> None:
    database = Database.on(engine)
    await add_item(
        database,
        1,
        "EU extends sanctions on Belarus",
        ["sanctions"],
        MONDAY_9_MINSK - timedelta(days=2),
    )
    await add_item(
        database,
        2,
        "Activist detained in Vilnius at Minsk's request",
        ["r3-transnational-repression"],
        MONDAY_9_MINSK - timedelta(days=1),
        score=2.0,
    )
    await add_item(
        database, 3, "Too old for this week", ["sanctions"], MONDAY_9_MINSK - timedelta(days=8)
    )
    await add_chat(
        database,
        1,
        MONDAY_9_MINSK,
        timezone="Europe/Minsk",
        digest_frequency="weekly",
        digest_weekday=0,
    )
    builder = DigestBuilder(catalog.topics)
    assert await builder.build_due(database=database, now=MONDAY_9_MINSK) == 1
    rows = await outbox(database)
    kinds = [(kind, ref, part) for _, kind, ref, part, _ in rows]
    assert kinds == [("digest", "week:2026-W48", 0), ("chart", "week:2026-W48", 0)]
    digest = rows[0][4]
    parse_html(digest)
    assert "EU extends sanctions" in digest
    assert "Activist detained" in digest
    assert "Too old" not in digest
    assert digest.index("Activist detained") < digest.index("EU extends")  # R3 before themes
    async with database.read() as session:
        [chart] = (await session.scalars(select(Chart))).all()
        chat = (await session.scalars(select(Chat))).one()
    assert chart.png.startswith(b"\x89PNG")
    # The next one: Monday 30 Nov 09:00 Minsk.
    assert chat.next_digest_at == MONDAY_9_MINSK + timedelta(days=7)
    assert chat.last_digest_end == MONDAY_9_MINSK
    # Building again at the same moment (a restart) queues nothing.
    assert await builder.build_due(database=database, now=MONDAY_9_MINSK) == 0
    assert len(await outbox(database)) == 2


async def test_a_digest_due_while_the_process_was_down_is_sent_once(
    engine: AsyncEngine, catalog: Catalog
) -> None:
    """D42: down from 09:00 to 11:00 on digest day: one digest after restart, not 0, not 2."""
    database = Database.on(engine)
    await add_item(
        database,
        1,
        "EU extends sanctions on Belarus",
        ["sanctions"],
        MONDAY_9_MINSK - timedelta(days=2),
    )
    await add_chat(database, 1, MONDAY_9_MINSK, timezone="Europe/Minsk")
    builder = DigestBuilder(catalog.topics)
    restart = MONDAY_9_MINSK + timedelta(hours=2)
    assert await builder.build_due(database=database, now=restart) == 1
    assert await builder.build_due(database=database, now=restart + timedelta(minutes=1)) == 0
    assert [r[1] for r in await outbox(database)] == ["digest", "chart"]


async def test_weeks_of_downtime_still_give_one_digest_and_a_future_schedule(
    engine: AsyncEngine, catalog: Catalog
) -> None:
    database = Database.on(engine)
    await add_chat(database, 1, MONDAY_9_MINSK, digest_frequency="daily")
    builder = DigestBuilder(catalog.topics)
    later = MONDAY_9_MINSK + timedelta(days=20, hours=3)
    assert await builder.build_due(database=database, now=later) == 1
    async with database.read() as session:
        chat = (await session.scalars(select(Chat))).one()
    assert chat.next_digest_at is not None
    assert chat.next_digest_at > later
    assert len([r for r in await outbox(database) if r[1] == "digest"]) == 1


async def test_a_chat_gets_only_the_topics_it_follows(
    engine: AsyncEngine, catalog: Catalog
) -> None:
    database = Database.on(engine)
    seen = MONDAY_9_MINSK - timedelta(hours=3)
    await add_item(database, 1, "EU extends sanctions on Belarus", ["sanctions"], seen)
    await add_item(database, 2, "Embassy reopens in Minsk", ["diplomacy"], seen)
    await add_chat(database, 1, MONDAY_9_MINSK, follow_all=False, digest_frequency="daily")
    await add_chat(database, 2, MONDAY_9_MINSK, digest_frequency="daily")
    await DigestBuilder(catalog.topics).build_due(database=database, now=MONDAY_9_MINSK)
    bodies = {chat: body for chat, _, _, _, body in await outbox(database)}
    assert "sanctions" in bodies[1]
    assert "Embassy" not in bodies[1]
    assert "sanctions" in bodies[2]
    assert "Embassy" in bodies[2]


async def test_an_empty_period_sends_a_note_or_nothing_as_chosen(
    engine: AsyncEngine, catalog: Catalog
) -> None:
    database = Database.on(engine)
    await add_chat(database, 1, MONDAY_9_MINSK, digest_frequency="daily", empty_digest_note=True)
    await add_chat(database, 2, MONDAY_9_MINSK, digest_frequency="daily", empty_digest_note=False)
    await DigestBuilder(catalog.topics).build_due(database=database, now=MONDAY_9_MINSK)
    rows = await outbox(database)
    assert [chat for chat, *_ in rows] == [1]
    assert "Nothing new" in rows[0][4]
    async with database.read() as session:
        skipped = (await session.scalars(select(Chat).where(col(Chat.chat_id) == 2))).one()
    assert skipped.next_digest_at is not None
    assert skipped.next_digest_at > MONDAY_9_MINSK


async def test_only_chats_whose_local_time_has_come_get_a_digest(
    engine: AsyncEngine, catalog: Catalog
) -> None:
    database = Database.on(engine)
    minsk = Chat(
        chat_id=1,
        kind="private",
        timezone="Europe/Minsk",
        digest_frequency="daily",
        created_at=MONDAY_9_MINSK,
    )
    new_york = Chat(
        chat_id=2,
        kind="private",
        timezone="America/New_York",
        digest_frequency="daily",
        created_at=MONDAY_9_MINSK,
    )
    before = MONDAY_9_MINSK - timedelta(hours=1)
    for chat in (minsk, new_york):
        chat.next_digest_at = first_digest_at(chat, before)
        async with database.write() as session:
            session.add(chat)
    await DigestBuilder(catalog.topics).build_due(database=database, now=MONDAY_9_MINSK)
    assert [chat for chat, *_ in await outbox(database)] == [1]
    # 09:00 in New York on 23 Nov (EST, UTC-5) is 14:00 UTC.
    assert new_york.next_digest_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


async def test_a_digest_arrives_in_order_text_then_chart(
    engine: AsyncEngine, catalog: Catalog, fake_botapi: FakeBotAPI
) -> None:
    database = Database.on(engine)
    for n in range(60):
        await add_item(
            database,
            n,
            f"Sanctions story number {n} " + "x" * 150,
            ["sanctions"],
            MONDAY_9_MINSK - timedelta(hours=n + 1),
            score=1.0 + n / 100,
        )
    await add_chat(database, 5, MONDAY_9_MINSK, language="be")
    await DigestBuilder(catalog.topics).build_due(database=database, now=MONDAY_9_MINSK)
    fake_botapi.set_rate_limits(RateLimits.disabled())
    sender = Sender(database=database, transport=TelegramTransport(fake_botapi.make_bot()))
    await sender.drain(within_seconds=30)
    messages = fake_botapi.messages(5)
    assert len(messages) >= 3
    assert [m.method for m in messages] == ["sendMessage"] * (len(messages) - 1) + ["sendPhoto"]
    shown = "\n".join(m.visible for m in messages[:-1])
    assert all(f"number {n} " in shown for n in range(60))
    assert "Санкцыі" in shown


async def test_an_item_whose_alert_is_uncertain_is_in_the_next_digest(
    engine: AsyncEngine, catalog: Catalog
) -> None:
    """ADVERSARIAL C33: an alert that may not have arrived is never resent, but the digest
    covers every matched item of its period, so the reader still sees it."""
    database = Database.on(engine)
    await add_item(
        database,
        1,
        "EU extends sanctions on Belarus",
        ["sanctions"],
        MONDAY_9_MINSK - timedelta(hours=5),
    )
    await add_chat(database, 1, MONDAY_9_MINSK, digest_frequency="daily", alert_mode="instant")
    async with database.write() as session:
        chat = (await session.scalars(select(Chat))).one()
        await outbox_module.enqueue(
            session=session,
            rows=[
                outbox_module.outbox_row(
                    chat_pk=chat.id or 0,
                    kind="alert",
                    ref="item:1",
                    body="alert",
                    now=MONDAY_9_MINSK,
                )
            ],
        )
        row = (await session.scalars(select(OutboxRow))).one()
        await outbox_module.settle(
            session=session,
            row_id=row.id or 0,
            state="uncertain",
            now=MONDAY_9_MINSK,
            error="no answer: ServerDisconnectedError",
        )
    await DigestBuilder(catalog.topics).build_due(database=database, now=MONDAY_9_MINSK)
    digests = [body for _, kind, _, _, body in await outbox(database) if kind == "digest"]
    assert len(digests) == 1
    assert "EU extends sanctions on Belarus" in digests[0]
    async with database.read() as session:
        states = await outbox_module.count_by_state(session=session)
    assert states["uncertain"] == 1  # still counted for staff (/stats, /metrics)
