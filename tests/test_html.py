"""Telegram HTML helpers: escaping, cleaning, truncation, safe links, plain fallback, length."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from bot.digest.html import (
    clean,
    escape,
    escape_attr,
    html_to_plain,
    link,
    link_domain,
    telegram_length,
    truncate,
    utf16_length,
)
from tests.fakes.botapi_html import parse_html
from tests.fakes.botapi_html import telegram_length as fake_telegram_length

UNSAFE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "tg://resolve?domain=somebot",
    "file:///etc/passwd",
    "data:text/html,<b>x</b>",
    "//evil.example/no-scheme",
    "/relative/path",
    "https://",
    "https://ok.example/\u202egnp.exe",
    "https://ok.example/with space",
    "https://ok.example/new\nline",
    "https://[::1",
    "https://ok.example/" + "a" * 3000,
    "",
    None,
]


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


def hrefs(html: str) -> list[str]:
    parser = _Hrefs()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def test_escape_makes_markup_visible_text() -> None:
    text = "a < b && c > d <script>x</script> &amp; &nbsp; <a@b.org>"
    visible, entities = parse_html(escape(text))
    assert visible == text
    assert entities == 0


def test_escape_attr_escapes_quotes_too() -> None:
    assert escape_attr('a"b&c<d>') == "a&quot;b&amp;c&lt;d&gt;"
    assert '"' not in escape_attr('"' * 5)


def test_clean_drops_bidi_and_control_characters_and_collapses_space() -> None:
    text = "\u202eexe.\u202c  gov\u2066.by\u2069\u200e\u200f\x00\x07 next\tline\nend\u200bword"
    assert clean(text) == "exe. gov.by next line endword"


def test_clean_keeps_emoji_sequences_and_other_scripts() -> None:
    text = "Семья 👨‍👩‍👧 у Мінску 𝔅"
    assert clean(text) == text


def test_truncate_cuts_on_a_word_boundary_with_an_ellipsis() -> None:
    text = "one two three four five six"
    assert truncate(text, 100) == text
    cut = truncate(text, 14)
    assert cut == "one two three…"
    assert len(cut) <= 14


@pytest.mark.parametrize("limit", [1, 2, 5, 17, 50, 299, 300])
def test_truncate_never_exceeds_the_limit(limit: int) -> None:
    for text in ("word " * 200, "x" * 1000, "a, b; c. " * 100, "😀" * 500):
        cut = truncate(text, limit)
        assert len(cut) <= limit
        assert cut.endswith("…")


def test_truncating_before_escaping_never_cuts_an_entity() -> None:
    for limit in range(2, 40):
        html = escape(truncate("&<>" * 100, limit))
        parse_html(html)  # raises on a cut "&am"


def test_long_single_word_is_cut_rather_than_dropped() -> None:
    cut = truncate("Supercalifragilistic" * 10, 20)
    assert cut.startswith("Supercalifragilisti")


def test_link_wraps_http_urls_and_keeps_the_url_exact() -> None:
    url = 'https://ok.example/a?x=1&y=2"onmouseover="alert(1)'
    html = link(url, "Tom & Jerry <3")
    visible, entities = parse_html(html)
    assert visible == "Tom & Jerry <3"
    assert entities == 1
    assert hrefs(html) == [url]


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_link_never_emits_an_anchor_for_unsafe_urls(url: str | None) -> None:
    html = link(url, "<b>title</b>")
    assert "<a" not in html
    assert parse_html(html) == ("<b>title</b>", 0)
    assert link_domain(url) is None


def test_link_domain_shows_the_real_host() -> None:
    assert link_domain("https://www.zerkalo.io/news/1") == "zerkalo.io"
    assert link_domain("HTTP://Example.ORG:8443/x") == "example.org"
    # Text before "@" is user info, not the host the browser opens.
    assert link_domain("https://gov.by@evil.example/x") == "evil.example"


def test_html_to_plain_keeps_text_and_link_targets() -> None:
    html = (
        '<b><a href="https://x.org/?a=1&amp;b=&quot;2&quot;">Tom &amp; Jerry &lt;3</a></b>\n'
        '<i>note</i> <a href="https://same.example/">https://same.example/</a>'
    )
    plain = html_to_plain(html)
    assert plain == ('Tom & Jerry <3 (https://x.org/?a=1&b="2")\nnote https://same.example/')


def test_html_to_plain_round_trips_escaped_text() -> None:
    text = "a &amp; <p> & &nbsp; <a@b.org>"
    assert html_to_plain(escape(text)) == text


def test_telegram_length_counts_utf16_units_like_the_bot_api() -> None:
    samples = ["plain", "😀", "Мінск 𝔅 👨‍👩‍👧", "&lt;b&gt; &amp;"]
    for sample in samples:
        html = f"<b>{escape(sample)}</b> {link('https://a.example/', sample)}"
        visible, _ = parse_html(html)
        assert telegram_length(html) == fake_telegram_length(visible)
    assert utf16_length("😀") == 2
    assert telegram_length("&lt;😀&gt;") == 4
