"""Alerts and digests: valid Telegram HTML within limits, ordered, localised, in three languages."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.digest import compose
from bot.digest.compose import compose_alert, compose_digest
from bot.digest.html import html_to_plain
from bot.digest.model import DigestRequest, Reader, Source, StoryEntry, TopicText, WhyHit
from bot.i18n import LOCALES_DIR, Translate, translator
from tests.fakes.botapi_html import parse_html, telegram_length
from tests.test_html import UNSAFE_URLS, hrefs

NOW = datetime(2026, 11, 28, 11, 5, tzinfo=UTC)
MINSK = Reader("en", "Europe/Minsk")
TOPICS = (
    TopicText("engage", "R1", "Engagement", "Keep a channel to Minsk open."),
    TopicText("prisoners", "R2", "Prisoners", "Trade sanctions relief for releases."),
    TopicText("trade", "R3", "Trade", "Test small steps first."),
    TopicText("migration", None, "Migration"),
    TopicText("sanctions", None, "Sanctions"),
    TopicText("energy", None, "Energy"),
)
HOSTILE = [
    "<script>alert(1)</script>",
    "<p>para</p> line<br/>break <img src=x onerror=y>",
    "Tom &amp; Jerry a&nbsp;b fish & chips &#x1F600; &lt;",
    "write to <a@b.org> or <b>unclosed",
    "quote \" and ' marks",
    "\u202egnp.exe\u202c gov.by \u2066isolate\u2069 \u200fmark\u200e",
    "ctrl\x00\x07\x1b chars",
    "😀👨‍👩‍👧 𝔅 emoji",
]
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def story(item_id: int, **changes: Any) -> StoryEntry:
    base = StoryEntry(
        item_id=item_id,
        title=f"Story {item_id:03d}",
        url=f"https://news.example/story/{item_id}",
        source=Source("Zerkalo", "independent-media"),
        published_at=NOW,
        score=1.0,
        urgent=False,
        recommendations=("R2",),
        themes=("sanctions",),
    )
    return replace(base, **changes)


def en() -> Translate:
    return translator("en")


def sendable(message: str) -> str:
    """Assert Telegram would take the message; return its visible text."""
    visible, _ = parse_html(message)
    assert telegram_length(visible) <= 4096
    assert len(message) <= 8192
    return visible


def hostile_story(item_id: int, text: str, url: str | None) -> StoryEntry:
    hit = WhyHit("sanctions", text, text, "summary", text)
    return story(
        item_id,
        title=text,
        url=url,
        source=Source(text, "state-media"),
        why=(hit,),
        also_reported_by=(Source(text, "ngo"),),
    )


# --- alerts ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "be", "ru"])
@pytest.mark.parametrize("text", HOSTILE)
def test_alert_with_hostile_feed_text_parses_and_shows_it_as_text(language: str, text: str) -> None:
    topics = (*TOPICS, TopicText("sanctions", None, text))
    entry = hostile_story(1, text, "https://ok.example/a")
    visible = sendable(compose_alert(entry, Reader(language), topics, translator(language)))
    assert not BIDI.search(visible)
    if "<a@b.org>" in text:
        assert "<a@b.org>" in visible
    if "<script>" in text:
        assert "<script>alert(1)</script>" in visible


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_alert_links_only_http_urls(url: str | None) -> None:
    message = compose_alert(story(1, url=url, title="Title"), MINSK, TOPICS, en())
    visible = sendable(message)
    assert "<a " not in message
    assert "Title" in visible


def test_alert_keeps_quotes_in_urls_inside_the_href() -> None:
    url = 'https://ok.example/x?a=1&b="2"'
    message = compose_alert(story(1, url=url), MINSK, TOPICS, en())
    sendable(message)
    assert hrefs(message) == [url]


def test_alert_with_huge_fields_stays_within_the_limit() -> None:
    huge = "word " * 2000
    hits = tuple(WhyHit("sanctions", huge, huge, "title", huge) for _ in range(10))
    entry = story(
        1,
        title="x" * 10_000,
        source=Source(huge, "government"),
        why=hits,
        recommendations=tuple(f"R{i}" for i in range(40)),
        themes=tuple(f"theme{i}" for i in range(40)),
        also_reported_by=tuple(Source(huge, "ngo") for _ in range(50)),
    )
    topics = tuple(TopicText(f"t{i}", f"R{i}", huge, huge) for i in range(40))
    visible = sendable(compose_alert(entry, MINSK, topics, en()))
    title = visible.splitlines()[0]
    assert len(title) <= 300
    assert title.endswith("…")
    assert visible.count("• ") == 3


def test_alert_counts_astral_characters_as_two_units() -> None:
    entry = story(1, title="😀" * 1000, why=(WhyHit("x", "😀", "😀", "title", "😀" * 1000),))
    visible = sendable(compose_alert(entry, MINSK, TOPICS, en()))
    assert "😀" * 200 in visible


def test_alert_shows_every_part_in_order() -> None:
    hits = tuple(WhyHit("prisoners", f"term{i}", f"word{i}", "title", f"snip{i}") for i in range(5))
    entry = story(
        1,
        title="Pardons announced",
        url="https://www.zerkalo.io/news/1",
        urgent=True,
        recommendations=("R2",),
        themes=("sanctions",),
        why=hits,
        also_reported_by=(Source("BelTA", "state-media"), Source("Reuters", "international")),
    )
    message = compose_alert(entry, MINSK, TOPICS, en())
    lines = sendable(message).splitlines()
    assert lines[:4] == [
        "⚡ Urgent",
        "Pardons announced",
        "Zerkalo (independent media) · zerkalo.io",
        "28 Nov 2026, 14:05 (Europe/Minsk)",
    ]
    assert lines[4] == "#R2 Prisoners · #sanctions Sanctions"
    assert lines[5] == "Why:"
    assert lines[6:9] == [f"• term{i} → word{i}, in the title: snip{i}" for i in range(3)]
    assert lines[9] == "Also reported by: BelTA, Reuters"
    assert "<b><a href=" in message
    assert "<i>snip0</i>" in message


def test_alert_without_urgency_or_other_outlets_has_no_such_lines() -> None:
    visible = sendable(compose_alert(story(1), MINSK, TOPICS, en()))
    assert "Urgent" not in visible
    assert "Also reported by" not in visible
    assert "Why:" not in visible


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (datetime(2026, 11, 28, 23, 30, tzinfo=UTC), "29 Nov 2026, 02:30 (Europe/Minsk)"),
        (datetime(2026, 3, 8, 6, 30, tzinfo=UTC), "8 Mar 2026, 01:30 (America/New_York)"),
        (datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "8 Mar 2026, 03:30 (America/New_York)"),
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "1 Nov 2026, 01:30 (America/New_York)"),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "1 Nov 2026, 01:30 (America/New_York)"),
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), "1 Nov 2026, 02:30 (America/New_York)"),
    ],
)
def test_alert_time_is_local_to_the_reader(published: datetime, expected: str) -> None:
    zone = expected.split("(")[1].rstrip(")")
    message = compose_alert(story(1, published_at=published), Reader("en", zone), TOPICS, en())
    assert expected in sendable(message).splitlines()


def test_alert_in_an_unknown_zone_falls_back_to_utc() -> None:
    message = compose_alert(story(1), Reader("en", "Mars/Olympus"), TOPICS, en())
    assert "28 Nov 2026, 11:05 (UTC)" in sendable(message)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("be", "28 лістапада 2026, 14:05"), ("ru", "28 ноября 2026, 14:05")],
)
def test_alert_dates_use_genitive_month_names(language: str, expected: str) -> None:
    message = compose_alert(
        story(1), Reader(language, "Europe/Minsk"), TOPICS, translator(language)
    )
    assert expected in sendable(message)


# --- digests -----------------------------------------------------------------------------

SECTION = re.compile(r"^<b>(.+)</b> \((\d+)\)$")
EXPECTED_SECTIONS = [
    "#R1 · Engagement",
    "#R2 · Prisoners",
    "#R3 · Trade",
    "Migration",
    "Sanctions",
    "Energy",
    "Other",
]


def big_digest(count: int = 300) -> tuple[DigestRequest, dict[str, list[StoryEntry]]]:
    """Stories spread over every kind of section, shuffled, with score ties."""
    kinds: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
        (("R3", "R1"), ("sanctions",), "#R3 · Trade"),
        (("R1",), (), "#R1 · Engagement"),
        (("R2",), ("energy",), "#R2 · Prisoners"),
        ((), ("energy", "migration"), "Energy"),
        ((), ("migration",), "Migration"),
        ((), ("sanctions",), "Sanctions"),
        ((), (), "Other"),
    ]
    stories: list[StoryEntry] = []
    expected: dict[str, list[StoryEntry]] = {name: [] for name in EXPECTED_SECTIONS}
    for i in range(count):
        recommendations, themes, section = kinds[i % len(kinds)]
        entry = story(
            i,
            title=f"Story {i:03d} " + "lorem ipsum " * 15,
            score=(i * 37 % 11) / 10,
            published_at=NOW - timedelta(minutes=i),
            recommendations=recommendations,
            themes=themes,
            also_reported_by=(Source("BelTA", "state-media"),) if i % 3 else (),
        )
        stories.append(entry)
        expected[section].append(entry)
    for entries in expected.values():
        entries.sort(key=lambda s: (-s.score, -s.published_at.timestamp()))
    random.Random(7).shuffle(stories)
    start = datetime(2026, 11, 22, 21, tzinfo=UTC)
    request = DigestRequest("week", start, start + timedelta(days=7), tuple(stories), TOPICS)
    return request, expected


def read_digest(parts: list[str]) -> dict[str, tuple[int, list[int]]]:
    """Section title -> (count shown, story ids in order), checking each line's shape."""
    sections: dict[str, tuple[int, list[int]]] = {}
    current: list[int] = []
    for number, part in enumerate(parts, start=1):
        sendable(part)
        lines = part.split("\n")
        if number > 1:
            assert lines.pop(0) == f"<i>(continued, {number}/{len(parts)})</i>"
        for line in lines:
            header = SECTION.match(line)
            if header:
                assert header.group(1) not in sections, "a section header is repeated"
                current = []
                sections[header.group(1)] = (int(header.group(2)), current)
            elif line.startswith("• "):
                (href,) = hrefs(line)
                current.append(int(href.rsplit("/", 1)[1]))
                visible, _ = parse_html(line)
                assert re.match(r"^• Story \d{3} .+ · Zerkalo \(independent media\) · ", visible)
        assert not SECTION.match(lines[-1]), "a part ends on a bare section header"
    return sections


