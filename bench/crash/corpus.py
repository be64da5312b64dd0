"""Generated feeds for the crash runs: real headlines from the labelled dev set, seeded.

Each feed has one language and serves a fixed RSS document from the loopback FeedServer.
About a fifth of the entries are relevant headlines, drawn from a small pool per language so
that the same stories recur across outlets (they cluster) and a digest stays a few messages
long; the rest are labelled irrelevant headlines. Every entry has its own guid and link, and
no headline repeats within a feed, so every entry must be stored exactly once.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

from tests.support.feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "feeds.yaml"
DEV_SET = ROOT / "tests" / "data" / "matching" / "dev.jsonl"
LANGUAGES = ("en", "ru", "be")
RELEVANT_POOL = 8  # relevant headlines per language
RELEVANT_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Headline:
    """A title and summary from the dev set."""

    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One generated feed entry."""

    guid: str
    link: str
    headline: Headline
    published: datetime
    relevant: bool


@dataclass(frozen=True, slots=True)
class FeedDoc:
    """One generated feed and its entries."""

    feed_id: str
    path: str
    language: str
    entries: tuple[Entry, ...]

    def rss(self, skip_newest: int = 0) -> str:
        """The RSS 2.0 document served for this feed (without its newest entries: a backlog)."""
        items = "".join(
            f'<item><guid isPermaLink="false">{escape(e.guid)}</guid>'
            f"<link>{escape(e.link)}</link><title>{escape(e.headline.title)}</title>"
            f"<description>{escape(e.headline.summary)}</description>"
            f"<pubDate>{format_datetime(e.published)}</pubDate></item>"
            for e in self.entries[skip_newest:]
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{self.feed_id}</title><link>https://{self.feed_id}.example/</link>"
            f"<language>{self.language}</language>{items}</channel></rss>"
        )


@dataclass(frozen=True, slots=True)
class Corpus:
    """Every generated feed."""

    feeds: tuple[FeedDoc, ...]

    @property
    def expected(self) -> set[tuple[str, str]]:
        """(feed id, guid) of every entry served."""
        return {(f.feed_id, e.guid) for f in self.feeds for e in f.entries}

    @property
    def relevant_entries(self) -> int:
        """Entries drawn from the relevant pool."""
        return sum(e.relevant for f in self.feeds for e in f.entries)

    def serve(self, server: FeedServer, skip_newest: int = 0) -> None:
        """Serve every feed's document (without the newest `skip_newest` entries of each)."""
        for feed in self.feeds:
            server.add(feed.path, feed.rss(skip_newest))


def _pools() -> dict[tuple[str, bool], list[Headline]]:
    pools: dict[tuple[str, bool], list[Headline]] = {}
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            key = (row["language"], bool(row["relevant"]))
            pools.setdefault(key, []).append(Headline(row["title"], row["summary"]))
    for language in LANGUAGES:
        pools[(language, True)] = pools[(language, True)][:RELEVANT_POOL]
    return pools


def build_corpus(seed: int, *, feeds: int, entries: int, now: datetime) -> Corpus:
    """`feeds` feeds of `entries` entries each, published in the last few hours before `now`."""
    rng = random.Random(f"crash-corpus/{seed}")
    pools = _pools()
    docs: list[FeedDoc] = []
    for index in range(feeds):
        feed_id = f"crash-{index:04d}"
        language = rng.choice(LANGUAGES)
        relevant = sum(rng.random() < RELEVANT_SHARE for _ in range(entries))
        relevant = min(relevant, len(pools[(language, True)]))
        picked = [(h, True) for h in rng.sample(pools[(language, True)], relevant)]
        picked += [(h, False) for h in rng.sample(pools[(language, False)], entries - relevant)]
        rng.shuffle(picked)
        published = now - timedelta(minutes=rng.randint(1, 20))
        items: list[Entry] = []
        for serial, (headline, is_relevant) in enumerate(picked):
            items.append(
                Entry(
                    guid=f"urn:briefbot-crash:{seed}:{index}:{serial}",
                    link=f"https://{feed_id}.example/news/{serial}",
                    headline=headline,
                    published=published,
                    relevant=is_relevant,
                )
            )
            published -= timedelta(minutes=rng.randint(5, 40))
        docs.append(FeedDoc(feed_id, f"/feeds/{index}.xml", language, tuple(items)))
    return Corpus(tuple(docs))


def write_catalog(path: Path, corpus: Corpus, server: FeedServer) -> None:
    """feeds.yaml: the shipped catalog's aliases, context and topics, with the generated feeds."""
    shipped: dict[str, Any] = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    feeds = [
        {
            "id": feed.feed_id,
            "url": server.url(feed.path),
            "title": f"Crash outlet {feed.feed_id}",
            "publisher": "independent-media",
            "language": feed.language,
            "scope": "belarus",
            "interval": "1h",
        }
        for feed in corpus.feeds
    ]
    catalog = {"version": shipped["version"], "feeds": feeds}
    catalog.update(
        {key: shipped[key] for key in ("aliases", "context", "topics") if key in shipped}
    )
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")
