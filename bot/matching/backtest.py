"""Backtesting a rule on stored items: `briefbot rules test` and the staff /rule_test."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.matching.matcher import Matcher


@dataclass(frozen=True, slots=True)
class BacktestHit:
    """One stored item the rule matches."""

    feed_id: str
    language: str
    published_at: datetime
    title: str


@dataclass(slots=True)
class Backtest:
    """How many stored items were read and which of them the rule matches."""

    total: int = 0
    hits: list[BacktestHit] = field(default_factory=list)

    def by_feed(self) -> list[tuple[str, int]]:
        """Matches per feed, most first."""
        return Counter(h.feed_id for h in self.hits).most_common()

    def by_language(self) -> list[tuple[str, int]]:
        """Matches per item language, most first."""
        return Counter(h.language for h in self.hits).most_common()

    def newest(self, limit: int) -> list[BacktestHit]:
        """Up to `limit` matches, newest first."""
        return sorted(self.hits, key=lambda h: h.published_at, reverse=True)[:limit]


async def backtest(
    *, session: AsyncSession, matcher: Matcher, query: str, since: datetime
) -> Backtest:
    """Run `query` over the items first seen since `since`; raises RuleSyntaxError."""
    evaluate = matcher.compile_query(query)
    rows = await queries.items_since(session=session, since=since)
    result = Backtest(total=len(rows))
    for feed_id, title, summary, language, published in rows:
        tokens, _ = matcher.scan(title, summary)
        if evaluate(tokens)[0]:
            result.hits.append(BacktestHit(feed_id, language, published, title))
    return result
