"""parse_feed entries: plain text, safe links, stable keys, language (A11-A15)."""

from __future__ import annotations

import pytest

from bot.ingest.urlnorm import link_domain
from tests.support.feeds_gen import item, parse_doc, rss

parse = parse_doc


# --- markup in titles and summaries (A11, A12) ----------------------------------------------


def test_html_in_titles_and_summaries_becomes_plain_text() -> None:
    entry = item(
        title="<p>Hello<br/>world</p> <img src=x onerror=alert(1)> <b>bold &nbsp;a < b & c",
        description="<p>Write to <user@mail.com></p><p>Second&nbsp;para</p><script>x()</script>",
    )
    parsed = parse(rss([entry]))
    assert parsed.entries[0].title == "Hello world bold a < b & c"
    assert parsed.entries[0].summary == "Write to user@mail.com\nSecond para"


def test_plain_text_title_keeps_angle_brackets_as_text() -> None:
    parsed = parse(rss([item(title="Why 2 < 3 & what it means")]))
    assert parsed.entries[0].title == "Why 2 < 3 & what it means"


def test_link_text_spoofing_keeps_no_hidden_target() -> None:
    """A12: anchors lose their href; the visible text stays and is the only URL shown."""
    desc = 'Read <a href="https://evil.example/x">https://gov.by/official</a> now'
    parsed = parse(rss([item(description=desc)]))
    assert parsed.entries[0].summary == "Read https://gov.by/official now"
    assert "evil.example" not in parsed.entries[0].summary


# --- links: schemes, bases, tracking (A13, A14, A15) ----------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(document.cookie)",
        "file:///etc/passwd",
        "tg://resolve?domain=somebot",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/a",
    ],
)
def test_dangerous_link_schemes_are_dropped(link: str) -> None:
    parsed = parse(rss([item(title="t", link=link)]))
    assert parsed.entries[0].url is None


def test_permalink_guid_and_enclosure_with_bad_schemes_give_no_link() -> None:
    extra = (
        '<guid isPermaLink="true">javascript:alert(1)</guid>'
        '<enclosure url="file:///etc/passwd" type="audio/mpeg" length="1"/>'
    )
    parsed = parse(rss([item(title="t", link=None, extra=extra)]))
    assert parsed.entries[0].url is None


def test_xml_base_resolves_relative_links_where_it_says() -> None:
    """A14: the link goes where xml:base says; the displayed domain makes that visible."""
    parsed = parse(rss([item(link="story/1", attrs=' xml:base="https://evil.example/news/"')]))
    url = parsed.entries[0].url
    assert url == "https://evil.example/news/story/1"
    assert link_domain(url) == "evil.example"


@pytest.mark.parametrize("base", ["file:///etc/", "ftp://evil.example/"])
def test_non_http_xml_base_yields_no_link(base: str) -> None:
    parsed = parse(rss([item(link="story/1", attrs=f' xml:base="{base}"')]))
    assert parsed.entries[0].url is None


def test_relative_link_resolves_against_the_fetched_url() -> None:
    headers = {"Content-Location": "https://final.example.org/feeds/all.xml"}
    parsed = parse(rss([item(link="/news/1")]), headers=headers)
    assert parsed.entries[0].url == "https://final.example.org/news/1"


def test_tracking_parameters_and_fragments_are_stripped_from_links_and_keys() -> None:
    link = "https://news.example/a?id=3&utm_source=rss&utm_medium=feed&fbclid=x#top"
    parsed = parse(rss([item(link=link, guid=link)]))
    assert parsed.entries[0].url == "https://news.example/a?id=3"
    assert parsed.entries[0].key == "https://news.example/a?id=3"
    assert parsed.entries[0].guid == link


def test_fifty_distinct_items_sharing_one_guid_get_fifty_keys() -> None:
    items = [
        item(title=f"Story {n}", link="https://a.example/same", guid="same") for n in range(50)
    ]
    parsed = parse(rss(items))
    keys = [e.key for e in parsed.entries]
    assert len(set(keys)) == 50
    assert all(key.startswith("same#") for key in keys)


def test_exact_repeats_of_an_item_collapse_to_one() -> None:
    parsed = parse(rss([item(title="Same", guid="g1")] * 3 + [item(title="Other", guid="g2")]))
    assert [e.key for e in parsed.entries] == ["g1", "g2"]


def test_entry_without_guid_or_link_is_keyed_by_its_content() -> None:
    parsed = parse(rss([item(title="Only a title", link=None)]))
    entry = parsed.entries[0]
    assert entry.key == f"h:{entry.content_hash}"


def test_content_hash_ignores_case_and_whitespace() -> None:
    one = parse(rss([item(title="Talks  Resume", description="<p>In Minsk</p>")]))
    two = parse(rss([item(title="talks resume", description="in   minsk")]))
    assert one.entries[0].content_hash == two.entries[0].content_hash


# --- language and titles ---------------------------------------------------------------------


def test_language_comes_from_the_feed_then_the_item_then_the_argument() -> None:
    items = [item(title="a"), item(title="b", extra="<dc:language>be</dc:language>")]
    ns = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    parsed = parse(rss(items, channel_extra="<language>ru-RU</language>", root_attrs=ns))
    assert [e.language for e in parsed.entries] == ["ru", "be"]
    unnamed = parse(rss([item()], channel_extra="<language>Russian</language>"), language="be")
    assert unnamed.entries[0].language == "be"


def test_missing_title_is_taken_from_the_summary() -> None:
    parsed = parse(rss([item(title=None, description="<p>Only a description here</p>")]))
    assert parsed.entries[0].title == "Only a description here"


def test_entries_with_nothing_to_show_are_dropped() -> None:
    parsed = parse(rss([item(title=None, link=None), item(title="kept")]))
    assert [e.title for e in parsed.entries] == ["kept"]
