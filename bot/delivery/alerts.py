"""Enqueues instant alerts in the same transaction that stores the items and their verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config.catalog import TopicSpec
    from bot.db.tables import Feed
    from bot.digest.model import Source, StoryEntry
    from bot.matching.matcher import Verdict

# Older news is not an alert, however new it is to us (a feed that republished its archive).
MAX_AGE = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class NewMatch:
    """A relevant item just stored: what the alert needs to say about it."""

    item_id: int
    story_id: int | None
    title: str
    url: str | None
    published_at: datetime
    verdict: Verdict
    personal: frozenset[str] = frozenset()  # personal rules (texts) the item satisfies

    @property
    def ref(self) -> str:
        """The delivery key: one alert per story, whichever outlet reported it first."""
        return f"story:{self.story_id}" if self.story_id else f"item:{self.item_id}"


class AlertEnqueuer:
    """Turns new relevant items into outbox rows for every chat that wants them at once."""

    def __init__(self, topics: Sequence[TopicSpec], *, max_age: timedelta = MAX_AGE) -> None:
        self._topics = list(topics)
        self._max_age = max_age

    async def enqueue(
        self, *, session: AsyncSession, feed: Feed, matches: Sequence[NewMatch], now: datetime
    ) -> int:
        """Add alert rows (keyed, so a re-run adds nothing); returns how many were added."""
        if feed.last_success_at is None:
            # A feed's first fetch is its backlog: it goes to digests, not to phones at once.
            return 0
        # Imported here, not at the top: `poll --once` builds an enqueuer for every cycle, and
        # one where nothing is new then never loads the composer, the digest models, the
        # translations, the outbox or the matcher (about 0.05 s of start-up).
        from bot.db import chats
        from bot.delivery import outbox
        from bot.digest.compose import compose_alert
        from bot.digest.load import other_sources
        from bot.digest.model import Reader, Source
        from bot.digest.topics import topic_texts
        from bot.i18n import translator

        matches = [m for m in matches if m.published_at >= now - self._max_age]
        story_ids = [m.story_id for m in matches if m.story_id]
        others = await other_sources(session=session, story_ids=story_ids, exclude_feed=feed.id)
        source = Source(feed.title, feed.publisher)
        rows = []
        for match in matches:
            recipients = []
            if match.verdict.relevant:
                recipients = await chats.alert_recipients(
                    session=session, topics=match.verdict.topics, urgent=match.verdict.urgent
                )
            if match.personal:
                known = {c.id for c in recipients}
                recipients += [
                    c
                    for c in await chats.keyword_recipients(session=session, rules=match.personal)
                    if c.id not in known
                ]
            entry = _entry(match, source, others.get(match.story_id or 0, ()))
            rendered: dict[tuple[str, str], str] = {}
            for chat in recipients:
                if chat.id is None:
                    continue
                reader = Reader(chat.language, chat.timezone)
                key = (reader.language, reader.timezone)
                if key not in rendered:
                    rendered[key] = compose_alert(
                        entry,
                        reader,
                        topic_texts(self._topics, reader.language),
                        translator(reader.language),
                    )
                rows.append(
                    outbox.outbox_row(
                        chat_pk=chat.id,
                        kind="alert",
                        ref=match.ref,
                        body=rendered[key],
                        now=now,
                        priority=outbox.URGENT_ALERT if match.verdict.urgent else outbox.ALERT,
                    )
                )
        return await outbox.enqueue(session=session, rows=rows)


def _entry(match: NewMatch, source: Source, others: tuple[Source, ...]) -> StoryEntry:
    from bot.digest.model import StoryEntry, WhyHit

    verdict = match.verdict
    return StoryEntry(
        item_id=match.item_id,
        title=match.title,
        url=match.url,
        source=source,
        published_at=match.published_at,
        score=verdict.score,
        urgent=verdict.urgent,
        recommendations=verdict.recommendations,
        themes=verdict.themes,
        why=tuple(WhyHit(h.topic, h.term, h.word, h.field, h.snippet) for h in verdict.why),
        also_reported_by=tuple(s for s in others if s != source),
    )
