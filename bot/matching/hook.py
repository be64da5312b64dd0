"""Runs the matcher on newly stored items inside the poller's transaction, and stores verdicts."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from bot.config.catalog import Catalog
from bot.db.tables import Feed, ItemTopic
from bot.db.tables import Verdict as VerdictRow
from bot.delivery.alerts import AlertEnqueuer, NewMatch
from bot.ingest.types import Entry
from bot.matching.cluster import story_signature
from bot.matching.matcher import Matcher, MatchInput, Verdict
from bot.matching.personal import PersonalRules
from bot.matching.stories import assign_stories

log = logging.getLogger(__name__)


# Core tables, not the models: the ORM's bulk-insert layer only adds per-row work. Each
# statement is built once: SQLAlchemy works out a new one's cache key on every execution.
@functools.cache
def _insert_verdicts() -> Insert:
    return insert(VerdictRow.core())


@functools.cache
def _insert_topics() -> Insert:
    return insert(ItemTopic.core())


def rules_version(catalog: Catalog) -> str:
    """A short fingerprint of the topics, context and aliases that produced a verdict."""
    payload = json.dumps(
        {
            "topics": [t.model_dump(mode="json") for t in catalog.topics],
            "context": catalog.context,
            "aliases": catalog.aliases,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def verdict_row(
    item_id: int, verdict: Verdict, *, version: str, now: datetime
) -> dict[str, object]:
    """The verdicts-table row for one item."""
    return {
        "item_id": item_id,
        "relevant": verdict.relevant,
        "score": verdict.score,
        "urgent": verdict.urgent,
        "recommendations": ",".join(verdict.recommendations),
        "themes": ",".join(verdict.themes),
        "why": json.dumps([h.as_dict() for h in verdict.why], ensure_ascii=False),
        "rules_version": version,
        "matched_at": now,
    }


@dataclass(frozen=True, slots=True)
class Prepared:
    """What prepare() computed for one entry."""

    verdict: Verdict
    signature: frozenset[str] | None  # story signature, for relevant items only
    personal: frozenset[str] = frozenset()  # subscribers' own rules the item satisfies


class MatchingHook:
    """The poller's new-items hook: a verdict per item, and the topics of relevant items."""

    def __init__(
        self, matcher: Matcher, *, version: str, alerts: AlertEnqueuer | None = None
    ) -> None:
        self._matcher = matcher
        self._version = version
        self._alerts = alerts
        self.personal = PersonalRules(matcher)

    def prepare(self, feed: Feed, entries: Sequence[Entry]) -> Mapping[str, object]:
        """Match every entry (CPU only; runs before the feed's write transaction)."""
        prepared: dict[str, object] = {}
        for entry in entries:
            verdict = self._matcher.match(
                MatchInput(
                    entry.key,
                    entry.title,
                    entry.summary,
                    language=entry.language,
                    scope=feed.scope,
                    link=entry.url,
                )
            )
            signature = story_signature(entry.title, entry.summary) if verdict.relevant else None
            personal = self.personal.matching(entry.title, entry.summary)
            prepared[entry.key] = Prepared(verdict, signature, personal)
        return prepared

    async def store(
        self,
        *,
        session: AsyncSession,
        feed: Feed,
        stored: Sequence[tuple[int, Entry]],
        prepared: Mapping[str, object],
        now: datetime,
    ) -> None:
        """Store verdicts and topics for the items inserted, in the caller's transaction."""
        verdicts: list[dict[str, object]] = []
        topics: list[dict[str, object]] = []
        clusterable: list[tuple[int, frozenset[str]]] = []
        for item_id, entry in stored:
            ready = prepared[entry.key]
            assert isinstance(ready, Prepared)
            verdict = ready.verdict
            verdicts.append(verdict_row(item_id, verdict, version=self._version, now=now))
            topics.extend({"item_id": item_id, "topic_id": t} for t in verdict.topics)
            if ready.signature:
                clusterable.append((item_id, ready.signature))
        if verdicts:
            await session.execute(_insert_verdicts(), verdicts)
        if topics:
            await session.execute(_insert_topics(), topics)
        stories = await assign_stories(session=session, feed_id=feed.id, items=clusterable, now=now)
        relevant = sum(1 for v in verdicts if v["relevant"])
        alerts = 0
        if self._alerts is not None:
            matches = _new_matches(stored, prepared, stories)
            alerts = await self._alerts.enqueue(
                session=session, feed=feed, matches=matches, now=now
            )
        log.info(
            "feed=%s matched items=%d relevant=%d alerts=%d",
            feed.id,
            len(verdicts),
            relevant,
            alerts,
        )


def _new_matches(
    stored: Sequence[tuple[int, Entry]],
    prepared: Mapping[str, object],
    stories: Mapping[int, int],
) -> list[NewMatch]:
    matches = []
    for item_id, entry in stored:
        ready = prepared[entry.key]
        if isinstance(ready, Prepared) and (ready.verdict.relevant or ready.personal):
            matches.append(
                NewMatch(
                    item_id=item_id,
                    story_id=stories.get(item_id),
                    title=entry.title,
                    url=entry.url,
                    published_at=entry.published_at,
                    verdict=ready.verdict,
                    personal=ready.personal,
                )
            )
    return matches
