"""Tells staff, through the outbox, when a feed starts failing or falls silent for too long."""

from __future__ import annotations

import hashlib
import itertools
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chat, Feed, Item
from bot.delivery import outbox
from bot.digest.html import escape
from bot.i18n import translator

log = logging.getLogger(__name__)
# A feed is silent when nothing new came for this many of its usual gaps between items...
SILENT_GAPS = 4
# ...and never sooner than this (a weekly bulletin is not silent on day two).
SILENT_FLOOR = timedelta(days=2)
RHYTHM_SAMPLE = 20
# A notice about feeds.yaml quotes this many problem lines, each cut to this length (the
# rest is in the service log and in `briefbot config validate`).
CATALOG_LINES, CATALOG_LINE_CHARS = 8, 200


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing staff should know, under a key that makes it one message per incident."""

    ref: str
    msgid: str
    values: dict[str, str]


async def staff_chats(
    *, session: AsyncSession, staff_ids: Sequence[int], now: datetime
) -> list[Chat]:
    """The staff's private chats, created (with nothing subscribed) if missing."""
    found = []
    for staff_id in staff_ids:
        chat = await chats.get_chat(session=session, chat_id=staff_id)
        if chat is None:
            chat = await chats.add_chat(
                session=session,
                chat_id=staff_id,
                kind="private",
                now=now,
                alert_mode=chats.DIGEST_ONLY,
                digest_frequency="off",
                follow_all=False,
            )
        found.append(chat)
    return found


async def notify(
    *, session: AsyncSession, staff_ids: Sequence[int], notices: Sequence[Notice], now: datetime
) -> int:
    """Queue each notice to every staff chat; a notice already queued is not queued again."""
    if not staff_ids or not notices:
        return 0
    rows = []
    for chat in await staff_chats(session=session, staff_ids=staff_ids, now=now):
        translate = translator(chat.language)
        for notice in notices:
            values = {k: escape(v) for k, v in notice.values.items()}
            rows.append(
                outbox.outbox_row(
                    chat_pk=chat.id or 0,
                    kind="staff",
                    ref=notice.ref[:64],
                    body=translate(notice.msgid).format(**values),
                    now=now,
                    priority=outbox.URGENT_ALERT,
                )
            )
    return await outbox.enqueue(session=session, rows=rows)


def _rhythm(seen: Sequence[datetime]) -> timedelta | None:
    """The median gap between a feed's recent new items (None with too few items)."""
    ordered = sorted(seen)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    gaps = [g for g in gaps if g > 0]
    return timedelta(seconds=statistics.median(gaps)) if len(gaps) >= 3 else None


async def feed_notices(*, session: AsyncSession, now: datetime) -> list[Notice]:
    """Failing feeds, and feeds silent for longer than their usual rhythm."""
    notices = []
    for feed in (await session.scalars(select(Feed).where(col(Feed.enabled).is_(True)))).all():
        if feed.failing_since is not None:
            notices.append(
                Notice(
                    f"failing:{feed.id}:{feed.failing_since:%Y%m%d%H%M}",
                    "⚠️ Feed {feed} is failing since {since}: {reason}. /feeds shows its health.",
                    {
                        "feed": feed.id,
                        "since": f"{feed.failing_since:%Y-%m-%d %H:%M} UTC",
                        "reason": feed.last_error_reason or "unknown error",
                    },
                )
            )
            continue
        if feed.last_new_item_at is None:
            continue
        seen = (
            await session.scalars(
                select(col(Item.first_seen_at))
                .where(col(Item.feed_id) == feed.id)
                .order_by(col(Item.first_seen_at).desc())
                .limit(RHYTHM_SAMPLE)
            )
        ).all()
        rhythm = _rhythm(seen)
        quiet = now - feed.last_new_item_at
        if rhythm is not None and quiet > max(SILENT_GAPS * rhythm, SILENT_FLOOR):
            notices.append(
                Notice(
                    f"silent:{feed.id}:{feed.last_new_item_at:%Y%m%d%H%M}",
                    "🔕 Feed {feed} has published nothing new for {days} days"
                    " (it usually does every {usual}). Check its address with /feeds.",
                    {"feed": feed.id, "days": str(quiet.days), "usual": _duration(rhythm)},
                )
            )
    return notices


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


async def check_feeds(*, database: Database, staff_ids: Sequence[int], now: datetime) -> int:
    """Queue notices about failing and silent feeds; returns how many rows were queued."""
    if not staff_ids:
        return 0
    async with database.write() as session:
        notices = await feed_notices(session=session, now=now)
        added = await notify(session=session, staff_ids=staff_ids, notices=notices, now=now)
    if added:
        log.info("staff notices queued=%d", added)
    return added


async def report_long_pause(
    *, database: Database, staff_ids: Sequence[int], seconds: float, now: datetime
) -> int:
    """Queue a notice that Telegram's flood control holds all sending back."""
    notice = Notice(
        f"pause:{now:%Y%m%d%H%M}",
        "⏸ Telegram's flood control has paused all sending for {seconds} s."
        " Messages wait in the queue; nothing is lost.",
        {"seconds": f"{seconds:.0f}"},
    )
    return await notify_staff(database=database, staff_ids=staff_ids, notice=notice, now=now)


async def notify_staff(
    *, database: Database, staff_ids: Sequence[int], notice: Notice, now: datetime
) -> int:
    """Queue one notice to every staff chat, in a transaction of its own."""
    async with database.write() as session:
        return await notify(session=session, staff_ids=staff_ids, notices=[notice], now=now)


async def report_catalog_problems(
    *,
    database: Database,
    staff_ids: Sequence[int],
    problems: Sequence[str],
    kept: Sequence[str],
    now: datetime,
) -> int:
    """Queue a notice that the service started without feeds.yaml's refused entries.

    One notice per distinct set of problems: restarting with the same broken file adds none.
    """
    if not problems:
        return 0
    digest = hashlib.sha256("\n".join(problems).encode()).hexdigest()[:16]
    lines = [line[:CATALOG_LINE_CHARS] for line in problems[:CATALOG_LINES]]
    if len(problems) > CATALOG_LINES:
        lines.append(f"... and {len(problems) - CATALOG_LINES} more")
    values = {"count": str(len(problems)), "lines": "\n".join(lines)}
    key = f"catalog:{digest}"
    # Literal msgids inside Notice(...): the translation test extracts them from there.
    if kept:
        notice = Notice(
            key,
            "⚠️ feeds.yaml has {count} problem(s). briefbot runs without the refused entries;"
            " feeds {kept} keep their last loaded settings. Fix the file (`briefbot config"
            " validate` checks it) and restart.\n{lines}",
            {**values, "kept": ", ".join(kept)},
        )
    else:
        notice = Notice(
            key,
            "⚠️ feeds.yaml has {count} problem(s). briefbot runs without the refused entries."
            " Fix the file (`briefbot config validate` checks it) and restart.\n{lines}",
            values,
        )
    return await notify_staff(database=database, staff_ids=staff_ids, notice=notice, now=now)
