"""A one-off fetch and parse of one feed, as the poller would do it, storing nothing."""

from __future__ import annotations

from datetime import datetime

from bot.config.settings import Settings
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.parsepool import ParserPool
from bot.ingest.types import NotModified, ParsedFeed


async def probe_feed(
    settings: Settings, url: str, *, language: str, now: datetime
) -> ParsedFeed | None:
    """Fetch (URL guard on every hop) and parse in a worker; None on 304. Raises FeedError."""
    async with (
        Fetcher(FetchPolicy.from_settings(settings)) as fetcher,
        # One worker: a dry run parses one document, so more processes only cost start-up.
        ParserPool(workers=1, timeout=settings.parse_timeout_seconds) as parser,
    ):
        result = await fetcher.fetch(url)
        if isinstance(result, NotModified):
            return None
        return await parser.parse(
            result.body,
            url=result.final_url,
            headers=result.headers,
            now=now,
            language=language,
            max_entries=settings.max_entries_per_feed,
        )
