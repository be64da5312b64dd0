"""What keeps the sending process small: the SQLite page cache, malloc settings, lazy dialects."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import memory
from bot.db.engine import READ_ONLY, SQLITE_CACHE_KIB, create_engine
from bot.db.migrate import upgrade


async def test_every_pooled_sqlite_connection_gets_the_smaller_page_cache(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    readers = engine.execution_options(**{READ_ONLY: True})  # two writers would wait in turn
    try:
        async with readers.connect() as first, readers.connect() as second:
            for connection in (first, second):
                size = (await connection.execute(text("PRAGMA cache_size"))).scalar_one()
                assert size == -SQLITE_CACHE_KIB  # negative: KiB, not pages
    finally:
        await engine.dispose()
    assert SQLITE_CACHE_KIB < 2000  # smaller than SQLite's own default


@pytest.mark.skipif(
    not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"), reason="needs glibc"
)
def test_the_malloc_thresholds_are_set_on_glibc() -> None:
    assert memory.return_freed_memory() is True


def test_without_glibc_the_malloc_settings_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "confstr", lambda _name: "musl 1.2.5")
    assert memory.return_freed_memory() is False
    monkeypatch.setattr(os, "confstr", lambda _name: None)
    assert memory.return_freed_memory() is False


async def test_queueing_on_sqlite_leaves_the_postgresql_dialect_unloaded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    engine = create_engine(url)
    await upgrade(engine)  # here: Alembic loads every dialect, the sender's process does not
    await engine.dispose()
    # A fresh interpreter: the test process itself has loaded every dialect long ago.
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from datetime import UTC, datetime
        from bot.db.chats import add_chat
        from bot.db.engine import Database, create_engine
        from bot.delivery import outbox, sender, telegram

        async def main():
            engine = create_engine("{url}")
            database = Database.on(engine)
            now = datetime.now(UTC)
            async with database.write() as session:
                chat = await add_chat(session=session, chat_id=5, kind="private", now=now)
                row = outbox.outbox_row(
                    chat_pk=chat.id, kind="alert", ref="item:1", body="x", now=now
                )
                added = await outbox.enqueue(session=session, rows=[row])
            await engine.dispose()
            loaded = "sqlalchemy.dialects.postgresql" in sys.modules
            print(added, loaded)

        asyncio.run(main())
        """
    )
    argv = [sys.executable, "-c", script]
    done = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "False"]
