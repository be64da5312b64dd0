"""Deterministic (seeded) corpus of RSS 2.0 and Atom feeds for the poll benchmark.

Every entry is a pure function of (seed, feed index, entry serial, anchor time), so the
server and the runner can rebuild the same bytes independently. A feed shows the newest
`entries` serials; `advance` adds serials at the top and drops the oldest ones.

    python -m bench.poll.generate --feeds 500 --entries 40 --out bench/poll/out/corpus
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from bench.poll.words import CATEGORIES, NAMES, OUTLET_WORDS, QUOTES, READ_MORE, WORDS

Kind = Literal["rss", "atom"]
DEFAULT_SEED = 20250601
DEFAULT_ANCHOR = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
# Serials an `advance` may add before the newest entry's date passes the anchor time.
ADVANCE_ROOM = 60
READ_MORE_COST = 160  # bytes of the read-more link that closes a body
HEAD_SHARE = 40  # bytes of the document head and tail charged to each entry, roughly
MINSK = timezone(timedelta(hours=3))


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """The fixed traits of one generated feed."""

    index: int
    kind: Kind
    language: str
    title: str
    site: str
    target_bytes: int
    step_minutes: int
    cdata: bool
    full_content: bool
    permalink_guids: bool
    local_time: bool

    @property
    def feed_id(self) -> str:
        """The id used in feeds.yaml and the database."""
        return f"bench-{self.index:04d}"


@dataclass(frozen=True, slots=True)
class EntryText:
    """The text parts of one entry, HTML already composed."""

    title: str
    summary_html: str
    content_html: str
    categories: tuple[str, ...]
    author: str
    image: str | None


def make_spec(seed: int, index: int) -> FeedSpec:
    """Draw the traits of feed `index` from the seed."""
    rng = random.Random(f"{seed}/feed/{index}")
    language = rng.choices(("ru", "be", "en"), weights=(45, 25, 30))[0]
    outlet = " ".join(rng.sample(OUTLET_WORDS[language], 2))
    return FeedSpec(
        index=index,
        kind="rss" if rng.random() < 0.6 else "atom",
        language=language,
        title=f"{outlet} {index}",
        site=f"https://outlet{index:04d}.example",
        target_bytes=rng.randint(20_500, 99_000),
        step_minutes=rng.choice((7, 15, 20, 30, 45, 60, 90)),
        cdata=rng.random() < 0.5,
        full_content=rng.random() < 0.7,
        permalink_guids=rng.random() < 0.5,
        local_time=rng.random() < 0.5,
    )


def sentence(rng: random.Random, language: str, low: int = 6, high: int = 16) -> str:
    """A sentence of random words with a proper name in it, capitalised, no final stop."""
    words = [rng.choice(WORDS[language]) for _ in range(rng.randint(low, high))]
    words.insert(rng.randrange(len(words) + 1), rng.choice(NAMES[language]))
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words) + 1), str(rng.randint(2, 2025)))
    text = " ".join(words)
    return text[0].upper() + text[1:]


def _inline_markup(rng: random.Random, spec: FeedSpec, text: str) -> str:
    """Wrap a few words of `text` in links, emphasis and entities, like real feed HTML."""
    words = escape(text).split(" ")
    if len(words) > 4 and rng.random() < 0.5:
        start = rng.randrange(len(words) - 2)
        relative = rng.random() < 0.3
        href = (
            f"/{spec.language}/tag/{rng.randint(1, 400)}"
            if relative
            else (f"{spec.site}/{spec.language}/news/{rng.randint(1, 10**6)}.html")
        )
        words[start] = f'<a href="{href}">{words[start]}'
        words[start + 1] = f"{words[start + 1]}</a>"
    if len(words) > 6 and rng.random() < 0.4:
        pos = rng.randrange(len(words))
        tag = rng.choice(("strong", "em", "b"))
        words[pos] = f"<{tag}>{words[pos]}</{tag}>"
    if rng.random() < 0.3:
        left, right = QUOTES[spec.language]
        words.insert(rng.randrange(len(words)), f"{left}{rng.choice(NAMES[spec.language])}{right}")
    joiner = rng.choice((" ", " ", " &mdash; ", "&nbsp;"))
    return " ".join(words[:3]) + joiner + " ".join(words[3:])


def _paragraph(rng: random.Random, spec: FeedSpec) -> str:
    """One HTML block: mostly <p>, sometimes a figure, a list or a quote."""
    roll = rng.random()
    if roll < 0.08:
        src = f"{spec.site}/media/{rng.randint(1, 10**7)}.jpg"
        caption = escape(sentence(rng, spec.language, 3, 7))
        return (
            f'<figure><img src="{src}" alt="{caption}" width="800" height="450" />'
            f"<figcaption>{caption} &copy; {spec.title}</figcaption></figure>"
        )
    if roll < 0.13:
        items = "".join(f"<li>{escape(sentence(rng, spec.language, 3, 8))};</li>" for _ in range(3))
        return f"<ul>{items}</ul>"
    if roll < 0.18:
        return f"<blockquote><p>{escape(sentence(rng, spec.language))}.</p></blockquote>"
    body = ". ".join(_inline_markup(rng, spec, sentence(rng, spec.language)) for _ in range(3))
    return f"<p>{body}.</p>"


def _body_html(rng: random.Random, spec: FeedSpec, budget: int, *, escaped: bool) -> str:
    """Paragraphs until about `budget` bytes as they will appear in the document."""
    parts: list[str] = []
    size = 0
    while True:
        block = _paragraph(rng, spec)
        cost = len((escape(block) if escaped else block).encode()) + 1
        # Take the block when that lands nearer the budget than stopping short of it.
        if parts and size + cost // 2 > budget:
            return "\n".join(parts)
        parts.append(block)
        size += cost
    return "\n".join(parts)


def entry_text(seed: int, spec: FeedSpec, serial: int, body_budget: int) -> EntryText:
    """The text of entry `serial` of a feed, with about `body_budget` bytes of body HTML."""
    rng = random.Random(f"{seed}/entry/{spec.index}/{serial}")
    title = sentence(rng, spec.language, 5, 10)
    categories = tuple(rng.sample(CATEGORIES[spec.language], rng.randint(1, 3)))
    author = " ".join(rng.sample(OUTLET_WORDS[spec.language], 2))
    image = f"{spec.site}/media/{serial}-{rng.randint(1, 999)}.jpg" if rng.random() < 0.6 else None
    teaser = f'<img src="{image}" alt="" /> ' if image else ""
    lead = _inline_markup(rng, spec, sentence(rng, spec.language))
    summary, content = f"{teaser}<p>{lead}.</p>", ""
    if body_budget > 0:
        escaped = spec.kind == "atom" or not spec.cdata
        body = _body_html(rng, spec, body_budget, escaped=escaped)
        more = f'<p><a href="{entry_link(spec, serial)}">{READ_MORE[spec.language]} &raquo;</a></p>'
        if spec.full_content:
            content = f"{body}\n{more}"
        else:
            summary = f"{summary}\n{body}\n{more}"
    return EntryText(title, summary, content, categories, author, image)


def entry_link(spec: FeedSpec, serial: int) -> str:
    """The unique article link of an entry."""
    return f"{spec.site}/{spec.language}/news/{serial:06d}-{spec.index:04d}.html"


def entry_guid(spec: FeedSpec, serial: int) -> str:
    """The unique guid (RSS) or id (Atom) of an entry."""
    if spec.kind == "atom":
        return f"tag:outlet{spec.index:04d}.example,2025:entry-{serial}"
    if spec.permalink_guids:
        return entry_link(spec, serial)
    return f"urn:briefbot-bench:{spec.index:04d}:{serial:08d}"


def published(spec: FeedSpec, serial: int, entries: int, anchor: datetime) -> datetime:
    """Publication time of an entry: serials are spaced `step_minutes` apart before anchor."""
    when = anchor - timedelta(minutes=spec.step_minutes * (entries + ADVANCE_ROOM - serial))
    return when.astimezone(MINSK) if spec.local_time else when.astimezone(UTC)


def _cdata_or_escaped(spec: FeedSpec, html: str) -> str:
    if spec.cdata and "]]>" not in html:
        return f"<![CDATA[{html}]]>"
    return escape(html)


def rss_item(spec: FeedSpec, serial: int, text: EntryText, when: datetime) -> str:
    """One RSS 2.0 <item>."""
    guid = entry_guid(spec, serial)
    permalink = "true" if spec.permalink_guids else "false"
    lines = [
        "<item>",
        f"<title>{escape(text.title)}</title>",
        f"<link>{entry_link(spec, serial)}</link>",
        f"<guid isPermaLink={quoteattr(permalink)}>{escape(guid)}</guid>",
        f"<pubDate>{format_datetime(when)}</pubDate>",
        f"<dc:creator>{escape(text.author)}</dc:creator>",
        *(f"<category>{escape(c)}</category>" for c in text.categories),
        f"<description>{_cdata_or_escaped(spec, text.summary_html)}</description>",
    ]
    if text.content_html:
        lines.append(
            f"<content:encoded>{_cdata_or_escaped(spec, text.content_html)}</content:encoded>"
        )
    if text.image:
        lines.append(
            f'<enclosure url="{text.image}" length="{40_000 + serial}" type="image/jpeg" />'
        )
    lines.append("</item>")
    return "\n".join(lines)


def atom_entry(spec: FeedSpec, serial: int, text: EntryText, when: datetime) -> str:
    """One Atom <entry>."""
    stamp = when.isoformat()
    lines = [
        "<entry>",
        f'<title type="html">{escape(escape(text.title))}</title>',
        f'<link rel="alternate" type="text/html" href="{entry_link(spec, serial)}" />',
        f"<id>{escape(entry_guid(spec, serial))}</id>",
        f"<published>{stamp}</published>",
        f"<updated>{stamp}</updated>",
        f"<author><name>{escape(text.author)}</name></author>",
        *(f"<category term={quoteattr(c)} />" for c in text.categories),
        f'<summary type="html">{escape(text.summary_html)}</summary>',
    ]
    if text.content_html:
        lines.append(
            f'<content type="html" xml:base="{spec.site}/">{escape(text.content_html)}</content>'
        )
    lines.append("</entry>")
    return "\n".join(lines)


def rss_head(spec: FeedSpec, newest: datetime) -> str:
    """The RSS document up to the first item."""
    return "\n".join(
        (
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
            "<channel>",
            f"<title>{escape(spec.title)}</title>",
            f"<link>{spec.site}/</link>",
            f'<atom:link href="{spec.site}/rss.xml" rel="self" type="application/rss+xml" />',
            f"<description>{escape(spec.title)} &#8212; {spec.language}</description>",
            f"<language>{spec.language}</language>",
            f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>",
            "<generator>briefbot bench generator</generator>",
            f"<image><url>{spec.site}/logo.png</url><title>{escape(spec.title)}</title>"
            f"<link>{spec.site}/</link></image>",
        )
    )


def atom_head(spec: FeedSpec, newest: datetime) -> str:
    """The Atom document up to the first entry."""
    return "\n".join(
        (
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{spec.language}">',
            f"<title>{escape(spec.title)}</title>",
            f'<link rel="alternate" type="text/html" href="{spec.site}/" />',
            f'<link rel="self" type="application/atom+xml" href="{spec.site}/atom.xml" />',
            f"<id>tag:outlet{spec.index:04d}.example,2025:feed</id>",
            f"<updated>{newest.isoformat()}</updated>",
            f"<author><name>{escape(spec.title)}</name></author>",
        )
    )


class Corpus:
    """N feeds x M entries, rendered lazily; `advance` adds entries at the top of feeds."""

    def __init__(
        self,
        feeds: int,
        entries: int,
        *,
        seed: int = DEFAULT_SEED,
        anchor: datetime = DEFAULT_ANCHOR,
    ) -> None:
        if feeds <= 0 or entries <= 0:
            raise ValueError("feeds and entries must be positive")
        self.seed, self.entries, self.anchor = seed, entries, anchor
        self.specs = [make_spec(seed, i) for i in range(feeds)]
        # The next serial per feed: a feed shows serials [head - entries, head).
        self.heads = [entries] * feeds
        self._fragments: dict[tuple[int, int], str] = {}

    def window(self, index: int) -> range:
        """Serials currently in feed `index`, oldest first."""
        head = self.heads[index]
        return range(head - self.entries, head)

    def advance(self, count: int, index: int | None = None) -> None:
        """Add `count` new entries at the top of one feed (or every feed), dropping the oldest."""
        if count < 0 or count > ADVANCE_ROOM:
            raise ValueError(f"advance by 0..{ADVANCE_ROOM} entries at a time")
        targets = range(len(self.specs)) if index is None else (index,)
        for i in targets:
            for serial in self.window(i)[:count]:
                self._fragments.pop((i, serial), None)
            self.heads[i] += count

    def distinct_entries(self) -> int:
        """How many distinct entries were ever shown, over all feeds."""
        return sum(self.heads)

    def guids(self, index: int) -> list[str]:
        """Every guid feed `index` ever showed."""
        spec = self.specs[index]
        return [entry_guid(spec, s) for s in range(self.heads[index])]

    def _fragment(self, index: int, serial: int) -> str:
        key = (index, serial)
        if key not in self._fragments:
            spec = self.specs[index]
            when = published(spec, serial, self.entries, self.anchor)
            render = rss_item if spec.kind == "rss" else atom_entry
            # Render once without a body to learn what the markup costs, then fill the rest.
            skeleton = render(spec, serial, entry_text(self.seed, spec, serial, 0), when)
            budget = spec.target_bytes // self.entries - len(skeleton.encode()) - HEAD_SHARE
            text = entry_text(self.seed, spec, serial, budget - READ_MORE_COST)
            self._fragments[key] = render(spec, serial, text, when)
        return self._fragments[key]

    def render(self, index: int) -> bytes:
        """The whole document of feed `index`, newest entry first, as UTF-8."""
        spec = self.specs[index]
        serials = list(reversed(self.window(index)))
        newest = published(spec, serials[0], self.entries, self.anchor)
        head = rss_head(spec, newest) if spec.kind == "rss" else atom_head(spec, newest)
        body = "\n".join(self._fragment(index, s) for s in serials)
        tail = "</channel>\n</rss>\n" if spec.kind == "rss" else "</feed>\n"
        return f"{head}\n{body}\n{tail}".encode()


def write_corpus(corpus: Corpus, out: Path) -> dict[str, object]:
    """Write every feed as <index>.xml plus manifest.json; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    feeds = []
    for spec in corpus.specs:
        body = corpus.render(spec.index)
        (out / f"{spec.index}.xml").write_bytes(body)
        feeds.append(
            {
                "id": spec.feed_id,
                "kind": spec.kind,
                "language": spec.language,
                "bytes": len(body),
                "head": corpus.heads[spec.index],
            }
        )
    manifest = {
        "seed": corpus.seed,
        "entries": corpus.entries,
        "anchor": corpus.anchor.isoformat(),
        "distinct_entries": corpus.distinct_entries(),
        "feeds": feeds,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> None:
    """Command line: generate a corpus into a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=40)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--advance", type=int, default=0, help="then add K entries to every feed")
    parser.add_argument("--out", type=Path, default=Path("bench/poll/out/corpus"))
    args = parser.parse_args(argv)
    corpus = Corpus(args.feeds, args.entries, seed=args.seed)
    if args.advance:
        corpus.advance(args.advance)
    manifest = write_corpus(corpus, args.out)
    sizes = [int(f["bytes"]) for f in manifest["feeds"]]  # type: ignore[attr-defined]
    print(
        f"{len(sizes)} feeds, {sum(sizes) / 1e6:.1f} MB, {min(sizes)}..{max(sizes)} bytes each,"
        f" {manifest['distinct_entries']} entries -> {args.out}"
    )


if __name__ == "__main__":
    main()
