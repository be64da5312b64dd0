"""Rule strings in feeds.yaml are checked when the catalog loads, each reported at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.catalog import load_catalog, load_catalog_lenient
from bot.errors import ConfigError
from bot.matching.matcher import Matcher

BAD = Path(__file__).parent / "data/catalog/bad_rules.yaml"
SHIPPED = Path(__file__).resolve().parents[1] / "feeds.yaml"


def test_every_bad_rule_is_reported_with_its_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalog(BAD)
    problems = caught.value.problems
    assert len(problems) == 4
    first = "bad_rules.yaml:9: topics[0] (id sanctions): rules[1]: nothing after ("
    assert problems[0].endswith(f"{first} (column 14 of the rule)")
    assert ":10: " in problems[1]
    assert "unknown alias @nobody" in problems[1]
    assert ":12: aliases.belarus[1]" in problems[2]
    assert ":14: context[0]" in problems[3]


def test_lenient_loading_keeps_the_rules_that_parse() -> None:
    catalog, problems = load_catalog_lenient(BAD)
    assert catalog is not None
    assert len(problems) == 4
    assert catalog.topics[0].rules == ["sanction*"]
    assert catalog.context == []


def test_the_shipped_catalog_compiles() -> None:
    matcher = Matcher.from_catalog(load_catalog(SHIPPED))
    assert matcher.atom_count > 100
