"""A10: the real encoding of a feed body is found; mojibake never comes out."""

from __future__ import annotations

import codecs

import pytest

from bot.errors import ParseError
from bot.ingest.types import ParsedFeed
from tests.support.feeds_gen import MOJIBAKE, item, parse_doc, rss

RU_TITLE = "Лукашенко встретился с председателем КГБ"
BE_TITLE = "Лукашэнка сустрэўся з дэлегацыяй ЗША"
PL_TITLE = "Łukaszenka spotkał się z delegacją. Źródło: gęś, żółw"


def cyrillic_feed(declaration: str | None, *, russian_only: bool = False) -> str:
    """Russian and Belarusian items; KOI8-R has no "і"/"ў", so it gets Russian only."""
    prolog = f'<?xml version="1.0" encoding="{declaration}"?>\n' if declaration else ""
    items = [
        item(title=RU_TITLE, description="<p>Заявление КГБ о задержании</p>"),
        item(title=RU_TITLE if russian_only else BE_TITLE, link="https://example.org/b"),
    ]
    return rss(items, title="Новости" if russian_only else "Навіны", prolog=prolog)


def titles(parsed: ParsedFeed) -> list[str]:
    return [parsed.title, *(e.title for e in parsed.entries), *(e.summary for e in parsed.entries)]


def assert_clean_cyrillic(parsed: ParsedFeed) -> None:
    assert [e.title for e in parsed.entries] == [RU_TITLE, BE_TITLE]
    assert parsed.entries[0].summary == "Заявление КГБ о задержании"
    assert parsed.title == "Навіны"
    assert not any(bad in text for text in titles(parsed) for bad in MOJIBAKE)
    assert parsed.bozo is None  # transcoded bytes went through the strict XML parser


def test_utf8_body_declared_us_ascii_is_read_as_utf8() -> None:
    body = cyrillic_feed("us-ascii").encode("utf-8")
    parsed = parse_doc(body, headers={"content-type": "text/xml; charset=us-ascii"})
    assert_clean_cyrillic(parsed)
    assert parsed.encoding == "utf-8"


@pytest.mark.parametrize("language", ["ru", "be", "en"])  # a wrong hint must not matter
def test_undeclared_windows_1251_is_detected(language: str) -> None:
    parsed = parse_doc(cyrillic_feed(None).encode("cp1251"), language=language)
    assert_clean_cyrillic(parsed)
    assert parsed.encoding == "cp1251"


def test_windows_1251_mislabelled_as_latin1_is_corrected() -> None:
    body = cyrillic_feed("iso-8859-1").encode("cp1251")
    parsed = parse_doc(body, headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    assert_clean_cyrillic(parsed)
    assert parsed.encoding == "cp1251"


def test_declared_koi8_r_is_honoured() -> None:
    parsed = parse_doc(cyrillic_feed("koi8-r", russian_only=True).encode("koi8_r"))
    assert [e.title for e in parsed.entries] == [RU_TITLE, RU_TITLE]
    assert parsed.encoding == "koi8-r"


def test_undeclared_koi8_r_is_told_apart_from_windows_1251() -> None:
    parsed = parse_doc(cyrillic_feed(None, russian_only=True).encode("koi8_r"))
    assert parsed.entries[0].title == RU_TITLE
    assert parsed.encoding == "koi8_r"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    body = bom + cyrillic_feed("utf-16").encode(codec)
    assert_clean_cyrillic(parse_doc(body))


def test_utf8_byte_order_mark_and_leading_blank_lines_are_tolerated() -> None:
    body = codecs.BOM_UTF8 + b"\n\n" + cyrillic_feed("utf-8").encode("utf-8")
    parsed = parse_doc(body)
    assert_clean_cyrillic(parsed)
    assert parsed.bozo is None


def test_undeclared_windows_1250_polish_is_not_read_as_windows_1252() -> None:
    parsed = parse_doc(rss([item(title=PL_TITLE)]).encode("cp1250"), language="en")
    assert parsed.entries[0].title == PL_TITLE


def test_undeclared_latin_text_uses_the_language_hint() -> None:
    title = "Notícias: simulações de 2º turno"
    parsed = parse_doc(rss([item(title=title)]).encode("cp1252"), language="pt")
    assert parsed.entries[0].title == title


def test_bytes_that_read_as_nothing_are_refused_as_encoding_unknown() -> None:
    junk = bytes(range(0x80, 0x100)) * 20
    body = rss([item(title="PLACEHOLDER")]).encode().replace(b"PLACEHOLDER", junk)
    with pytest.raises(ParseError) as caught:
        parse_doc(body)
    assert caught.value.reason == "encoding_unknown"


def test_invalid_utf16_after_its_marker_is_encoding_unknown() -> None:
    body = codecs.BOM_UTF16_LE + b"<\x00r\x00\x00\xd8"  # a lone surrogate half
    with pytest.raises(ParseError) as caught:
        parse_doc(body)
    assert caught.value.reason == "encoding_unknown"
