"""Topic rules edited in the bot. Keyword-only; the caller owns the transaction.

A topic with rows here uses exactly these rules (in `position` order) instead of the rules
feeds.yaml gives it; a topic without rows uses feeds.yaml's. See docs/staff.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import TopicRule


async def rule_overrides(*, session: AsyncSession) -> dict[str, list[str]]:
    """Every overridden topic's rule list, in order."""
    stmt = select(TopicRule).order_by(col(TopicRule.topic_id), col(TopicRule.position))
    found: dict[str, list[str]] = {}
    for row in (await session.scalars(stmt)).all():
        found.setdefault(row.topic_id, []).append(row.rule)
    return found


async def topic_override(*, session: AsyncSession, topic_id: str) -> list[str] | None:
    """One topic's overriding rules, or None when it follows feeds.yaml."""
    stmt = (
        select(col(TopicRule.rule))
        .where(col(TopicRule.topic_id) == topic_id)
        .order_by(col(TopicRule.position))
    )
    rules = list((await session.scalars(stmt)).all())
    return rules or None


async def set_topic_rules(
    *, session: AsyncSession, topic_id: str, rules: Sequence[str], staff_id: int, now: datetime
) -> None:
    """Replace a topic's overriding rules (an empty list returns it to feeds.yaml's)."""
    await session.execute(delete(TopicRule).where(col(TopicRule.topic_id) == topic_id))
    session.add_all(
        TopicRule(topic_id=topic_id, position=index, rule=rule, staff_id=staff_id, at=now)
        for index, rule in enumerate(rules)
    )
    await session.flush()
