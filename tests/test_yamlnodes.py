"""The YAML layer: plain values with lines; anchors, aliases, tags and repeated keys refused."""

from __future__ import annotations

import time

import pytest

from bot.config import yamlnodes
from bot.config.yamlnodes import REFUSED, YamlSyntaxError, compose_text, dump_plain


@pytest.fixture(params=["libyaml", "pure"])
def accelerated(request: pytest.FixtureRequest) -> bool:
    """Run each test with libyaml's parser (when built in) and with the pure-Python one."""
    if request.param == "libyaml" and yamlnodes.FAST_LOADER is None:
        pytest.skip("PyYAML was built without libyaml")
    return bool(request.param == "libyaml")


def test_values_and_lines_of_every_path(accelerated: bool) -> None:
    text = "a: 1\nb:\n  - x\n  - {c: true, d: null}\ne: '2024-01-01'\nf: 2024-01-01\n"
    tree = compose_text(text, accelerated=accelerated)
    assert tree.value == {
        "a": 1,
        "b": ["x", {"c": True, "d": None}],
        "e": "2024-01-01",
        "f": "2024-01-01",
    }
    assert tree.lines[("a",)] == 1
    assert tree.lines[("b", 0)] == 3
    assert tree.lines[("b", 1, "d")] == 4
    assert tree.lines[("f",)] == 6
    assert tree.problems == []


def test_keys_stay_as_written_but_values_follow_yaml_1_1(accelerated: bool) -> None:
    tree = compose_text("on: no\n1: yes\n", accelerated=accelerated)
    assert tree.value == {"on": False, "1": True}


def test_repeated_key_is_reported_with_both_lines_and_first_value_kept(accelerated: bool) -> None:
    tree = compose_text("a:\n  b: 1\n  c: 2\n  b: 3\n", accelerated=accelerated)
    assert tree.value == {"a": {"b": 1, "c": 2}}
    [problem] = tree.problems
    assert problem.line == 4
    assert problem.path == ("a", "b")
    assert "duplicate key 'b' (first at line 2)" in problem.message


def test_anchor_and_alias_are_refused_at_their_lines(accelerated: bool) -> None:
    tree = compose_text("a: &x [1, 2]\nb: *x\nc: 3\n", accelerated=accelerated)
    assert tree.value == {"a": REFUSED, "b": REFUSED, "c": 3}
    assert [(p.line, p.path) for p in tree.problems] == [(1, ("a",)), (2, ("b",))]
    assert "&x" in tree.problems[0].message
    assert "*x" in tree.problems[1].message
    assert tree.refused == {("a",), ("b",)}


def test_billion_laughs_never_expands(accelerated: bool) -> None:
    levels = ["a: &a [" + ", ".join(["lol"] * 9) + "]"]
    for prev, name in zip("abcdefghi", "bcdefghij", strict=False):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    tree = compose_text("\n".join(levels) + "\n", accelerated=accelerated)
    assert time.perf_counter() - started < 1.0
    assert set(tree.value.values()) == {REFUSED}
    assert len(tree.problems) == 10


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "!!python/object/apply:os.system"),
        ("a: !!python/name:os.system\n", "!!python/name:os.system"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x, y}\n", "!!set"),
        ("a: !custom value\n", "!custom"),
    ],
)
def test_tags_other_than_plain_types_are_refused(accelerated: bool, text: str, shown: str) -> None:
    tree = compose_text(text, accelerated=accelerated)
    assert tree.value == {"a": REFUSED}
    [problem] = tree.problems
    assert problem.line == 1
    assert f"the tag {shown} is not allowed" in problem.message


def test_explicit_plain_tags_are_honoured(accelerated: bool) -> None:
    tree = compose_text("a: !!str 123\nb: !!int '7'\nc: !!int x\n", accelerated=accelerated)
    assert tree.value == {"a": "123", "b": 7, "c": REFUSED}
    assert [p.line for p in tree.problems] == [3]


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: [1, 2\n", 2), ("a: 1\n---\nb: 2\n", 2), ("a: 'open\n", 2), ("a: b: c\n", 1)],
)
def test_syntax_errors_name_a_line(accelerated: bool, text: str, line: int) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        compose_text(text, accelerated=accelerated)
    assert caught.value.line == line
    assert caught.value.message.startswith("not valid YAML")


def test_empty_and_control_character_texts_are_errors(accelerated: bool) -> None:
    with pytest.raises(YamlSyntaxError, match="empty"):
        compose_text("# only a comment\n", accelerated=accelerated)
    with pytest.raises(YamlSyntaxError):
        compose_text("a: 1\nb: \x00\n", accelerated=accelerated)


def test_deep_nesting_is_an_error_not_a_crash(accelerated: bool) -> None:
    with pytest.raises(YamlSyntaxError):
        compose_text("[" * 200_000, accelerated=accelerated)
    tree = compose_text("a: " + "[" * 30 + "]" * 30 + "\n", accelerated=accelerated)
    assert "nested deeper" in tree.problems[0].message


def test_dump_plain_round_trips_awkward_strings(accelerated: bool) -> None:
    shared = ["same", "list"]
    data = {
        "words": ["no", "yes", "on", "null", "~", "1:30", "0x1F", "2024-01-01", "1e3"],
        "marks": ["&x", "*y", "!tag", "# not a comment", "a: b", "- dash", "'quoted'"],
        "text": ["Лукашэнка", "line one\nline two", " padded ", ""],
        "again": shared,
        "twice": shared,
    }
    text = dump_plain(data, header="a header")
    assert text.startswith("# a header\n")
    tree = compose_text(text, accelerated=accelerated)
    assert tree.problems == []
    assert tree.value == data
