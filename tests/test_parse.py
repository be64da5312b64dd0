"""parse_feed on hostile documents: entities, non-feeds, malformed XML, dates, sizes."""

from __future__ import annotations

import socket
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ParseError
from tests.support.feeds_gen import (
    NOW,
    XML_DECL,
    billion_laughs,
    doctype_system_id,
    external_entity,
    item,
    many_items,
    parse_doc,
    quadratic_blowup,
    rss,
)

parse = parse_doc


def reason_of(doc: str | bytes, **options: Any) -> str:
    with pytest.raises(ParseError) as caught:
        parse(doc, **options)
    return caught.value.reason


# Audit hooks cannot be removed, so one hook is installed and switched on per test.
_opened: list[str] = []
_watch: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _watch and args and _watch[0] in str(args[0]):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def tripwire(tmp_path: Path) -> Iterator[Path]:
    """A secret file whose every open() during the test is recorded."""
    path = tmp_path / "tripwire-secret.txt"
    path.write_text("TRIPWIRE-CONTENT-7f3a")
    _opened.clear()
    _watch[:] = [path.name]
    yield path
    _watch.clear()


# --- empty bodies and non-feeds (A18) -------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \r\n\t "])
def test_empty_body_is_refused(body: bytes) -> None:
    assert reason_of(body) == "empty_body"


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Login</title></head><body>x</body></html>",
        b"\n<html lang='en'><body><p>Please sign in</p></body></html>",
        b'{"error": "rate limited"}',
        b'[{"title": "not a feed"}]',
        b"Internal Server Error",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b'<?xml version="1.0"?><note><to>Tove</to><body>not a feed</body></note>',
    ],
)
def test_non_feed_documents_are_refused_as_not_a_feed(body: bytes) -> None:
    assert reason_of(body) == "not_a_feed"


def test_feed_without_items_is_valid_and_empty() -> None:
    parsed = parse(rss([], title="Quiet feed"))
    assert parsed.entries == []
    assert parsed.title == "Quiet feed"


# --- entity expansion and external references (A1-A4) --------------------------------------


def test_billion_laughs_is_refused_fast_and_small() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert reason_of(billion_laughs()) == "xml_entities_forbidden"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2.0
    assert peak < 50 * 1024 * 1024


def test_quadratic_blowup_is_refused_fast() -> None:
    started = time.perf_counter()
    assert reason_of(quadratic_blowup()) == "xml_entities_forbidden"
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "prolog",
    [
        '<!-- <x --><!DOCTYPE rss [<!ENTITY a "boom">]>',  # hidden behind an element-like comment
        '<!doctype rss [<!entity a "boom">]>',  # lower case
        "<!DOCTYPE rss [ ]>",  # an empty internal subset is still refused
        '<!ENTITY a "boom">',  # a stray declaration without DOCTYPE
    ],
)
def test_entity_declarations_are_refused_however_written(prolog: str) -> None:
    doc = rss([item(title="x")], prolog=XML_DECL + prolog + "\n")
    assert reason_of(doc) == "xml_entities_forbidden"


def test_external_entity_is_refused_and_the_file_never_opened(tripwire: Path) -> None:
    with pytest.raises(ParseError) as caught:
        parse(external_entity(tripwire.as_uri()))
    assert caught.value.reason == "xml_entities_forbidden"
    assert "TRIPWIRE" not in str(caught.value)
    assert _opened == []


def test_doctype_system_file_id_is_never_opened(tripwire: Path) -> None:
    parsed = parse(doctype_system_id(tripwire.as_uri()))
    assert [e.title for e in parsed.entries] == ["Harmless"]
    assert _opened == []


def test_doctype_system_url_makes_no_connection() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        parsed = parse(doctype_system_id(f"http://127.0.0.1:{port}/dtd"))
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected while parsing
    finally:
        listener.close()
    assert [e.title for e in parsed.entries] == ["Harmless"]


# --- malformed XML (A9) ---------------------------------------------------------------------


def test_malformed_xml_still_yields_entries_and_notes_bozo() -> None:
    doc = (
        '<rss version="2.0"><channel><title>Broken</title>'
        "<item><title>Unclosed <b>bold</title><link>https://a.example/1</link></item>"
        "<item><title>Second</title><link>https://a.example/2</link>"
        "</channel>"
    )
    parsed = parse(doc)
    assert [e.title for e in parsed.entries] == ["Unclosed bold", "Second"]
    assert parsed.bozo is not None
    assert len(parsed.bozo) <= 200


# --- dates (A16) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        (None, NOW),  # missing: fetch time
        ("Fri, 01 Jan 2099 00:00:00 GMT", NOW),  # future: clamped
        ("Sun, 31 Jun 2024 10:00:00 GMT", NOW),  # impossible day: unreadable, fetch time
        ("not a date", NOW),
        ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),  # naive: read as UTC
        ("Mon, 01 Apr 2024 12:00:00 +0300", datetime(2024, 4, 1, 9, 0, tzinfo=UTC)),  # Minsk
        ("2024-04-01T12:00:00+03:00", datetime(2024, 4, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_publication_dates_are_aware_utc_and_never_in_the_future(
    pub_date: str | None, expected: datetime
) -> None:
    published = parse(rss([item(pub_date=pub_date)])).entries[0].published_at
    assert published == expected
    assert published.utcoffset() == timedelta(0)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse(rss([item()]), now=datetime(2025, 1, 1))


# --- sizes (A17) ----------------------------------------------------------------------------


def test_hundred_thousand_items_are_capped_quickly() -> None:
    started = time.perf_counter()
    parsed = parse(many_items(100_000))
    assert time.perf_counter() - started < 5.0
    assert len(parsed.entries) == 500
    assert parsed.truncated
    assert parsed.entries[-1].title == "Item 499"


def test_entry_cap_is_configurable_and_exact_counts_are_not_truncated() -> None:
    assert parse(many_items(30), max_entries=30).truncated is False
    capped = parse(many_items(30), max_entries=7)
    assert (len(capped.entries), capped.truncated) == (7, True)


def test_huge_title_and_summary_are_capped_on_word_boundaries() -> None:
    words = "Лукашенко встретился с делегацией " * 15_000  # about 500 KB
    parsed = parse(rss([item(title=words, description=f"<p>{words}</p>")]))
    entry = parsed.entries[0]
    assert len(entry.title) <= 1000
    assert entry.title.endswith("…")
    assert len(entry.summary) <= 4000
    assert entry.summary.endswith("…")
    assert entry.summary[:-1].split()[-1] in {"Лукашенко", "встретился", "с", "делегацией"}
