"""Scratch databases (migrated by `briefbot db upgrade`) and the seeded subscribers."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, select
from sqlmodel import col

from bot.db.engine import Database
from bot.db.tables import Chat, ChatTopic
from bot.digest.schedule import DigestSchedule, next_due, previous_due

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_DSN = os.environ.get("BRIEFBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ZONES = (
    "UTC",
    "Europe/Minsk",
    "Europe/Vilnius",
    "Europe/Warsaw",
    "America/New_York",
    "Asia/Tokyo",
    "Pacific/Auckland",
)
LANGUAGES = ("en", "ru", "be")
GROUP_SHARE = 0.1
FOLLOW_ALL_SHARE = 0.8
QUIET = timedelta(hours=4)  # no chat's next digest falls due within this of the start
TOPICS = ("r1-ukraine-transition", "r2-recognition", "r3-transnational-repression", "sanctions")
# Environment variables that would change what `briefbot run` does; never inherited.
CLEARED = ("DATABASE_URL", "FEEDS_FILE", "BOT_TOKEN", "STAFF_IDS", "WEBHOOK_URL", "METRICS_PORT")


def clean_environ() -> dict[str, str]:
    """This process's environment without briefbot's own settings."""
    return {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("BRIEF")}


async def db_upgrade(url: str, workdir: Path) -> None:
    """`python -m bot db upgrade` as a child process; raises with its output on failure."""
    env = {**clean_environ(), "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "db",
        "upgrade",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"briefbot db upgrade failed: {out.decode(errors='replace')}")


class Template:
    """One migrated database per backend, cloned for every seed (a copy or TEMPLATE)."""

    def __init__(self, backend: str, workdir: Path, admin_dsn: str = PG_ADMIN_DSN) -> None:
        self.backend = backend
        self.workdir = workdir
        self.admin_dsn = admin_dsn
        self._name = f"briefbot_crash_{uuid.uuid4().hex[:10]}"
        self._clones: list[str] = []

    def _url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir / name}.db"
        return f"{self.admin_dsn.rsplit('/', 1)[0]}/{name}"

    async def _admin(self, statement: str) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def create(self) -> None:
        """Create the template and migrate it with `briefbot db upgrade`."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.backend == "postgres":
            await self._admin(f'CREATE DATABASE "{self._name}"')
        await db_upgrade(self._url(self._name), self.workdir)

    @asynccontextmanager
    async def scratch(self) -> AsyncIterator[str]:
        """A fresh migrated database (dropped or deleted after)."""
        name = f"{self._name}_{len(self._clones)}"
        self._clones.append(name)
        if self.backend == "sqlite":
            shutil.copyfile(self.workdir / f"{self._name}.db", self.workdir / f"{name}.db")
        else:
            await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._name}"')
        try:
            yield self._url(name)
        finally:
            if self.backend == "postgres":
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def drop(self) -> None:
        """Drop the template (PostgreSQL); SQLite files go with the work folder."""
        if self.backend == "postgres":
            await self._admin(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


@asynccontextmanager
async def templates(backends: Sequence[str], workdir: Path) -> AsyncIterator[dict[str, Template]]:
    """A migrated template database per backend (made concurrently), dropped on exit."""
    made = {backend: Template(backend, workdir / backend) for backend in backends}
    try:
        await asyncio.gather(*(t.create() for t in made.values()))
        yield made
    finally:
        for each in made.values():
            await each.drop()


@dataclass(frozen=True, slots=True)
class Population:
    """The subscribers inserted for one seed."""

    chat_ids: tuple[int, ...]
    groups: int
    alert_chats: int


def _chat_row(rng: random.Random, chat_id: int, now: datetime, alerts: bool) -> dict[str, object]:
    language, zone = rng.choice(LANGUAGES), rng.choice(ZONES)
    follow_all = rng.random() < FOLLOW_ALL_SHARE
    while True:
        # Every chat is owed one digest: its last slot has passed, and its next one is far
        # enough away that no second digest falls due while the seed runs.
        minute = rng.randrange(0, 24 * 60, 15)
        schedule = DigestSchedule("daily", minute_of_day=minute, timezone=zone)
        following = next_due(schedule, now)
        if following is not None and following - now >= QUIET:
            break
    return {
        "chat_id": chat_id,
        "kind": "supergroup" if chat_id < 0 else "private",
        "language": language,
        "timezone": zone,
        "paused": False,
        "alert_mode": "urgent" if alerts else "digest",
        "follow_all": follow_all,
        "digest_frequency": "daily",
        "digest_weekday": 0,
        "digest_minute": minute,
        "empty_digest_note": True,
        "next_digest_at": previous_due(schedule, now),
        "created_at": now,
    }


async def add_chats(
    database: Database, *, seed: int, count: int, now: datetime, alert_share: float
) -> Population:
    """`count` chats (about 10% groups), each owed one daily digest; some want urgent alerts."""
    rng = random.Random(f"crash-chats/{seed}")
    ids: list[int] = []
    groups = alerts = 0
    rows: list[dict[str, object]] = []
    for n in range(count):
        group = rng.random() < GROUP_SHARE
        chat_id = -1_000_000_000_000 - n if group else 100_000 + n
        wants_alerts = rng.random() < alert_share
        rows.append(_chat_row(rng, chat_id, now, wants_alerts))
        ids.append(chat_id)
        groups += group
        alerts += wants_alerts
    async with database.write() as session:
        await session.execute(insert(Chat), rows)
        found = await session.execute(
            select(col(Chat.id)).where(col(Chat.follow_all).is_(False)).order_by(col(Chat.id))
        )
        topics = [
            {"chat_pk": pk, "topic_id": topic}
            for pk in found.scalars()
            for topic in rng.sample(TOPICS, rng.randint(1, 2))
        ]
        if topics:
            await session.execute(insert(ChatTopic), topics)
    return Population(tuple(ids), groups, alerts)
