"""The matcher's speed structures never change a verdict: the rule index, tests, word memo."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from bot.config.catalog import TopicSpec, TopicTitles
from bot.matching import rules as ast
from bot.matching.compiled import ItemTokens
from bot.matching.matcher import Matcher, MatchInput
from bot.matching.normalize import _WORD, find_words, tokenize

TITLES = TopicTitles(en="t", be="t", ru="t")
ALIASES = {
    "bel": ["Belarus", "Беларусь", "беларус*", '"Republic of Belarus"', "Minsk"],
    "sport": ["hockey", "футбол*", '"world cup"'],
    "foreign": ["Poland", "Польш*", "Lithuania"],
}
# Rules the index must get right: NOT inside AND and OR, ORs that hold without any of their
# words, NEAR, phrases, prefixes, field scopes and aliases.
RULES = [
    "sanction* @bel",
    "sanction* @bel -@sport",
    "(alpha OR -beta) gamma",
    "gamma (alpha OR -beta)",
    "((-alpha -beta) OR delta) gamma",
    "(@bel OR -title:@foreign) talks",
    "title:talks summary:@bel",
    "summary:(talks NEAR/2 @bel) -title:hockey",
    "@bel NEAR/3 (passport* OR паспорт*)",
    '"united transition cabinet" OR (cabinet -@sport)',
    "alpha OR beta OR gamma",
    "title:(alpha OR beta) delta",
    "(alpha delta) OR (beta NEAR gamma)",
    '"world cup" Minsk',
    "co-operation @bel",  # a hyphenated term is a phrase of its parts
]
WORDS = [
    "sanctions",
    "sanctioned",
    "санкции",
    "Belarus",
    "Беларусь",
    "беларуская",
    "Republic",
    "of",
    "Minsk",
    "hockey",
    "футбола",
    "world",
    "cup",
    "Poland",
    "Польшчы",
    "Lithuania",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "talks",
    "passport",
    "паспарты",
    "паспорта",
    "united",
    "transition",
    "cabinet",
    "co-operation",
    "co",
    "operation",
    "the",
    "a",
    "and",
    "ь",
]


def topics(rules: list[str]) -> list[TopicSpec]:
    return [TopicSpec(id=f"t{k}", titles=TITLES, rules=[rule]) for k, rule in enumerate(rules)]


def random_items(count: int, seed: int = 1) -> Iterator[MatchInput]:
    rng = random.Random(seed)
    for k in range(count):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12)))
        yield MatchInput(str(k), title, summary, scope=rng.choice(("global", "belarus")))


@pytest.fixture(scope="module")
def indexed() -> Matcher:
    return Matcher(topics(RULES), ["@bel"], ALIASES)


@pytest.fixture(scope="module")
def reference() -> Matcher:
    return Matcher(topics(RULES), ["@bel"], ALIASES, use_index=False)


def test_an_or_with_a_negated_branch_requires_no_word(indexed: Matcher) -> None:
    # `alpha OR -beta` holds on an item with neither word, and so does `(-alpha -beta) OR
    # delta`: rules t2 and t4 must be evaluated although "gamma" is their only word present.
    verdict = indexed.match(MatchInput("1", "gamma", scope="belarus"))
    assert verdict.topics == ("t10", "t2", "t3", "t4")


def test_the_index_gives_the_verdicts_of_evaluating_every_rule(
    indexed: Matcher, reference: Matcher
) -> None:
    relevant = 0
    for item in random_items(3000):
        verdict = indexed.match(item)
        assert verdict == reference.match(item), item
        relevant += verdict.relevant
    assert relevant > 1000  # the items exercise the rules


def test_every_rule_that_holds_is_a_candidate(indexed: Matcher) -> None:
    for item in random_items(2000, seed=2):
        tokens, _ = indexed.scan(item.title, item.summary)
        candidates = set(indexed.candidates(tokens))
        for index, rule in enumerate(indexed._rules):
            if rule.evaluate(tokens)[0]:
                assert index in candidates, (RULES[index], item)


def subtrees(node: ast.Node) -> Iterator[ast.Node]:
    yield node
    if isinstance(node, ast.And | ast.Or):
        for item in node.items:
            yield from subtrees(item)
    elif isinstance(node, ast.Not):
        yield from subtrees(node.item)
    elif isinstance(node, ast.Near):
        yield from subtrees(node.left)
        yield from subtrees(node.right)


def test_a_nodes_test_agrees_with_its_evaluation(indexed: Matcher) -> None:
    compiler = indexed._compiler
    nodes = [
        compiler.compile_node(sub)
        for rule in RULES
        for sub in subtrees(ast.parse_rule(rule, aliases=ALIASES.keys()))
    ]
    for item in random_items(1500, seed=3):
        tokens, _ = indexed.scan(item.title, item.summary)
        for node in nodes:
            assert node.test(tokens) == bool(node.evaluate(tokens)[0]), item


def test_an_alias_lists_its_atoms_in_the_order_a_plain_loop_would(indexed: Matcher) -> None:
    # The order of the atom set decides the order of ties in a verdict's "why".
    node = indexed._compiler.compile_node(ast.parse_rule("@foreign", aliases=ALIASES.keys()))
    atom_ids = frozenset(indexed._compiler.table.prefix(w) for w in ("Польш",)) | frozenset(
        indexed._compiler.table.terms(w)[0] for w in ("Poland", "Lithuania")
    )
    for item in random_items(500, seed=4):
        tokens, _ = indexed.scan(item.title, item.summary)
        hits = tokens.hits
        expected: set[int] = set()
        order = (
            [a for a in hits if a in atom_ids]
            if len(hits) < len(atom_ids)
            else [a for a in atom_ids if a in hits]
        )
        for atom in order:
            expected.add(atom)
        assert list(node.evaluate(tokens)[1]) == list(expected)


TRICKY = [
    ("Лукашенко &amp; санкции", "e\u0301t\u00e9 Lukashenka's don't ь Ъ сям'я"),
    ("ь ь Minsk", "ﬁnance Ｂｅｌａｒｕｓ soft\u00adhyphen п’еса ЗША-Беларусь"),
    ("", "&#1083;&#1091;ка word_join  x2 1994"),
    ("U.S. talks", "Republic of Belarus, world cup — Minsk"),
]


@pytest.mark.parametrize(("title", "summary"), TRICKY)
def test_scan_reports_the_tokens_and_offsets_tokenize_does(
    indexed: Matcher, title: str, summary: str
) -> None:
    tokens, _ = indexed.scan(title, summary)
    expected = (tokenize(title), tokenize(summary))
    assert tokens.fields == expected
    for field_index, field in enumerate(expected):
        for index, token in enumerate(field):
            assert tokens.span((field_index, index)) == (token.start, token.end)


def test_hits_list_title_positions_before_summary_ones(indexed: Matcher) -> None:
    tokens, _ = indexed.scan("Minsk and Minsk", "Minsk")
    assert isinstance(tokens, ItemTokens)
    positions = next(iter(tokens.hits.values()))
    assert positions == [(0, 0), (0, 2), (1, 0)]
    assert tokens.title_atoms == tokens.summary_atoms() == tokens.present


def test_a_query_compiled_later_sees_words_already_looked_up() -> None:
    matcher = Matcher(topics(["alpha"]), [], {})
    matcher.scan("zebras crossing", "")  # remembered: these words hit no atom
    for query in ("zebra", "crossi*", "zeb*"):
        evaluate = matcher.compile_query(query)
        tokens, _ = matcher.scan("zebras crossing", "")
        assert evaluate(tokens)[0], query


# The word pattern as it was written before: one letter per repetition.
_LETTER = r"(?:[^\W_]|[\u0300-\u036f\u00ad\u200b\u2060])"
_LETTER_BY_LETTER = re.compile(rf"[^\W_]{_LETTER}*(?:['’ʼ`‘´]{_LETTER}+)*")


def test_the_word_pattern_finds_the_words_the_letter_by_letter_one_did() -> None:
    alphabet = "aZé9_ -'’ʼ`‘´\u0301\u036f\u00ad\u200b\u2060.,«»жЁўІ&;ŭłß١\u00a0"
    rng = random.Random(5)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        found = [m.span() for m in _WORD.finditer(text)]
        assert found == [m.span() for m in _LETTER_BY_LETTER.finditer(text)], repr(text)


def test_words_are_found_chunk_by_chunk_as_in_the_whole_text() -> None:
    alphabet = "ab Ж9_-'’\u0301\u00ad\u200b.,\t\n\u00a0\u2009\u3000\u2028\x1c\x85"
    rng = random.Random(6)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert find_words(text) == _WORD.findall(text), repr(text)
