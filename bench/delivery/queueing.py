"""Before the race: populate the database and queue one digest per chat, timed."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bench.delivery.population import populate
from bench.delivery.processes import usage
from bot.config.catalog import load_catalog
from bot.db.engine import Database, create_engine
from bot.db.migrate import upgrade
from bot.db.tables import Chat, OutboxRow
from bot.delivery import outbox
from bot.delivery.digests import DigestBuilder
from bot.digest.compose import compose_digest
from bot.digest.load import stories_between
from bot.digest.model import DigestRequest, Reader
from bot.digest.topics import topic_texts
from bot.i18n import translator

CATALOG = Path(__file__).resolve().parents[2] / "feeds.yaml"


async def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Migrate the empty database, add the chats and the news; list the chat ids."""
    started = time.perf_counter()
    engine = create_engine(args.database_url)
    try:
        await upgrade(engine)
        population = await populate(
            database=Database.on(engine),
            count=args.chats,
            groups=args.groups,
            now=datetime.now(UTC),
            seed=args.seed,
        )
    finally:
        await engine.dispose()
    return {
        "seconds": time.perf_counter() - started,
        "chat_ids": population.chat_ids,
        "items": population.items,
        "stories": population.stories,
        **usage(),
    }


async def _direct(database: Database, now: datetime) -> int:
    """One row per chat with a follow-all digest composed once per language."""
    topics = load_catalog(CATALOG).topics
    async with database.read() as session:
        stories = await stories_between(session=session, start=now - timedelta(days=1), end=now)
        chat_rows = (await session.execute(select(col(Chat.id), col(Chat.language)))).all()
    bodies: dict[str, str] = {}
    for language in {lang for _, lang in chat_rows}:
        request = DigestRequest(
            period="day",
            start=min(s.first_seen_at for s in stories),
            end=now,
            stories=tuple(s.entry for s in stories),
            topics=topic_texts(topics, language),
        )
        parts = compose_digest(request, Reader(language), translator(language))
        bodies[language] = parts[0]
    rows = [
        outbox.outbox_row(
            chat_pk=pk or 0, kind="digest", ref="bench", body=bodies[lang], now=now, priority=2
        )
        for pk, lang in chat_rows
    ]
    async with database.write() as session:
        return await outbox.enqueue(session=session, rows=rows)


async def write_plan(database: Database, plan: Path) -> dict[str, Any]:
    """Every queued message per chat, in order, as JSON lines; and their sizes."""
    sizes: list[int] = []
    query = (
        select(col(Chat.chat_id), col(OutboxRow.body))
        .join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
        .order_by(col(OutboxRow.id))
    )
    by_chat: dict[int, list[str]] = {}
    async with database.read() as session:
        for chat_id, body in await session.execute(query):
            by_chat.setdefault(chat_id, []).append(body)
            sizes.append(len(body.encode()))
    lines = [
        json.dumps([chat_id, bodies], ensure_ascii=False) for chat_id, bodies in by_chat.items()
    ]
    await asyncio.to_thread(plan.write_text, "\n".join(lines) + "\n", encoding="utf-8")
    sizes.sort()
    return {
        "rows": len(sizes),
        "chats": len(by_chat),
        "parts_per_chat": dict(Counter(str(len(b)) for b in by_chat.values())),
        "body_bytes": {
            "min": sizes[0],
            "median": sizes[len(sizes) // 2],
            "p90": sizes[len(sizes) * 9 // 10],
            "max": sizes[-1],
        },
    }


async def build(args: argparse.Namespace) -> dict[str, Any]:
    """Queue one digest per chat (DigestBuilder, or rows inserted directly) and time it."""
    engine = create_engine(args.database_url)
    database = Database.on(engine)
    now = datetime.now(UTC)
    try:
        started = time.perf_counter()
        if args.direct:
            queued = await _direct(database, now)
        else:
            topics = load_catalog(CATALOG).topics
            queued = await DigestBuilder(topics).build_due(database=database, now=now)
        seconds = time.perf_counter() - started
        used = usage()  # before the plan is written: that is the benchmark's, not the bot's
        plan = await write_plan(database, Path(args.plan))
    finally:
        await engine.dispose()
    mode = "direct" if args.direct else "DigestBuilder"
    return {"mode": mode, "seconds": seconds, "chats_queued": queued, **plan, **used}