def test_big_digest_is_split_between_entries_and_keeps_everything() -> None:
    request, expected = big_digest()
    parts = compose_digest(request, MINSK, en())
    assert len(parts) >= 3
    assert parts[0].splitlines()[:2] == [
        "📰 <b>Weekly digest: week 48, 23–29 Nov 2026</b>",
        "Stories: 300 · Sections: 7",
    ]
    sections = read_digest(parts)
    assert list(sections) == EXPECTED_SECTIONS
    for name, (shown, ids) in sections.items():
        assert ids == [s.item_id for s in expected[name]], name
        assert shown == len(ids)
    all_ids = [i for _, ids in sections.values() for i in ids]
    assert sorted(all_ids) == list(range(300))


def test_recommendation_sections_open_with_their_statement() -> None:
    request, _ = big_digest(14)
    (message,) = compose_digest(request, MINSK, en())
    lines = message.split("\n")
    header = lines.index("<b>#R2 · Prisoners</b> (2)")
    assert lines[header + 1] == "<i>Trade sanctions relief for releases.</i>"


def test_a_story_listed_twice_appears_once() -> None:
    request = DigestRequest("day", NOW - timedelta(days=1), NOW, (story(1), story(1), story(2)))
    (message,) = compose_digest(request, MINSK, en())
    assert message.count("https://news.example/story/1") == 1
    assert "Stories: 2 · Sections: 1" in message


