"""Story clustering: which items share a story, and StoryIndex agreeing with find_story."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.matching.cluster import (
    SIGNATURE_LIMIT,
    STORY_WINDOW,
    SUMMARY_KEYS,
    StoryCandidate,
    StoryIndex,
    find_story,
    joined,
    merge_signature,
    similarity,
    story_signature,
)
from bot.matching.normalize import term_key

STORIES = Path(__file__).parent / "data" / "matching" / "stories.jsonl"
T0 = datetime(2025, 9, 18, 11, 0, tzinfo=UTC)

HRYBKO_TITLE = "Homel court sentences journalist Aliaksandr Hrybko to 5 years"
HRYBKO_SUMMARY = (
    "Hrybko, a former correspondent of a regional newspaper, was found guilty of "
    "'facilitating extremist activity' for sending photos to independent media."
)


def opened(story_id: int, title: str, summary: str, feed: str) -> StoryCandidate:
    """A story opened at T0 by one item."""
    return StoryCandidate(story_id, story_signature(title, summary), T0, frozenset({feed}))


def place(
    title: str, summary: str, feed: str, stories: list[StoryCandidate], hours: float
) -> int | None:
    """The story find_story picks for an item seen `hours` after T0."""
    return find_story(
        story_signature(title, summary),
        feed_id=feed,
        seen_at=T0 + timedelta(hours=hours),
        candidates=stories,
    )


HRYBKO = opened(1, HRYBKO_TITLE, HRYBKO_SUMMARY, "viasna-en")


def test_same_story_from_two_outlets_joins() -> None:
    found = place(
        "Belarusian reporter Aliaksandr Hrybko gets five years for sending photos",
        "A court in Homel handed Hrybko a five-year prison term for photos sent to "
        "independent media, the Belarusian Association of Journalists said.",
        "rferl-en",
        [HRYBKO],
        20,
    )
    assert found == 1


def test_different_stories_sharing_words_stay_apart() -> None:
    found = place(
        "Hrodna court sentences activist Natallia Kuzmich to 3.5 years",
        "Kuzmich, a former teacher, was found guilty of 'participation in an extremist "
        "formation' over comments in a Telegram chat.",
        "rferl-en",
        [HRYBKO],
        23,
    )
    assert found is None


def test_window_expiry_starts_a_new_story() -> None:
    title, summary = "Balloons from Belarus close Vilnius airport", "About 30 flights were hit."
    airport = [opened(7, title, summary, "rferl-en")]
    window = STORY_WINDOW / timedelta(hours=1)
    assert place(title, summary, "zerkalo", airport, window) == 7
    assert place(title, summary, "zerkalo", airport, window + 0.1) is None
    # A back-dated item is measured from the other side of the window the same way.
    assert place(title, summary, "zerkalo", airport, -window) == 7
    assert place(title, summary, "zerkalo", airport, -window - 0.1) is None


def test_same_feed_joins_only_with_a_near_repost() -> None:
    assert place(HRYBKO_TITLE, HRYBKO_SUMMARY, "viasna-en", [HRYBKO], 1) == 1
    # Same template, same feed, another prisoner: a different story.
    other = place(
        "Homel court sentences blogger Ihar Drozd to 5 years",
        "Drozd was found guilty of 'facilitating extremist activity' for sending photos to "
        "independent media.",
        "viasna-en",
        [HRYBKO],
        5,
    )
    assert other is None


def test_best_candidate_wins() -> None:
    kuzmich = opened(
        2,
        "Hrodna court sentences activist Natallia Kuzmich to 3.5 years",
        "Kuzmich was convicted over comments in a Telegram chat.",
        "viasna-en",
    )
    found = place(
        "Journalist Aliaksandr Hrybko jailed for 5 years in Homel",
        "",
        "belsat-en",
        [kuzmich, HRYBKO],
        3,
    )
    assert found == 1


def test_cross_language_names_join() -> None:
    english = opened(
        3,
        "Tsikhanouskaya meets Lithuanian prime minister in Vilnius",
        "Sviatlana Tsikhanouskaya discussed residence permits for Belarusians.",
        "rferl-en",
    )
    belarusian = "Ціханоўская сустрэлася з прэм'ер-міністрам Літвы ў Вільні"
    assert place(belarusian, "", "svaboda-be", [english], 4) == 3
    lacinka = "Cichanoŭskaja sustrelasia z premjer-ministram Litvy ŭ Vilni"
    assert place(lacinka, "", "nashaniva", [english], 5) == 3
    # Russian spells both names differently (Тихановская, Вильнюс): the skeletons still meet.
    russian = "Тихановская в Вильнюсе обсудила с премьером Литвы документы для белорусов"
    assert place(russian, "", "belsat-ru", [english], 6) == 3


def test_cross_language_different_people_stay_apart() -> None:
    english = opened(4, HRYBKO_TITLE, "", "viasna-en")
    russian = "Гродненскую пенсионерку Наталью Кузьмич осудили на 3,5 года"
    assert place(russian, "", "zerkalo", [english], 10) is None


def test_signature_drops_stopwords_and_one_digit_numbers() -> None:
    signature = story_signature("The 5 members of the council met in 2025", "")
    assert term_key("2025") in signature
    assert term_key("council") in signature
    assert term_key("the") not in signature
    assert term_key("5") not in signature
    assert story_signature("Што і ў на гэта", "") == frozenset()


def test_signature_is_the_headline_and_stays_bounded() -> None:
    summary = " ".join(f"word{n}x" for n in range(200))
    headline = story_signature("Court hears Hrybko case", "")
    assert story_signature("Court hears Hrybko case", summary) == headline
    longer = story_signature("Court hears Hrybko case", summary, summary_keys=SUMMARY_KEYS + 30)
    assert len(longer) == len(headline) + SUMMARY_KEYS + 30
    # A headline without a single usable word falls back on the summary.
    assert story_signature("", summary)
    grown = frozenset({"court", "~hrb", "1200"})
    for round_ in range(20):
        grown = merge_signature(grown, frozenset(f"k{round_}-{n}" for n in range(40)))
        assert len(grown) <= SIGNATURE_LIMIT
    # Names and figures survive the churn of words: they tell the story from its neighbours.
    assert {"~hrb", "1200"} <= grown


def test_merge_shares_room_between_story_and_newcomer() -> None:
    old = frozenset(f"o{n}" for n in range(60)) | {"shared"}
    new = frozenset(f"n{n}" for n in range(60)) | {"shared"}
    merged = merge_signature(old, new, limit=10)
    assert len(merged) == 10
    assert "shared" in merged
    assert len(merged & old) >= 5
    assert len(merged & new) >= 5
    assert merge_signature(frozenset({"a"}), frozenset({"b"})) == {"a", "b"}


def test_similarity_weighs_names_and_figures() -> None:
    words = frozenset({"court", "sentenc", "year", "journalist"})
    assert similarity(words, words) == 1.0
    assert similarity(words, frozenset()) == 0.0
    assert similarity(words, frozenset({"court", "year", "x"})) > 0  # two shared words
    assert similarity(words, frozenset({"court"})) == 0.0  # one shared word is not enough
    name = frozenset({"court", "~hrb"})
    assert similarity(name, frozenset({"~hrb", "x", "y"})) > similarity(
        name, frozenset({"court", "x", "y"})
    )
    assert similarity(frozenset({"2025", "x"}), frozenset({"2025", "y"})) == 0.0  # a year


def _replay(items: list[dict[str, str]], *, indexed: bool) -> list[int]:
    """Story ids for the dev set in time order, by find_story or by StoryIndex."""
    stories: dict[int, StoryCandidate] = {}
    index = StoryIndex()
    labels = []
    for item in items:
        sig = story_signature(item["title"], item["summary"])
        at = datetime.fromisoformat(item["published_at"])
        if indexed:
            found = index.find(sig, feed_id=item["feed"], seen_at=at)
        else:
            found = find_story(
                sig, feed_id=item["feed"], seen_at=at, candidates=[*stories.values()]
            )
        if found is None:
            found = len(stories)
            stories[found] = StoryCandidate(found, sig, at, frozenset({item["feed"]}))
        else:
            stories[found] = joined(stories[found], sig, feed_id=item["feed"], seen_at=at)
        index.add(stories[found])
        labels.append(found)
    return labels


def test_story_index_agrees_with_find_story() -> None:
    lines = STORIES.read_text(encoding="utf-8").splitlines()
    items = sorted((json.loads(line) for line in lines), key=lambda i: i["published_at"])
    by_index = _replay(items, indexed=True)
    assert by_index == _replay(items, indexed=False)
    assert len(set(by_index)) < len(items)  # it did cluster something


def test_story_index_update_and_expire() -> None:
    index = StoryIndex([HRYBKO])
    sig = story_signature("Hrybko jailed for 5 years", "")
    later = T0 + timedelta(hours=30)
    updated = index.update(1, sig, feed_id="zerkalo", seen_at=later)
    assert updated.feed_ids == {"viasna-en", "zerkalo"}
    assert updated.last_seen_at == later
    assert index.get(1) == updated
    assert index.expire(later + STORY_WINDOW) == []
    assert index.expire(later + STORY_WINDOW + timedelta(seconds=1)) == [1]
    assert len(index) == 0
    assert index.find(sig, feed_id="rferl-en", seen_at=later) is None


def test_story_set_is_well_formed() -> None:
    items = [json.loads(line) for line in STORIES.read_text(encoding="utf-8").splitlines()]
    fields = {"id", "story", "feed", "title", "summary", "language", "published_at"}
    assert all(set(item) == fields for item in items)
    assert len({item["id"] for item in items}) == len(items) >= 150
    assert {item["language"] for item in items} == {"en", "ru", "be"}
    sizes: dict[str, int] = {}
    for item in items:
        sizes[item["story"]] = sizes.get(item["story"], 0) + 1
        assert item["title"].strip()
        assert datetime.fromisoformat(item["published_at"]).tzinfo is not None
    assert len(sizes) >= 45
    assert all(2 <= size <= 6 for size in sizes.values())
    lacinka = [i for i in items if i["language"] == "be" and i["title"].isascii() is False]
    assert any(not any("\u0400" <= ch <= "\u04ff" for ch in i["title"]) for i in lacinka)
