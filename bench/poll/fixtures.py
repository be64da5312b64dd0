"""The benchmark's fixtures: the saved corpus, feeds.yaml, briefbot's environment, item checks."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from bench.poll.generate import Corpus, entry_guid, entry_link
from bench.poll.server import ServerProcess


def snapshot(server: ServerProcess, feeds: int, folder: Path) -> int:
    """Save every document as the server sends it; return the total size."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    def save(i: int) -> int:
        body = server.fetch(i)
        (folder / f"{i}.xml").write_bytes(body)
        return len(body)

    with ThreadPoolExecutor(max_workers=32) as pool:
        return sum(pool.map(save, range(feeds)))


def write_catalog(path: Path, corpus: Corpus, server: ServerProcess) -> None:
    """feeds.yaml for the server's feeds, in the catalog format briefbot reads."""
    feeds = [
        {
            "id": s.feed_id,
            "url": server.feed_url(s.index),
            "title": s.title,
            "publisher": "independent-media",
            "language": s.language,
            "scope": "belarus",
            "interval": "15m",
            "enabled": True,
        }
        for s in corpus.specs
    ]
    catalog = {"version": 1, "feeds": feeds, "topics": [], "aliases": {}, "context": []}
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")


EntryIndex = dict[tuple[str, str], tuple[int, int]]


def _expected(corpus: Corpus) -> tuple[EntryIndex, EntryIndex]:
    """Every entry ever served, by (feed id, guid) and by (feed id, link)."""
    by_guid: EntryIndex = {}
    by_link: EntryIndex = {}
    for spec in corpus.specs:
        for serial in range(corpus.heads[spec.index]):
            entry = (spec.index, serial)
            by_guid[spec.feed_id, entry_guid(spec, serial)] = entry
            by_link[spec.feed_id, entry_link(spec, serial)] = entry
    return by_guid, by_link


def check_items(db: Path, corpus: Corpus) -> dict[str, int]:
    """Compare the items table with every entry served: stored, missed, unknown, twice."""
    rows: list[tuple[str, str | None, str | None]] = []
    if db.is_file():
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            try:
                rows = conn.execute("SELECT feed_id, guid, url FROM items").fetchall()
            except sqlite3.OperationalError:
                rows = []
    by_guid, by_link = _expected(corpus)
    seen: Counter[tuple[int, int]] = Counter()
    extra = 0
    for feed_id, guid, url in rows:
        entry = by_guid.get((feed_id, guid or "")) or by_link.get((feed_id, url or ""))
        if entry is None:
            extra += 1
        else:
            seen[entry] += 1
    twice = sum(n - 1 for n in seen.values())
    return {
        "items": len(rows),
        "expected": len(by_guid),
        "missed": len(by_guid) - len(seen),
        "extra": extra,
        "twice": twice,
    }


def bot_env(db: Path, catalog: Path) -> dict[str, str]:
    """The environment of a briefbot cycle: our database and catalog, no proxies."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        FEEDS_FILE=str(catalog),
        ALLOW_PRIVATE_NETWORKS="true",
        LOG_LEVEL="WARNING",
        # The corpus is dated 2025: keep it inside the retention horizon.
        RETENTION_DAYS="36500",
    )
    return env