def test_digest_counts_utf16_units_when_splitting() -> None:
    stories = tuple(story(i, title="😀" * 150, score=float(i)) for i in range(300))
    request = DigestRequest("day", NOW - timedelta(days=1), NOW, stories, TOPICS)
    parts = compose_digest(request, MINSK, en())
    for part in parts:
        sendable(part)
    assert sum(part.count("<a href=") for part in parts) == 300


@pytest.mark.parametrize("language", ["en", "be", "ru"])
def test_hostile_digest_parses_in_every_language(language: str) -> None:
    safe = 'https://ok.example/"q"'
    urls = [*UNSAFE_URLS, safe]
    stories = tuple(
        hostile_story(i, HOSTILE[i % len(HOSTILE)] * 1000, urls[i % len(urls)]) for i in range(60)
    )
    topics = tuple(replace(t, title=t.title + HOSTILE[0], statement=HOSTILE[1]) for t in TOPICS)
    request = DigestRequest("week", NOW - timedelta(days=7), NOW, stories, topics)
    parts = compose_digest(request, Reader(language, "Europe/Minsk"), translator(language))
    for part in parts:
        assert not BIDI.search(sendable(part))
    linked = [i for i in range(60) if urls[i % len(urls)] == safe]
    assert sum(len(hrefs(part)) for part in parts) == len(linked) > 0


