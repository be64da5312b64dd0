"""Typed results passed between fetch, parse and the poller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

# Awaited by the fetcher before it reads a response body: the caller's turn to hold one.
BodyAdmission = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Validators:
    """What the feed's server told us to send back on the next conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A 200 response whose body was read within the limits."""

    url: str  # the URL that was requested
    final_url: str  # after redirects; every hop passed the URL guard
    status: int
    body: bytes
    headers: dict[str, str]  # lower-case names; content-location is set to final_url
    validators: Validators
    body_hash: str  # sha256 hex of body
    # Set when every redirect on the way was permanent (301/308): the feed has moved.
    moved_to: str | None = None
    # Cache-Control max-age in seconds, used as a minimum poll interval.
    max_age: float | None = None


@dataclass(frozen=True, slots=True)
class NotModified:
    """The server answered 304: nothing new, and not an error."""

    url: str
    validators: Validators
    moved_to: str | None = None
    max_age: float | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry, cleaned: plain text, safe links, aware UTC dates, capped lengths."""

    key: str  # stable identity within the feed: guid, else normalised link, else content hash
    guid: str | None
    url: str | None  # normalised http(s) link, or None
    title: str
    summary: str  # plain text, never HTML
    published_at: datetime  # aware UTC; missing -> fetch time; future -> clamped to fetch time
    language: str
    content_hash: str  # sha256 hex of the normalised title and summary


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The entries of one feed document plus what the parser noticed on the way."""

    title: str
    link: str | None
    entries: list[Entry] = field(default_factory=list)
    # Human-readable note when the XML was malformed but still readable (feedparser's bozo).
    bozo: str | None = None
    encoding: str | None = None
    truncated: bool = False  # more entries than max_entries were present
