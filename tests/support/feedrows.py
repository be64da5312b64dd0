"""Feed rows written straight into the feeds table, for tests that poll them."""

from __future__ import annotations

from datetime import datetime

from bot.db.engine import Database
from bot.db.tables import Feed


async def add_due_feed(
    database: Database, feed_id: str, url: str, *, now: datetime, interval: int = 900
) -> None:
    """Store one enabled feed, created at `now` and so due at once."""
    async with database.write() as session:
        session.add(
            Feed(
                id=feed_id,
                url=url,
                title=feed_id,
                publisher="independent-media",
                language="en",
                scope="belarus",
                interval_seconds=interval,
                created_at=now,
            )
        )