def test_daily_header_uses_the_local_date() -> None:
    start = datetime(2026, 11, 27, 21, tzinfo=UTC)  # midnight in Minsk
    request = DigestRequest("day", start, start + timedelta(days=1), (story(1),), TOPICS)
    (message,) = compose_digest(request, MINSK, en())
    assert message.startswith("📰 <b>Daily digest: 28 Nov 2026</b>\n")
    (be,) = compose_digest(request, Reader("be", "Europe/Minsk"), translator("be"))
    assert be.startswith("📰 <b>Штодзённы дайджэст: 28 лістапада 2026</b>\n")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Local midnight to local midnight across the New York DST change (169 hours).
        (
            datetime(2026, 10, 26, 4, tzinfo=UTC),
            datetime(2026, 11, 2, 5, tzinfo=UTC),
            "week 44, 26 Oct – 1 Nov 2026",
        ),
        (
            datetime(2026, 12, 28, 5, tzinfo=UTC),
            datetime(2027, 1, 4, 5, tzinfo=UTC),
            "week 53, 28 Dec 2026 – 3 Jan 2027",
        ),
    ],
)
def test_weekly_header_uses_local_dates(start: datetime, end: datetime, expected: str) -> None:
    request = DigestRequest("week", start, end, (story(1),), TOPICS)
    (message,) = compose_digest(request, Reader("en", "America/New_York"), en())
    assert f"Weekly digest: {expected}" in message


def test_empty_digest_is_one_short_message_or_nothing() -> None:
    start = datetime(2026, 11, 27, 21, tzinfo=UTC)
    request = DigestRequest("day", start, start + timedelta(days=1), (), TOPICS)
    (message,) = compose_digest(request, MINSK, en())
    assert sendable(message) == (
        "Nothing new matched your topics between 28 Nov 2026, 00:00 and 29 Nov 2026, 00:00."
    )
    assert compose_digest(replace(request, send_when_empty=False), MINSK, en()) == []


