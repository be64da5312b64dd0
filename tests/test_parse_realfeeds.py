"""Real feed documents from ../shared/fixtures/realfeeds parse completely and cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.ingest.parse import parse_feed
from bot.ingest.types import ParsedFeed
from tests.support.feeds_gen import MOJIBAKE, NOW

REALFEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "realfeeds"
# HTML tags that would mean markup leaked; XML shown as code in a post ("<errors ...>" in
# feedburner's <pre> block) is the post's visible text and rightly stays.
HTML_TAG = re.compile(
    r"</?(?:a|b|i|p|br|div|img|span|strong|em|script|style|iframe|table|tr|td|li|ul|ol|h[1-6])\b",
    re.IGNORECASE,
)

# file, items counted by hand (<item>/<entry> elements), source encoding, catalog language,
# words that must appear in some title, the feed title.
CASES = [
    ("annshimko__onliner_feed_2021-10-26.rss", 30, "utf-8", "ru",
     ["Спутник", "Белинвестбанка"], "Onliner"),
    ("newscloning__tutby_all_2019-12-30.rss", 100, "utf-8", "ru",
     ["Лукашенко", "Беларуси", "салідарнасці", "Віцебску"], "TUT.BY: Новости ТУТ"),
    ("rss-parser__craigslist.rss", 25, "utf-8", "en",
     ["Victorian", "Pacific Heights"], "craigslist SF bay area | apts/housing for rent search"),
    ("rss-parser__encoding.rss", 40, "cp1252", "pt",
     ["Mãe", "Raríssimas", "Reações"], "Jornal de Notícias - Últimas Notícias"),
    ("rss-parser__feedburner.atom", 25, "utf-8", "en",
     ["AdWords API"], "Google Ads Developer Blog"),
    ("rss-parser__guardian.rss", 55, "utf-8", "en",
     ["State of the Union"], "The Guardian"),
    ("rss-parser__heise.atom", 15, "utf-8", "de",
     ["WildFly", "veröffentlicht"], "heise developer neueste Meldungen"),
    ("rss-parser__rss-1.rss", 69, "utf-8", "en",
     ["Food for fungi"], "Science twis"),
    ("rss-parser__uolNoticias.rss", 15, "cp1252", "pt",
     ["simulações", "inquérito", "Pré Aprendiz"], "UOL Noticias"),
]  # fmt: skip


def load(name: str, language: str) -> ParsedFeed:
    body = (REALFEEDS / name).read_bytes()
    headers = {"content-type": "application/rss+xml", "content-location": "https://feeds.example/"}
    return parse_feed(
        body, url="https://feeds.example/", headers=headers, now=NOW, language=language
    )


def test_every_fixture_is_covered() -> None:
    on_disk = {p.name for p in REALFEEDS.iterdir() if p.suffix in {".rss", ".atom"}}
    assert on_disk == {case[0] for case in CASES}


@pytest.mark.parametrize(("name", "count", "encoding", "language", "words", "title"), CASES)
def test_real_feed_parses_every_item_without_mojibake(
    name: str, count: int, encoding: str, language: str, words: list[str], title: str
) -> None:
    parsed = load(name, language)
    assert len(parsed.entries) == count
    assert not parsed.truncated
    assert parsed.encoding == encoding
    assert parsed.title == title
    texts = [e.title for e in parsed.entries] + [e.summary for e in parsed.entries]
    assert not [t for t in texts if any(bad in t for bad in MOJIBAKE)]
    all_titles = " ".join(e.title for e in parsed.entries)
    assert [w for w in words if w not in all_titles] == []


@pytest.mark.parametrize(("name", "language"), [(c[0], c[3]) for c in CASES])
def test_real_feed_entries_honour_the_contract(name: str, language: str) -> None:
    parsed = load(name, language)
    assert len({e.key for e in parsed.entries}) == len(parsed.entries)
    for entry in parsed.entries:
        assert entry.title
        assert entry.url is not None
        assert entry.url.startswith(("http://", "https://"))
        assert not HTML_TAG.search(entry.title)
        assert not HTML_TAG.search(entry.summary)
        assert entry.published_at.tzinfo is not None
        assert entry.published_at <= NOW
        assert len(entry.content_hash) == 64


def test_tutby_links_lose_their_utm_tracking() -> None:
    parsed = load("newscloning__tutby_all_2019-12-30.rss", "ru")
    assert all("utm_" not in (e.url or "") and "utm_" not in e.key for e in parsed.entries)
    assert parsed.entries[0].url == "https://news.tut.by/go/666242.html"


def test_feed_language_beats_the_catalog_hint() -> None:
    assert {e.language for e in load("rss-parser__guardian.rss", "ru").entries} == {"en"}
    assert {e.language for e in load("annshimko__onliner_feed_2021-10-26.rss", "en").entries} == {
        "ru"
    }


def test_escaped_html_descriptions_become_readable_text() -> None:
    parsed = load("rss-parser__guardian.rss", "en")
    first = parsed.entries[0].summary
    assert first.startswith("The president’s ‘new American moment’ speech")
    assert "Continue reading..." in first
