"""Privacy end to end (ADVERSARIAL G52, G53): nothing personal stored, and /stop leaves nothing."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.db.engine import Database
from bot.delivery import outbox
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi import fake_botapi as fake_botapi  # noqa: PLC0414
from tests.fakes.botapi_updates import message_json
from tests.support.botchat import Chatting, chatting

USER = 7_000_123_456
GROUP = -1_007_000_654_321
ADMIN = 7_000_999_001
FIRST_NAME, LAST_NAME, USERNAME = "Zmicier", "Kaliadnikau", "zmicier_k_1977"
LANGUAGE_CODE = "be-tarask"
FREE_TEXT = "meet me at Kastrycnickaja square tomorrow"
# Column names that would hold a person's identity or words (the chats table may not, and
# no other table may either).
PERSONAL = {"name", "first_name", "last_name", "username", "user_name", "language_code"}
PERSONAL |= {"text", "message", "message_text", "phone", "phone_number", "bio"}
CHATS_COLUMNS = {
    "id", "chat_id", "kind", "language", "timezone", "paused", "alert_mode", "follow_all",
    "digest_frequency", "digest_weekday", "digest_minute", "empty_digest_note", "keywords",
    "next_digest_at", "last_digest_end", "created_at",
}  # fmt: skip


def _push_as_person(chat: Chatting, text: str) -> None:
    """A message from a user with a real-looking name, username and language."""
    person = {
        "id": USER,
        "is_bot": False,
        "first_name": FIRST_NAME,
        "last_name": LAST_NAME,
        "username": USERNAME,
        "language_code": LANGUAGE_CODE,
    }
    private = {"id": USER, "type": "private", "first_name": FIRST_NAME, "username": USERNAME}
    message = message_json(
        chat.server.next_message_id(USER), private, person, int(time.time()), text
    )
    chat.server.updates.push_update({"message": message})


# The check reads the database file's bytes, so it needs SQLite; the schema test below
# covers PostgreSQL.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_database_file_holds_no_name_username_or_text(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with chatting(fake_botapi, engine) as chat:
        _push_as_person(chat, "/start")
        intro = await chat.run.reply_to(USER)
        await chat.press(USER, intro, "Беларуская")
        for text in ("/subscribe sanctions", "/settings", FREE_TEXT, "/frobnicate " + FREE_TEXT):
            _push_as_person(chat, text)
            await chat.run.reply_to(USER)
        row = await chat.row(USER)
        assert row is not None
        assert row.language == "be"
    database = engine.url.database
    assert database is not None
    stored = b"".join(
        path.read_bytes() for path in Path(database).parent.glob(Path(database).name + "*")
    )
    assert b"sanctions" in stored, "the settings themselves are in the files read"
    for secret in (FIRST_NAME, LAST_NAME, USERNAME, LANGUAGE_CODE, FREE_TEXT, "Kastrycnickaja"):
        assert secret.encode() not in stored, secret


async def test_schema_has_no_personal_columns(engine: AsyncEngine) -> None:
    def columns(connection: object) -> dict[str, set[str]]:
        inspector = inspect(connection)
        return {
            table: {column["name"] for column in inspector.get_columns(table)}
            for table in inspector.get_table_names()
        }

    async with engine.connect() as connection:
        schema = await connection.run_sync(columns)
    assert schema["chats"] == CHATS_COLUMNS
    for table, names in schema.items():
        assert not names & PERSONAL, (table, names & PERSONAL)


async def _references(database: Database, chat_id: int, chat_pk: int) -> dict[str, int]:
    """Rows in any table that hold this chat id (any BIGINT column) or its key (chat_pk)."""
    found: dict[str, int] = {}
    async with database.read() as session:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                wanted = chat_pk if column.name == "chat_pk" else chat_id
                if column.name != "chat_pk" and not isinstance(column.type, BigInteger):
                    continue
                query = select(func.count()).select_from(table).where(column == wanted)
                count = (await session.execute(query)).scalar_one()
                if count:
                    found[f"{table.name}.{column.name}"] = count
    return found


async def _subscribe_with_pending_messages(chat: Chatting, chat_id: int, **kwargs: object) -> int:
    await chat.send(chat_id, "/subscribe sanctions war", **kwargs)
    await chat.send(chat_id, "/keywords Hrodna", **kwargs)
    row = await chat.row(chat_id)
    assert row is not None
    assert row.id is not None
    now = datetime.now(UTC)
    async with chat.database.write() as session:
        rows = [
            outbox.outbox_row(chat_pk=row.id, kind="alert", ref=f"story:{n}", body="x", now=now)
            for n in range(3)
        ]
        await outbox.enqueue(session=session, rows=rows)
    assert await _references(chat.database, chat_id, row.id)
    return row.id


async def test_stop_leaves_no_row_about_the_chat(
    fake_botapi: FakeBotAPI, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with chatting(fake_botapi, engine) as chat:
        pk = await _subscribe_with_pending_messages(chat, USER)
        reply = await chat.send(USER, "/stop")
        assert "keeps nothing about this chat" in reply.visible
        assert await _references(chat.database, USER, pk) == {}
        # A later /start begins from a clean state.
        assert "not subscribed" in (await chat.send(USER, "/settings")).visible
        await chat.send(USER, "/mode digest")
        row = await chat.row(USER)
        assert row is not None
        assert row.follow_all
        assert row.keywords is None
    assert "forgotten" in caplog.text
    assert str(USER) not in caplog.text, "chat ids are logged only as keyed hashes"


async def test_blocking_the_bot_leaves_no_row(fake_botapi: FakeBotAPI, engine: AsyncEngine) -> None:
    async with chatting(fake_botapi, engine) as chat:
        pk = await _subscribe_with_pending_messages(chat, USER)
        fake_botapi.push_my_chat_member(USER, USER, "kicked", old_status="member")
        await chat.run.settle()
        assert await _references(chat.database, USER, pk) == {}


async def test_removed_from_group_leaves_no_row(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    fake_botapi.set_member(GROUP, ADMIN, "administrator")
    async with chatting(fake_botapi, engine) as chat:
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "member", old_status="left")
        await chat.run.reply_to(GROUP)
        pk = await _subscribe_with_pending_messages(chat, GROUP, from_id=ADMIN)
        fake_botapi.push_my_chat_member(GROUP, ADMIN, "kicked", old_status="member")
        await chat.run.settle()
        assert await _references(chat.database, GROUP, pk) == {}
