"""Query functions for chats (subscribers). Keyword-only; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db.tables import Chat, ChatTopic

# Alert modes: every relevant item at once, urgent ones at once, or digests only.
INSTANT, URGENT, DIGEST_ONLY = "instant", "urgent", "digest"


async def get_chat(*, session: AsyncSession, chat_id: int) -> Chat | None:
    """The chat with this Telegram id, if subscribed."""
    return (
        await session.execute(select(Chat).where(col(Chat.chat_id) == chat_id))
    ).scalar_one_or_none()


async def add_chat(
    *, session: AsyncSession, chat_id: int, kind: str, now: datetime, **settings: Any
) -> Chat:
    """Create a chat row with default settings overridden by `settings`."""
    chat = Chat(chat_id=chat_id, kind=kind, created_at=now, **settings)
    session.add(chat)
    await session.flush()
    return chat


async def set_topics(*, session: AsyncSession, chat_pk: int, topics: Sequence[str]) -> None:
    """Replace the topics a chat follows."""
    await session.execute(delete(ChatTopic).where(col(ChatTopic.chat_pk) == chat_pk))
    if topics:
        session.add_all(ChatTopic(chat_pk=chat_pk, topic_id=t) for t in dict.fromkeys(topics))
        await session.flush()


async def chat_topics(*, session: AsyncSession, chat_pk: int) -> list[str]:
    """The topics a chat follows explicitly."""
    rows = await session.execute(
        select(col(ChatTopic.topic_id)).where(col(ChatTopic.chat_pk) == chat_pk)
    )
    return sorted(rows.scalars())


async def delete_chat(*, session: AsyncSession, chat_pk: int) -> None:
    """Delete a chat and, by cascade, everything that references it (topics, outbox)."""
    await session.execute(delete(Chat).where(col(Chat.id) == chat_pk))


async def delete_chat_by_telegram_id(*, session: AsyncSession, chat_id: int) -> bool:
    """Forget a chat entirely; True if there was one."""
    result: Any = await session.execute(delete(Chat).where(col(Chat.chat_id) == chat_id))
    return bool(result.rowcount)


async def migrate_chat(*, session: AsyncSession, old_id: int, new_id: int) -> None:
    """A group became a supergroup: move the subscription to the new id (idempotent)."""
    if old_id == new_id:
        return
    moved = await get_chat(session=session, chat_id=new_id)
    if moved is not None:
        # Seen from the other direction already: the new chat carries the subscription.
        await session.execute(delete(Chat).where(col(Chat.chat_id) == old_id))
        return
    await session.execute(
        update(Chat).where(col(Chat.chat_id) == old_id).values(chat_id=new_id, kind="supergroup")
    )


async def alert_recipients(
    *, session: AsyncSession, topics: Sequence[str], urgent: bool
) -> list[Chat]:
    """Chats that want an alert now for an item with these topics."""
    modes = (INSTANT, URGENT) if urgent else (INSTANT,)
    follows = select(col(ChatTopic.chat_pk)).where(col(ChatTopic.topic_id).in_(list(topics)))
    query = select(Chat).where(
        col(Chat.paused).is_(False),
        col(Chat.alert_mode).in_(modes),
        or_(col(Chat.follow_all).is_(True), col(Chat.id).in_(follows)),
    )
    return list((await session.execute(query)).scalars())


async def digests_due(*, session: AsyncSession, now: datetime, limit: int) -> list[Chat]:
    """Chats whose next digest time has come (paused chats wait)."""
    query = (
        select(Chat)
        .where(
            col(Chat.next_digest_at).is_not(None),
            col(Chat.next_digest_at) <= now,
            col(Chat.paused).is_(False),
        )
        .order_by(col(Chat.next_digest_at))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def keyword_recipients(
    *, session: AsyncSession, rules: Sequence[str] | frozenset[str]
) -> list[Chat]:
    """Chats (not paused, not digest-only) whose personal rule is one of `rules`."""
    query = select(Chat).where(
        col(Chat.paused).is_(False),
        col(Chat.alert_mode) != DIGEST_ONLY,
        col(Chat.keywords).in_(list(rules)),
    )
    return list((await session.execute(query)).scalars())


async def personal_rules(*, session: AsyncSession) -> set[str]:
    """The distinct /keywords rules of chats that are not paused."""
    rows = await session.execute(
        select(col(Chat.keywords))
        .where(col(Chat.keywords).is_not(None), col(Chat.paused).is_(False))
        .distinct()
    )
    return {text for text in rows.scalars() if text}
