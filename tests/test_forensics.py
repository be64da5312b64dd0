"""ADVERSARIAL G54: after /stop and a checkpoint, the chat's data is gone from the SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import chats
from bot.db.engine import Database
from bot.delivery import outbox

NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
SECRET_RULE = "zzsecretkeywordzz OR qqprivatewordqq"
SECRET_TEXT = "a message body meant only for this subscriber xyzzy-4711"


def checkpoint(database_file: Path) -> None:
    """Fold the write-ahead log into the database file, as SQLite does from time to time."""
    with sqlite3.connect(database_file) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def database_bytes(database_file: Path) -> bytes:
    parts = [database_file, Path(f"{database_file}-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_forgotten_chat_leaves_no_bytes_behind(
    engine: AsyncEngine, database_url: str
) -> None:
    database = Database.on(engine)
    database_file = Path(database_url.removeprefix("sqlite:///"))
    async with database.write() as session:
        chat = await chats.add_chat(
            session=session, chat_id=424242, kind="private", now=NOW, keywords=SECRET_RULE
        )
        await outbox.enqueue(
            session=session,
            rows=[
                outbox.outbox_row(
                    chat_pk=chat.id or 0, kind="alert", ref="item:1", body=SECRET_TEXT, now=NOW
                )
            ],
        )
    checkpoint(database_file)
    assert SECRET_TEXT.encode() in database_bytes(database_file)  # the check can see it

    async with database.write() as session:
        assert await chats.delete_chat_by_telegram_id(session=session, chat_id=424242)
    checkpoint(database_file)
    stored = database_bytes(database_file)
    assert SECRET_TEXT.encode() not in stored
    assert b"zzsecretkeywordzz" not in stored
