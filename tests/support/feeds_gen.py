"""Builders for feed documents used by the parser tests: ordinary, realistic and hostile."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from bot.ingest.parse import parse_feed
from bot.ingest.types import ParsedFeed

XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n'
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example.org/rss"
# What UTF-8 or windows-1251 Cyrillic looks like when decoded with the wrong code page.
MOJIBAKE = ("Ð", "Ñ", "Ã", "Â", "\ufffd", "Ëó", "ÊÃÁ")


def parse_doc(doc: str | bytes, **options: Any) -> ParsedFeed:
    """parse_feed with test defaults (feed URL, no headers, fixed clock, English)."""
    body = doc.encode() if isinstance(doc, str) else doc
    options.setdefault("url", FEED_URL)
    options.setdefault("headers", {})
    options.setdefault("now", NOW)
    options.setdefault("language", "en")
    return parse_feed(body, **options)


def item(
    *,
    title: str | None = "An item",
    link: str | None = "https://example.org/a",
    guid: str | None = None,
    description: str | None = None,
    pub_date: str | None = None,
    extra: str = "",
    attrs: str = "",
) -> str:
    """One RSS <item>; text values are XML-escaped, `extra` is inserted as raw XML."""
    parts = [f"<item{attrs}>"]
    if title is not None:
        parts.append(f"<title>{escape(title)}</title>")
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f"<guid>{escape(guid)}</guid>")
    if description is not None:
        parts.append(f"<description>{escape(description)}</description>")
    if pub_date is not None:
        parts.append(f"<pubDate>{escape(pub_date)}</pubDate>")
    parts.append(extra)
    parts.append("</item>")
    return "".join(parts)


def rss(
    items: list[str] | tuple[str, ...],
    *,
    title: str = "Test feed",
    prolog: str = XML_DECL,
    channel_extra: str = "",
    root_attrs: str = "",
) -> str:
    """An RSS 2.0 document around the given <item> strings."""
    return (
        f'{prolog}<rss version="2.0"{root_attrs}><channel><title>{escape(title)}</title>'
        f"<link>https://example.org/</link>{channel_extra}{''.join(items)}</channel></rss>\n"
    )


def billion_laughs(levels: int = 10) -> bytes:
    """Nested entity definitions: 10 levels of 10 references expand to 10^10 "lol"s."""
    defs = ['<!ENTITY lol0 "lol">']
    defs += [
        f'<!ENTITY lol{n} "{"".join(f"&lol{n - 1};" for _ in range(10))}">'
        for n in range(1, levels)
    ]
    doctype = f"<!DOCTYPE rss [\n{chr(10).join(defs)}\n]>\n"
    doc = rss([item(title="x")], prolog=XML_DECL + doctype)
    return doc.replace("<title>x</title>", f"<title>&lol{levels - 1};</title>").encode()


def quadratic_blowup(entity_size: int = 50_000, references: int = 10_000) -> bytes:
    """One flat entity of `entity_size` bytes referenced `references` times."""
    doctype = f'<!DOCTYPE rss [<!ENTITY a "{"a" * entity_size}">]>\n'
    doc = rss([item(title="x")], prolog=XML_DECL + doctype)
    return doc.replace("<title>x</title>", f"<title>{'&a;' * references}</title>").encode()


def external_entity(system_id: str) -> bytes:
    """A title made of an external entity pointing at `system_id` (a file or URL)."""
    doctype = f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{system_id}">]>\n'
    doc = rss([item(title="x")], prolog=XML_DECL + doctype)
    return doc.replace("<title>x</title>", "<title>&x;</title>").encode()


def doctype_system_id(system_id: str) -> bytes:
    """A DOCTYPE with only an external system id (no internal subset)."""
    doctype = f'<!DOCTYPE rss SYSTEM "{system_id}">\n'
    return rss([item(title="Harmless")], prolog=XML_DECL + doctype).encode()


def redos_authors(items: int = 200, segments: int = 5_000) -> bytes:
    """feedparser issue 562: author e-mails that make its address regex backtrack.

    In <managingEditor>, which feedparser reads exactly like <author>: the skimming reader
    (bot.ingest.saxdriver) hides <author> elements, so they no longer reach the regex.
    """
    author = "a@" + "a." * segments + "!"  # "!" is no valid TLD: the regex must give up
    editor = f"<managingEditor>{author}</managingEditor>"
    body = [
        item(title=f"Item {n}", link=f"https://example.org/{n}", extra=editor) for n in range(items)
    ]
    return rss(body).encode()


def many_items(count: int) -> bytes:
    """An RSS document with `count` small, distinct items (built fast, for the size caps)."""
    body = [
        f"<item><title>Item {n}</title><link>https://example.org/{n}</link></item>"
        for n in range(count)
    ]
    return rss(body).encode()


_PARAGRAPH = (
    "<p>The <b>foreign ministry</b> said on Tuesday that talks with "
    '<a href="https://example.org/talks?utm_source=rss">the delegation</a> would resume '
    "next month, after a pause of several weeks &mdash; officials declined to comment "
    'further. <img src="https://example.org/i.jpg" alt="photo" width="640" height="360"/>'
    "</p>\n"
)


def realistic_rss(entries: int = 40, target_size: int = 66_000) -> bytes:
    """A news-like RSS document of about `target_size` bytes: HTML descriptions, categories."""
    bare = len(_news_item(0, "")) * entries + len(rss([]))
    per_entry = max(0, (target_size - bare) // entries)
    paragraphs, rest = divmod(per_entry, len(escape(_PARAGRAPH)))
    html = _PARAGRAPH * max(1, paragraphs) + f"<p>{'more ' * (max(0, rest - 15) // 5)}</p>"
    body = [_news_item(n, html) for n in range(entries)]
    return rss(body, channel_extra="<language>en</language>").encode()


def _news_item(n: int, html: str) -> str:
    extra = (
        "<category>Politics</category><category>World</category>"
        f'<enclosure url="https://example.org/{n}.jpg" type="image/jpeg" length="1000"/>'
        "<author>desk@example.org (News desk)</author>"
    )
    return item(
        title=f"Talks between delegations resume, day {n}",
        link=f"https://example.org/news/{n}?utm_source=rss&id={n}",
        guid=f"https://example.org/news/{n}",
        description=html,
        pub_date=f"Tue, 0{1 + n % 9} Apr 2025 1{n % 10}:30:00 +0300",
        extra=extra,
    )