def test_plain_fallback_keeps_titles_and_urls() -> None:
    entry = story(1, title="Tom & Jerry <3", url="https://ok.example/?a=1&b=2")
    alert = compose_alert(entry, MINSK, TOPICS, en())
    assert "Tom & Jerry <3 (https://ok.example/?a=1&b=2)" in html_to_plain(alert)
    request, _ = big_digest(40)
    plain = "\n".join(html_to_plain(p) for p in compose_digest(request, MINSK, en()))
    for i in range(40):
        assert f"Story {i:03d} lorem" in plain
        assert f"(https://news.example/story/{i})" in plain


# --- translations ------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\w+\}")


def used_msgids() -> set[str]:
    found = extract_from_file(
        "python", compose.__file__, keywords={"translate": None, "_msgid": None}
    )
    return {str(message) for _, message, _, _ in found}


def catalog(language: str) -> dict[str, str]:
    path = Path(LOCALES_DIR, language, "LC_MESSAGES", "briefbot.po")
    with path.open("rb") as po_file:
        messages = read_po(po_file, locale=language)
    return {str(m.id): str(m.string or "") for m in messages if m.id}


def test_every_msgid_in_compose_is_extracted() -> None:
    # Guards the check below: a msgid hidden in an f-string would not be extracted.
    source = Path(compose.__file__).read_text(encoding="utf-8")
    calls = re.findall(r"(?:translate|_msgid)\(\s*\"", source)
    assert len(used_msgids()) == len(calls) >= 29


@pytest.mark.parametrize("language", ["be", "ru"])
def test_every_msgid_has_a_translation_with_the_same_placeholders(language: str) -> None:
    translations = catalog(language)
    for msgid in used_msgids():
        msgstr = translations.get(msgid, "")
        assert msgstr.strip(), f"{language}: no translation for {msgid!r}"
        assert set(PLACEHOLDER.findall(msgstr)) == set(PLACEHOLDER.findall(msgid)), msgid


def test_english_catalog_lists_every_msgid() -> None:
    assert used_msgids() <= set(catalog("en"))


@pytest.mark.parametrize("language", ["be", "ru"])
def test_rendered_messages_contain_no_english_msgid_text(language: str) -> None:
    requested: list[str] = []
    base = translator(language)

    def translate(message: str) -> str:
        requested.append(message)
        return base(message)

    cyrillic = tuple(replace(t, title="Тэма", statement="Сцверджанне") for t in TOPICS)
    entries = [
        story(i, title="Навіна", source=Source("Крыніца", publisher), urgent=True)
        for i, publisher in enumerate(compose._PUBLISHERS)
    ]
    entries.append(story(9, recommendations=(), themes=(), title="Навіна", source=Source("Я", "x")))
    entries.append(story(10, title=" \u202e "))  # nothing left after cleaning: "(untitled)"
    why = (WhyHit("s", "тэрмін", "слова", "title", "ф"), WhyHit("s", "т", "с", "summary", "ф"))
    entries = [replace(e, why=why, also_reported_by=(Source("Б", "ngo"),)) for e in entries]
    reader = Reader(language, "Europe/Minsk")
    texts = [compose_alert(e, reader, cyrillic, translate) for e in entries]
    for month in range(1, 13):
        start = datetime(2026, month, 10, tzinfo=UTC)
        for period in ("day", "week"):
            request = DigestRequest(period, start, start + timedelta(days=9), tuple(entries))
            texts += compose_digest(request, reader, translate)
        texts += compose_digest(DigestRequest("day", start, start, ()), reader, translate)
    big, _ = big_digest()
    texts += compose_digest(replace(big, topics=cyrillic), reader, translate)
    visible = "\n".join(sendable(text) for text in texts)
    assert set(requested) == used_msgids()
    for msgid in used_msgids():
        for fragment in PLACEHOLDER.split(msgid):
            if len(fragment.strip(" ,.:·")) >= 3:
                assert fragment.strip() not in visible, f"{language}: untranslated {msgid!r}"
