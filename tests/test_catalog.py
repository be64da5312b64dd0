"""feeds.yaml: the shipped catalog, every problem at its line, hostile YAML, lenient reloads."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.config.catalog import (
    Catalog,
    FeedSpec,
    TopicSpec,
    catalog_to_yaml,
    format_duration,
    load_catalog,
    load_catalog_lenient,
    parse_catalog,
    parse_catalog_lenient,
    parse_duration,
)
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "catalog"
PUBLISHERS = {"government", "state-media", "independent-media", "ngo", "international"}


def feed_yaml(**fields: Any) -> str:
    """A catalog of a valid feed (lines 3-9) and feed [1] (id line 10, url 11, ... interval 16).

    Keyword arguments replace or add fields of feed [1]; added ones start at line 17.
    """
    feed = {
        "id": "svaboda",
        "url": "https://www.svaboda.org/api/epiqq",
        "title": "Radio Svaboda",
        "publisher": "independent-media",
        "language": "be",
        "scope": "belarus",
        "interval": "15m",
    }
    valid = "".join(f"    {key}: {value}\n" for key, value in feed.items())
    valid = valid.replace("svaboda", "zerkalo", 1).replace("www.svaboda.org", "news.zerkalo.io")
    tested = "".join(f"    {key}: {value}\n" for key, value in {**feed, **fields}.items())
    return f"version: 1\nfeeds:\n  - {valid[4:]}  - {tested[4:]}"


def problems_of(text: str, **options: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_catalog(text, **options)
    return caught.value.problems


def test_shipped_catalog_loads_and_covers_every_publisher_type() -> None:
    catalog = load_catalog(ROOT / "feeds.yaml")
    assert len(catalog.feeds) >= 15
    assert {feed.publisher for feed in catalog.feeds} == PUBLISHERS
    assert {feed.scope for feed in catalog.feeds} == {"belarus", "global"}
    assert {feed.language for feed in catalog.feeds} >= {"be", "ru", "en"}
    assert all(feed.url.startswith("https://") for feed in catalog.feeds)
    assert load_catalog_lenient(ROOT / "feeds.yaml")[1] == []


def test_shipped_catalog_polls_official_sources_less_often_than_news() -> None:
    catalog = load_catalog(ROOT / "feeds.yaml")
    for feed in catalog.feeds:
        if feed.publisher in {"government", "state-media"}:
            assert feed.interval_seconds >= 3600, feed.id
        if feed.publisher == "independent-media":
            assert feed.interval_seconds <= 1800, feed.id


def test_every_problem_is_reported_at_once_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalog(DATA / "many_errors.yaml")
    source = str(DATA / "many_errors.yaml")
    expected = [
        (12, "feeds[1] (id svaboda): url: only http and https"),
        (18, "feeds[2] (id good-one): id: same id as feeds[0] (line 4)"),
        (26, "feeds[3] (id same-url): url: same url as feeds[0] (line 4)"),
        (38, "feeds[4] (id bad-interval): interval: must be between 1m and 7d"),
        (46, "feeds[5] (id unknown-key): enabeld: unknown key; did you mean 'enabled'?"),
        (48, "feeds[6] (id private): url: 169.254.169.254 is not a public address"),
        (55, "feeds[7] (id credentials): url: user names and passwords are not allowed"),
        (61, "feeds[8] (id Bad_ID): id: must be 2-64 of a-z"),
        (64, "feeds[8] (id Bad_ID): publisher: input should be 'government'"),
        (65, "feeds[8] (id Bad_ID): language: must be a two-letter ISO 639-1 code"),
        (68, "feeds[8] (id Bad_ID): url: duplicate key 'url' (first at line 62)"),
        (72, "colour: unknown key"),
    ]
    problems = caught.value.problems
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, (line, text) in zip(problems, expected, strict=True):
        assert problem.startswith(f"{source}:{line}: {text}"), problem
    assert str(caught.value).count("\n") == len(expected) - 1


def test_duplicate_url_differing_only_by_tracking_and_host_case_is_refused() -> None:
    url = "https://News.ZERKALO.io/api/epiqq?utm_source=telegram&fbclid=abc"
    problems = problems_of(feed_yaml(url=url))
    assert problems == ["feeds.yaml:11: feeds[1] (id svaboda): url: same url as feeds[0] (line 3)"]


def test_duplicate_id_is_refused_and_named_after_the_first() -> None:
    problems = problems_of(feed_yaml(id="zerkalo"))
    assert problems == ["feeds.yaml:10: feeds[1] (id zerkalo): id: same id as feeds[0] (line 3)"]


def test_unknown_keys_are_refused_with_a_suggestion() -> None:
    problems = problems_of(feed_yaml(titel="Radio") + "contxt: []\n")
    assert problems == [
        "feeds.yaml:17: feeds[1] (id svaboda): titel: unknown key; did you mean 'title'?",
        "feeds.yaml:18: contxt: unknown key; did you mean 'context'?",
    ]


@pytest.mark.parametrize("interval", ["10s", "59s", "8d", "15", "fast", "900", "1.5h", "-5m", "''"])
def test_bad_intervals_are_refused(interval: str) -> None:
    [problem] = problems_of(feed_yaml(interval=interval))
    assert problem.startswith("feeds.yaml:16: feeds[1] (id svaboda): interval: ")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/feed",
        "file:///etc/passwd",
        "/etc/passwd",
        "feed:http://127.0.0.1/",
        "http://127.0.0.1/feed",
        "'http://[::1]/'",
        "http://10.0.0.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://localhost./",
        "'http://[::ffff:127.0.0.1]/'",
        "https://user:pass@example.org/feed",
        "http://example.com:22/",
    ],
)
def test_hostile_urls_are_refused(url: str) -> None:
    [problem] = problems_of(feed_yaml(url=url))
    assert problem.startswith("feeds.yaml:11: feeds[1] (id svaboda): url: ")


def test_private_urls_load_when_allowed_for_tests_and_on_premise() -> None:
    catalog = parse_catalog(feed_yaml(url="http://127.0.0.1:8080/feed.xml"), allow_private=True)
    assert catalog.feeds[1].url == "http://127.0.0.1:8080/feed.xml"


def test_language_codes_are_checked_and_a_bare_no_is_explained() -> None:
    assert parse_catalog(feed_yaml(language="'no'")).feeds[1].language == "no"
    assert parse_catalog(feed_yaml(language="BE")).feeds[1].language == "be"
    [bare_no] = problems_of(feed_yaml(language="no"))
    assert "in quotes" in bare_no
    [country] = problems_of(feed_yaml(language="by"))
    assert "ISO 639-1" in country


def test_version_must_be_one() -> None:
    for version in ("2", "true", "'1'"):
        text = feed_yaml().replace("version: 1", f"version: {version}")
        assert parse_catalog_lenient(text)[0] is None
        [problem] = problems_of(text)
        assert problem.startswith("feeds.yaml:1: version: this briefbot reads catalog version 1")


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    catalog, problems = load_catalog_lenient(DATA / "billion_laughs.yaml")
    assert time.perf_counter() - started < 1.0
    assert catalog is None
    anchors = [p for p in problems if "anchors (&" in p]
    assert [int(p.split(":")[1]) for p in anchors] == list(range(2, 11))
    assert any(":11: feeds: aliases (*i) are not allowed" in p for p in problems)


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    opened, touched = tmp_path / "opened", tmp_path / "touched"
    text = feed_yaml(notes=f"!!python/object/apply:builtins.open ['{opened}', 'w']") + (
        f"topics: !!python/object/apply:os.system ['touch {touched}']\n"
    )
    problems = problems_of(text)
    assert problems == [
        "feeds.yaml:17: feeds[1] (id svaboda): notes: the tag "
        "!!python/object/apply:builtins.open is not allowed",
        "feeds.yaml:18: topics: the tag !!python/object/apply:os.system is not allowed",
    ]
    assert not opened.exists()
    assert not touched.exists()
    # The tripwire is live: an unsafe loader really would have created the file.
    yaml.unsafe_load(f"!!python/object/apply:builtins.open ['{opened}', 'w']").close()
    assert opened.exists()


def test_oversize_file_is_refused_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "feeds.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB long, no disk used

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the oversize file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Path, "read_text", no_reading)
    started = time.perf_counter()
    catalog, problems = load_catalog_lenient(big)
    assert time.perf_counter() - started < 0.5
    assert catalog is None
    assert problems == [f"{big}: 52428800 bytes is over the 1048576-byte limit"]
    with pytest.raises(ConfigError):
        load_catalog(big)


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    assert load_catalog_lenient(missing) == (
        None,
        [f"{missing}: cannot read the file (No such file or directory)"],
    )
    assert load_catalog_lenient(tmp_path)[1] == [f"{tmp_path}: not a regular file"]
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"version: 1\n# caf\xe9\n")
    assert load_catalog_lenient(latin)[1] == [f"{latin}:2: not UTF-8 text"]
    small = tmp_path / "small.yaml"
    small.write_text(feed_yaml(), encoding="utf-8")
    assert "limit" in load_catalog_lenient(small, max_bytes=100)[1][0]


@pytest.mark.parametrize(
    "text",
    ["", "version: [1\n", "- a list\n- not a mapping\n", "just text\n", "feeds: []\nversion: 1\n"],
)
def test_unusable_text_gives_no_catalog_and_a_reason(text: str) -> None:
    catalog, problems = parse_catalog_lenient(text)
    assert catalog is None
    assert problems
    assert all(p.startswith("feeds.yaml:") for p in problems)


def test_lenient_loading_keeps_the_valid_entries() -> None:
    catalog, problems = load_catalog_lenient(DATA / "partly_valid.yaml")
    assert catalog is not None
    assert [feed.id for feed in catalog.feeds] == ["kept-first", "kept-second"]
    assert [topic.id for topic in catalog.topics] == ["sanctions"]
    assert catalog.aliases == {"lukashenka": ["Лукашэнка", "Лукашенко", "Lukashenko"]}
    assert catalog.context == ["belarus OR minsk"]
    assert [int(p.split(":")[1]) for p in problems] == [11, 17, 25, 29, 47, 47, 51]
    with pytest.raises(ConfigError) as caught:
        load_catalog(DATA / "partly_valid.yaml")
    assert caught.value.problems == problems


def test_lenient_loading_with_no_valid_feed_gives_no_catalog() -> None:
    text = feed_yaml(url="ftp://example.org/").replace("https://news.zerkalo.io", "gopher://x")
    catalog, problems = parse_catalog_lenient(text)
    assert catalog is None
    assert problems[0] == "feeds.yaml:2: feeds: no feed is valid, so there is nothing to poll"
    assert len(problems) == 3


def test_topics_need_three_titles_and_a_known_recommendation() -> None:
    text = feed_yaml() + "topics:\n  - id: political-prisoners\n    titles: {en: A, be: Б}\n"
    text += "    recommendation: R4\n    urgent: yes\n    rules: [prisoner OR вязень]\n"
    problems = problems_of(text)
    assert problems == [
        "feeds.yaml:19: topics[0] (id political-prisoners): titles.ru: required key is missing",
        "feeds.yaml:20: topics[0] (id political-prisoners): recommendation: "
        "input should be 'R1', 'R2' or 'R3' (got 'R4')",
    ]


def test_catalog_round_trips_through_yaml() -> None:
    shipped = load_catalog(ROOT / "feeds.yaml")
    assert parse_catalog(catalog_to_yaml(shipped)) == shipped
    tricky = Catalog(
        version=1,
        feeds=[FeedSpec.model_validate(f) for f in yaml.safe_load(feed_yaml())["feeds"]],
        topics=[
            TopicSpec(
                id="no",
                titles={"en": "yes", "be": "Палітвязні: 1:30", "ru": "&x *y #z"},
                recommendation="R1",
                urgent=True,
                rules=['сям\'я OR "double quoted"', "on", "title:«фраза тут» NEAR/3 xyz*"],
            )
        ],
        aliases={"null": ["null", "0x1F", "yes"], "лукашэнка": ["Лукашенко"]},
        context=["belarus\nminsk"],
    )
    assert parse_catalog(catalog_to_yaml(tricky)) == tricky


def test_catalog_built_in_code_still_refuses_duplicates() -> None:
    feed = FeedSpec.model_validate(yaml.safe_load(feed_yaml())["feeds"][0])
    twin = FeedSpec.model_validate(
        {**feed.model_dump(), "id": "twin", "url": "https://NEWS.zerkalo.io/api/epiqq?utm_medium=x"}
    )
    with pytest.raises(ValidationError, match="duplicate feed URL"):
        Catalog(version=1, feeds=[feed, twin])
    with pytest.raises(ValidationError, match="at least 1"):
        Catalog(version=1, feeds=[])


def test_interval_is_exposed_in_seconds_and_as_a_timedelta() -> None:
    feed = parse_catalog(feed_yaml(interval="1h30m")).feeds[1]
    assert feed.interval == timedelta(minutes=90)
    assert feed.interval_seconds == 5400
    assert feed.model_dump()["interval"] == "1h30m"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("1d", 86400),
        ("1h30m", 5400),
        (" 1h 30m ", 5400),
        ("2d3h4m5s", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("0s", 0),
        ("120m", 7200),
    ],
)
def test_parse_duration_accepts(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", " ", "h", "15", "1x", "1.5h", "-1m", "1m1h", "1H", "1h-30m", "9999999s"]
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_format_duration_is_the_inverse_of_parse_duration() -> None:
    assert [format_duration(s) for s in (0, 90, 5400, 86400, 90061)] == [
        "0s",
        "1m30s",
        "1h30m",
        "1d",
        "1d1h1m1s",
    ]
    for seconds in range(0, 3 * 86400, 997):
        assert parse_duration(format_duration(seconds)) == seconds
    with pytest.raises(ValueError, match="negative"):
        format_duration(-1)
