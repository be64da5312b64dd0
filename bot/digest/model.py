"""Plain data that composition works on: no database, no Telegram, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Period = Literal["day", "week"]


@dataclass(frozen=True, slots=True)
class WhyHit:
    """One reason an item matched: the rule term, the word found, the field, a snippet."""

    topic: str
    term: str
    word: str
    field: str  # "title" or "summary"
    snippet: str


@dataclass(frozen=True, slots=True)
class Source:
    """A feed as a reader sees it: its title and publisher type."""

    title: str
    publisher: str  # government, state-media, independent-media, ngo, international


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """One story as shown to a reader: its best item, and the other outlets that reported it."""

    item_id: int
    title: str
    url: str | None
    source: Source
    published_at: datetime  # aware UTC
    score: float
    urgent: bool
    recommendations: tuple[str, ...]  # "R1", "R2", "R3"
    themes: tuple[str, ...]  # theme topic ids, e.g. "sanctions"
    why: tuple[WhyHit, ...] = ()
    also_reported_by: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicText:
    """A topic's title, and for a recommendation its one-line statement, in one language."""

    topic_id: str
    recommendation: str | None
    title: str
    statement: str | None = None


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a message is composed for: language and IANA time zone. Nothing else."""

    language: str = "en"
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class DigestRequest:
    """One digest: the period it covers and the stories in it (any order)."""

    period: Period
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    stories: tuple[StoryEntry, ...]
    topics: tuple[TopicText, ...] = field(default=())  # in catalog order, in the reader's language
    send_when_empty: bool = True
