"""The skimming SAX reader hides unused elements from feedparser without changing any result."""

from __future__ import annotations

import io
import xml.sax
import xml.sax.handler
from pathlib import Path
from typing import Any

import feedparser
import feedparser.api
import pytest

from bot.ingest import saxdriver
from bot.ingest.parse import parse_feed
from bot.ingest.types import ParsedFeed
from tests.support.feeds_gen import NOW

REALFEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "realfeeds"
RSS_NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def rss(*items: str) -> bytes:
    body = "".join(
        f"<item><link>https://n.example/{i}</link>{x}</item>" for i, x in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {RSS_NS}><channel>'
        f"<title>T</title><link>https://n.example/</link><description>D</description>"
        f"{body}</channel></rss>"
    ).encode()


def atom(*entries: str) -> bytes:
    body = "".join(
        f'<entry><id>urn:e:{i}</id><title>E{i}</title><link href="https://a.example/{i}"/>{x}'
        "</entry>"
        for i, x in enumerate(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>A</title>{body}</feed>"
    ).encode()


FULL = "<content:encoded><![CDATA[<p>The whole article</p>]]></content:encoded>"
SYNTHETIC = {
    "description then full text": rss(
        f"<description>Short &lt;b&gt;lead&lt;/b&gt;</description>{FULL}"
    ),
    "full text then description": rss(f"{FULL}<description>Short lead</description>"),
    "empty description": rss(f"<description></description>{FULL}"),
    "whitespace CDATA description": rss(f"<description><![CDATA[  \n ]]></description>{FULL}"),
    "description of markup only": rss(f'<description>&lt;img src="x.jpg"/&gt;</description>{FULL}'),
    "full text only": rss(FULL),
    "two descriptions around full text": rss(
        f"<description>First</description>{FULL}<description>Second</description>"
    ),
    "categories, authors, creators": rss(
        "<title>Hi</title><category>A</category><category><![CDATA[B & C]]></category>"
        '<author>a@n.example (A)</author><dc:creator xmlns:x="urn:x">Z</dc:creator>'
        "<dc:subject>S</dc:subject><description>Text</description>"
    ),
    "enclosures": rss(
        '<enclosure url="https://n.example/a.mp3" length="1" type="audio/mpeg"/>'
        "<description>Lead</description>",
        '<title>No link of its own</title><enclosure url="https://n.example/b.jpg" type="x"/>',
    ),
    "full text with child elements": rss(
        "<description>Lead</description>"
        "<content:encoded><div><p>nested</p><span>no</span></div>"
        "</content:encoded><title>After</title>"
    ),
    "item-level description empty, next item full": rss(
        f"<description> </description>{FULL}", f"<description>Second lead</description>{FULL}"
    ),
    "atom summary then content": atom(
        '<summary>Lead</summary><content type="html">&lt;p&gt;Body&lt;/p&gt;</content>'
    ),
    "atom content then summary": atom('<content type="html">Body</content><summary>Lead</summary>'),
    "atom content only": atom(
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Body</p></div>'
        "</content>"
    ),
    "atom xhtml summary": atom(
        '<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><b>Lead</b></div>'
        '</summary><content type="text">Body</content><author><name>N</name></author>'
        '<category term="c"/>'
    ),
    "rss 1.0": (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns="http://purl.org/rss/1.0/" {RSS_NS}><channel rdf:about="https://r.example/">'
        "<title>R</title><link>https://r.example/</link><description>D</description></channel>"
        '<item rdf:about="https://r.example/1"><title>One</title><link>https://r.example/1</link>'
        f"<description>Lead</description>{FULL}<dc:creator>C</dc:creator></item></rdf:RDF>"
    ).encode(),
    "text in many pieces": rss(
        "<title>A &amp; B\n&#1041;&#1077;&#1083;\nC</title>"
        "<description>one\n&lt;b&gt;two&lt;/b&gt; &amp;\n<![CDATA[three]]> four</description>"
    ),
    "text longer than the reader's buffer": rss(
        "<title>" + "Long &amp; title " * 6000 + "</title>"
        "<description>" + "Lead &lt;i&gt;x&lt;/i&gt;\n" * 4000 + "</description>" + FULL
    ),
    "malformed inside the full text": rss(
        "<description>Lead</description><content:encoded><p>unclosed</content:encoded>"
    ),
    "malformed inside a category": rss("<description>Lead</description><category>a<b</category>"),
}


def parse(body: bytes) -> ParsedFeed:
    return parse_feed(body, url="https://n.example/feed", headers={}, now=NOW, language="en")


def parse_both(body: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[ParsedFeed, ParsedFeed]:
    skimmed = parse(body)
    with monkeypatch.context() as patch:
        patch.setattr(feedparser.api, "PREFERRED_XML_PARSERS", [])  # stock expat reader
        stock = parse(body)
    return skimmed, stock


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_documents_parse_the_same_as_with_the_stock_reader(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    skimmed, stock = parse_both(SYNTHETIC[name], monkeypatch)
    assert skimmed == stock
    assert skimmed.entries


@pytest.mark.parametrize(
    "name", sorted(p.name for p in REALFEEDS.iterdir() if p.suffix in {".rss", ".atom"})
)
def test_real_feeds_parse_the_same_as_with_the_stock_reader(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    skimmed, stock = parse_both((REALFEEDS / name).read_bytes(), monkeypatch)
    assert skimmed == stock
    assert len(skimmed.entries) >= 15


def raw_entries(body: bytes) -> list[Any]:
    return list(feedparser.parse(io.BytesIO(body), sanitize_html=False).entries)


def test_the_reader_is_in_use_and_hides_what_is_never_read() -> None:
    (entry,) = raw_entries(rss(f"<description>Lead</description><category>C</category>{FULL}"))
    assert entry["summary"] == "Lead"
    assert entry["content"][0]["value"] == ""  # hollowed: the element stays, its text goes
    assert "tags" not in entry


def test_full_text_is_kept_when_it_is_the_only_text() -> None:
    first, second = raw_entries(rss(f"<description> </description>{FULL}", FULL))
    assert first["content"][0]["value"] == "<p>The whole article</p>"
    assert second["content"][0]["value"] == "<p>The whole article</p>"
    assert parse(rss(FULL)).entries[0].summary == "The whole article"


def test_nested_elements_inside_hidden_ones_stay_hidden() -> None:
    body = rss(
        "<description>Lead</description><author><name>N<b>x</b></name><title>In</title>"
        "</author><content:encoded><div><title>Inner</title></div></content:encoded>"
        "<title>Outer</title>"
    )
    (entry,) = raw_entries(body)
    assert entry["title"] == "Outer"
    assert "author" not in entry
    assert "author_detail" not in entry
    assert entry["content"][0]["value"] == ""


def test_full_text_before_the_description_is_kept() -> None:
    (entry,) = raw_entries(rss(f"{FULL}<description>Lead</description>"))
    assert entry["content"][0]["value"] == "<p>The whole article</p>"


def test_errors_inside_hidden_elements_still_make_the_document_malformed() -> None:
    for name in ("malformed inside the full text", "malformed inside a category"):
        parsed = parse(SYNTHETIC[name])
        assert parsed.bozo is not None
        assert parsed.bozo.startswith("SAXParseException")
        assert parsed.entries[0].summary == "Lead"


def test_items_nested_in_hidden_full_text_do_not_break_the_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The stock reader lets feedparser see the nested <item> as a new entry, after which the
    # real item's later title lands on the feed; hidden, the nested markup changes nothing.
    body = rss(
        "<description>Lead</description><content:encoded><div><item>x</item></div>"
        "</content:encoded><title>After</title>"
    )
    skimmed, stock = parse_both(body, monkeypatch)
    assert stock.title == "After"
    assert skimmed.title == "T"
    assert [(e.title, e.summary) for e in skimmed.entries] == [("After", "Lead")]


class TextPieces(xml.sax.handler.ContentHandler):
    """Records every piece of character data the reader hands on."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []

    def characters(self, content: str) -> None:
        self.pieces.append(content)


def test_text_between_two_tags_is_handed_on_in_one_piece() -> None:
    # Each piece is a trip through feedparser: expat alone would split this text at every
    # line end and entity.
    recorder = TextPieces()
    reader = saxdriver.create_parser()
    reader.setFeature(xml.sax.handler.feature_namespaces, True)
    reader.setContentHandler(recorder)
    reader.parse(io.BytesIO(b"<r><t>line one\nline &amp; two &lt;b&gt;\n</t><u>x</u></r>"))
    assert recorder.pieces == ["line one\nline & two <b>\n", "x"]
