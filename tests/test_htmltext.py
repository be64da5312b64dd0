"""HTML fragments become readable plain text: no markup, no hidden or spoofing characters."""

from __future__ import annotations

import re
import time

import pytest

from bot.ingest.htmltext import clean_text, html_to_text, truncate

# Markup that survived would look like "<tag", "</tag", "<!..." or "<?...".
TAG_LIKE = re.compile(r"<[A-Za-z/!?]")


def test_block_elements_become_line_breaks_and_source_newlines_spaces() -> None:
    html = "<p>First\nparagraph</p><p>Second<br/>line</p><ul><li>one</li><li>two</li></ul>"
    assert html_to_text(html) == "First paragraph\nSecond\nline\none\ntwo"


def test_single_line_mode_joins_everything_with_spaces() -> None:
    assert html_to_text("<p>a</p><div>b<br>c</div>", multiline=False) == "a b c"


def test_inline_elements_do_not_split_words() -> None:
    assert html_to_text("Mins<b>k</b> and <i>Grodno</i>") == "Minsk and Grodno"


def test_script_style_and_comments_are_dropped_with_their_content() -> None:
    html = (
        "<script>alert('x')</script>A<style>p{color:red}</style>B<!-- hidden -->C"
        "<SCRIPT type='text/javascript'>var a = '<p>';</SCRIPT >D<noscript>E</noscript>"
    )
    assert html_to_text(html) == "ABCD"


def test_entities_are_decoded_once() -> None:
    assert html_to_text("a&nbsp;b &amp; c &#x41;&#66; &copy; &quot;q&quot;") == 'a b & c AB © "q"'


def test_literal_less_than_and_ampersand_survive() -> None:
    assert html_to_text("a < b & c") == "a < b & c"
    assert html_to_text("<p>2 <3 and x<y</p>") == "2 <3 and x"  # "<y" cut off: a broken tag


def test_unterminated_markup_at_the_end_is_dropped_not_shown() -> None:
    assert html_to_text('Text <b class="y') == "Text"
    assert html_to_text("Text <!-- never closed <p>secret</p>") == "Text"
    assert html_to_text("Text <script>never closed") == "Text"


def test_unclosed_inline_tag_keeps_its_text() -> None:
    assert html_to_text("<b>unclosed bold") == "unclosed bold"


def test_attributes_never_reach_the_text() -> None:
    html = '<img src="x" onerror="alert(1)">Pic <a title="a>b" href="https://x.example">t</a>'
    assert html_to_text(html) == "Pic t"


def test_address_in_angle_brackets_is_kept_as_text() -> None:
    assert html_to_text("Write to <user@mail.com> today") == "Write to user@mail.com today"


def test_link_target_is_dropped_and_only_the_visible_text_kept() -> None:
    """A12: the href is never shown, so a look-alike link text cannot lead elsewhere.

    The text "https://gov.by/official" is kept as plain text; a reader who follows it goes
    to gov.by itself. The hidden target evil.example appears nowhere in the output.
    """
    text = html_to_text('See <a href="https://evil.example">https://gov.by/official</a>.')
    assert text == "See https://gov.by/official."
    assert "evil" not in text


def test_html_escaped_twice_by_the_publisher_is_still_plain_text() -> None:
    assert html_to_text("&lt;p&gt;Talks &lt;b&gt;resume&lt;/b&gt;&lt;/p&gt;") == "Talks resume"


def test_text_that_merely_mentions_a_tag_name_is_kept() -> None:
    assert html_to_text("Use the &lt;blink&gt; element") == "Use the <blink> element"


def test_bidi_controls_zero_width_and_control_characters_are_removed() -> None:
    spoof = "gov\u202e.by\u202c \u2066x\u2069 Лука\u200bшенко\u00ad \x00\x07bell \U000e0041tag"
    assert clean_text(spoof) == "gov.by x Лукашенко bell tag"


def test_joiners_needed_by_emoji_and_scripts_are_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f"{family} \u200cx") == f"{family} \u200cx"


def test_char_references_to_controls_and_surrogates_do_not_survive() -> None:
    text = html_to_text("a&#x202E;b&#0;c&#55296;d")
    assert "\u202e" not in text
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    text.encode("utf-8")  # would raise on a lone surrogate


@pytest.mark.parametrize(
    "html",
    [
        "<p>Hello<br/>world</p>",
        "<img src=x onerror=alert(1)>",
        "<b>bold",
        "a <b",
        "<div<p>x",
        "<![CDATA[x]]>y",
        "<?php echo 1; ?>z",
        "<!DOCTYPE html><html><body>b</body></html>",
        '<a href="javascript:alert(1)">click</a>',
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "<svg/onload=alert(1)>after",
        "<<b>>",
    ],
)
def test_output_never_contains_markup(html: str) -> None:
    assert not TAG_LIKE.search(html_to_text(html))


@pytest.mark.parametrize(
    "html",
    ["<a " * 50_000, "<a title='" * 50_000, "<!--" * 50_000, "<p>" * 50_000 + "x", "&" * 200_000],
)
def test_pathological_markup_takes_linear_time(html: str) -> None:
    started = time.perf_counter()
    html_to_text(html)
    assert time.perf_counter() - started < 1.0


def test_max_input_bounds_the_work_on_huge_fragments() -> None:
    huge = "<p>" + "word " * 2_000_000 + "</p>"
    started = time.perf_counter()
    text = html_to_text(huge, max_input=10_000)
    assert time.perf_counter() - started < 0.5
    assert len(text) <= 10_000


def test_truncate_cuts_on_a_word_boundary_with_an_ellipsis() -> None:
    assert truncate("Lukashenko met the delegation in Minsk", 20) == "Lukashenko met the…"
    assert len(truncate("Lukashenko met the delegation in Minsk", 20)) <= 20


def test_truncate_hard_cuts_a_single_giant_word() -> None:
    assert truncate("x" * 50, 10) == "x" * 9 + "…"


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("short", 10) == "short"
