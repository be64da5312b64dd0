"""Which parsed entries are new: by key, by link when unique in the document, or by text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from bot.ingest.types import Entry

# A re-served article (new GUID, same link or same text) is recognised this long.
REPOST_WINDOW = timedelta(days=30)


def fresh_entries(
    entries: Sequence[Entry], *, known_keys: set[str], seen_urls: set[str], seen_hashes: set[str]
) -> list[Entry]:
    """Entries not stored before, by key, by link (when unique in the document) or by text."""
    link_counts = Counter(e.url for e in entries if e.url)
    fresh: list[Entry] = []
    batch_hashes: set[str] = set()
    for entry in entries:
        if entry.key in known_keys:
            continue
        # Equal text is the same item only when the text says enough: a bare repeated title
        # ("Daily press briefing") with its own link is a new item.
        text_identifies = bool(entry.summary) or not entry.url
        if text_identifies and entry.content_hash in seen_hashes:
            continue
        # Many entries sharing one link are distinct items; the link then identifies nothing.
        if entry.url and link_counts[entry.url] == 1 and entry.url in seen_urls:
            continue
        if entry.content_hash in batch_hashes:
            continue
        batch_hashes.add(entry.content_hash)
        fresh.append(entry)
    return fresh
