"""Integrity checks for the matcher's labelled development set (tests/data/matching/dev.jsonl).

The label rules themselves are in tests/data/matching/README.md; these tests only check that
the file is well formed and keeps the composition the evaluation relies on.
"""

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

DEV_SET = Path(__file__).parent / "data" / "matching" / "dev.jsonl"

FIELDS: dict[str, type] = {
    "id": str,
    "title": str,
    "summary": str,
    "link": str,
    "language": str,
    "script": str,
    "scope": str,
    "relevant": bool,
    "recommendations": list,
    "themes": list,
    "note": str,
}
LANGUAGES = ("en", "ru", "be")
SCRIPTS = ("cyrl", "latn")
SCOPES = ("belarus", "global")
RECOMMENDATIONS = ("R1", "R2", "R3")
THEMES = (
    "sanctions",
    "diplomacy",
    "us-relations",
    "political-prisoners",
    "war",
    "hybrid-threats",
    "repression",
    "democratic-forces",
    "sovereignty",
)
MIN_ITEMS = 200
MIN_PER_LANGUAGE = 60
MIN_LACINKA = 20
RELEVANT_SHARE = (0.35, 0.45)

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
ID_PATTERN = re.compile(r"^(en|ru|be)-\d{3}$")

Item = dict[str, Any]


def _load() -> list[Item]:
    items: list[Item] = []
    with DEV_SET.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            assert line.strip(), f"line {number} is blank"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                pytest.fail(f"line {number} is not valid JSON: {exc}")
            assert isinstance(value, dict), f"line {number} is not a JSON object"
            missing = sorted(set(FIELDS) - set(value))
            assert not missing, f"line {number} lacks {missing}"
            items.append(value)
    return items


@pytest.fixture(scope="module")
def items() -> list[Item]:
    """Every item of the dev set, in file order."""
    return _load()


def _relevant_share(items: list[Item]) -> float:
    return sum(1 for item in items if item["relevant"]) / len(items)


def test_every_line_has_exactly_the_schema_fields(items: list[Item]) -> None:
    for item in items:
        ident = item.get("id", item)
        assert set(item) == set(FIELDS), f"{ident}: fields {sorted(item)}"
        for name, kind in FIELDS.items():
            assert isinstance(item[name], kind), f"{ident}: {name} is not {kind.__name__}"


def test_text_fields_are_usable(items: list[Item]) -> None:
    for item in items:
        ident = item["id"]
        assert item["title"].strip() == item["title"] != "", f"{ident}: title"
        assert item["summary"].strip() == item["summary"], f"{ident}: summary whitespace"
        assert item["note"].strip(), f"{ident}: note is empty"
        assert item["link"].startswith("https://"), f"{ident}: link {item['link']}"
        assert not re.search(r"\s", item["link"]), f"{ident}: whitespace in link"


def test_ids_are_unique_and_match_the_language(items: list[Item]) -> None:
    counts = Counter(item["id"] for item in items)
    duplicates = sorted(ident for ident, n in counts.items() if n > 1)
    assert not duplicates, f"duplicate ids: {duplicates}"
    for item in items:
        match = ID_PATTERN.match(item["id"])
        assert match, f"bad id {item['id']}"
        assert match.group(1) == item["language"], f"{item['id']}: language {item['language']}"


def test_titles_and_links_are_not_repeated(items: list[Item]) -> None:
    for field in ("title", "link"):
        counts = Counter(item[field] for item in items)
        repeated = sorted(value for value, n in counts.items() if n > 1)
        assert not repeated, f"repeated {field}: {repeated}"


def test_enumerated_values_are_valid(items: list[Item]) -> None:
    for item in items:
        ident = item["id"]
        assert item["language"] in LANGUAGES, f"{ident}: language {item['language']}"
        assert item["script"] in SCRIPTS, f"{ident}: script {item['script']}"
        assert item["scope"] in SCOPES, f"{ident}: scope {item['scope']}"
        recs, themes = item["recommendations"], item["themes"]
        assert set(recs) <= set(RECOMMENDATIONS), f"{ident}: recommendations {recs}"
        assert set(themes) <= set(THEMES), f"{ident}: themes {themes}"
        assert len(set(recs)) == len(recs), f"{ident}: repeated recommendation"
        assert len(set(themes)) == len(themes), f"{ident}: repeated theme"


def test_labels_are_consistent_with_relevance(items: list[Item]) -> None:
    for item in items:
        ident = item["id"]
        tagged = bool(item["recommendations"] or item["themes"])
        if item["relevant"]:
            assert tagged, f"{ident}: relevant but has no theme or recommendation"
        else:
            assert not item["recommendations"], f"{ident}: irrelevant with recommendations"
            assert not item["themes"], f"{ident}: irrelevant with themes"


def test_script_matches_the_text(items: list[Item]) -> None:
    for item in items:
        ident, text = item["id"], item["title"] + " " + item["summary"]
        if item["language"] == "en":
            assert item["script"] == "latn", f"{ident}: English must be latn"
        if item["script"] == "latn":
            assert not CYRILLIC.search(text), f"{ident}: Cyrillic letters in a latn item"
        else:
            assert CYRILLIC.search(item["title"]), f"{ident}: cyrl item without Cyrillic title"
        if item["language"] == "ru":
            assert item["script"] == "cyrl", f"{ident}: Russian must be cyrl"


def test_size_and_language_composition(items: list[Item]) -> None:
    assert len(items) >= MIN_ITEMS
    per_language = Counter(item["language"] for item in items)
    for language in LANGUAGES:
        assert per_language[language] >= MIN_PER_LANGUAGE, f"{language}: {per_language}"


def test_belarusian_includes_lacinka(items: list[Item]) -> None:
    lacinka = [i for i in items if i["language"] == "be" and i["script"] == "latn"]
    assert len(lacinka) >= MIN_LACINKA
    assert any(i["relevant"] for i in lacinka), "no relevant Łacinka item"
    assert any(not i["relevant"] for i in lacinka), "no irrelevant Łacinka item"


def test_relevant_share_overall_and_per_language(items: list[Item]) -> None:
    low, high = RELEVANT_SHARE
    assert low <= _relevant_share(items) <= high
    for language in LANGUAGES:
        subset = [item for item in items if item["language"] == language]
        share = _relevant_share(subset)
        assert low <= share <= high, f"{language}: relevant share {share:.2f}"


def test_every_label_occurs_in_every_language(items: list[Item]) -> None:
    for language in LANGUAGES:
        subset = [item for item in items if item["language"] == language]
        recs = {rec for item in subset for rec in item["recommendations"]}
        themes = {theme for item in subset for theme in item["themes"]}
        assert recs == set(RECOMMENDATIONS), f"{language}: missing {set(RECOMMENDATIONS) - recs}"
        assert themes == set(THEMES), f"{language}: missing {set(THEMES) - themes}"
