"""The matcher: one verdict per item from the catalog's topics, compiled once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from bot.config.catalog import Catalog, TopicSpec
from bot.errors import ConfigError
from bot.matching import rules as ast
from bot.matching.compiled import (
    FIELDS,
    AtomCollector,
    Evaluator,
    ItemTokens,
    Node,
    Position,
    RuleCompiler,
    Test,
    any_of,
)
from bot.matching.snippets import snippet

TITLE_WEIGHT = 1.0
SUMMARY_WEIGHT = 0.5
EXTRA_TOPIC_WEIGHT = 0.5
# score = raw / (raw + SCORE_HALF): one title word gives about a third, several words approach 1.
SCORE_HALF = 2.0


@dataclass(frozen=True, slots=True)
class MatchInput:
    """What the matcher reads of an item."""

    id: str
    title: str
    summary: str = ""
    language: str = "en"
    scope: str = "global"
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One reason an item matched: the rule's word, the item's word, where, and its context."""

    topic: str
    term: str
    word: str
    field: str
    snippet: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "topic": self.topic,
            "term": self.term,
            "word": self.word,
            "field": self.field,
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Relevant or not, and why."""

    relevant: bool
    recommendations: tuple[str, ...]
    themes: tuple[str, ...]
    score: float
    urgent: bool
    why: tuple[Hit, ...]
    topics: tuple[str, ...] = ()  # every matched topic id, recommendation topics included
    # Topics that matched an item from a global feed that never mentions Belarus.
    without_context: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `briefbot match` output without id and story)."""
        return {
            "relevant": self.relevant,
            "recommendations": list(self.recommendations),
            "themes": list(self.themes),
            "score": self.score,
            "urgent": self.urgent,
            "why": [hit.as_dict() for hit in self.why],
        }


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule of a topic, ready to evaluate."""

    topic: TopicSpec
    evaluate: Evaluator
    atoms: frozenset[int]  # the rule cannot hold unless one of these occurs
    needs_hit: bool
    test: Test  # bool(evaluate(item)[0]), cheaper: only rules that hold are evaluated


_POSITION = itemgetter(1)
_WEIGHTS = (TITLE_WEIGHT, SUMMARY_WEIGHT)  # by field index
# Verdicts are immutable: every item that matches nothing can share one.
_NOT_RELEVANT = Verdict(False, (), (), 0.0, False, ())


def _word_and_snippet(
    texts: tuple[str, str], tokens: ItemTokens, position: Position
) -> tuple[str, str]:
    """The word at `position` as written, and its snippet."""
    start, end = tokens.span(position)
    text = texts[position[0]]
    return text[start:end], snippet(text, start, end)


def parse_aliases(
    aliases: Mapping[str, Sequence[str]],
) -> tuple[dict[str, list[ast.Node]], list[str]]:
    """Parse every alias spelling (aliases may not refer to aliases); collect the problems."""
    parsed: dict[str, list[ast.Node]] = {}
    problems: list[str] = []
    for name, spellings in aliases.items():
        parsed[name] = []
        for index, spelling in enumerate(spellings):
            try:
                parsed[name].append(ast.parse_spelling(spelling))
            except ast.RuleSyntaxError as exc:
                problems.append(f"aliases.{name}[{index}]: {exc.message}\n{exc.pointer()}")
    return parsed, problems


class Matcher:
    """Every topic's rules, the Belarus context rules and the aliases, compiled into one table."""

    def __init__(
        self,
        topics: Sequence[TopicSpec],
        context: Sequence[str],
        aliases: Mapping[str, Sequence[str]],
        *,
        use_index: bool = True,
    ) -> None:
        parsed_aliases, problems = parse_aliases(aliases)
        self._aliases = parsed_aliases
        self._compiler = RuleCompiler(parsed_aliases)
        collector = AtomCollector(self._compiler, parsed_aliases)
        self._rules: list[CompiledRule] = []
        self._topics = {t.id: t for t in topics}
        for topic in topics:
            for index, text in enumerate(topic.rules):
                where = f"topics.{topic.id}.rules[{index}]"
                node = self._parse(text, where, problems)
                if node is None:
                    continue
                try:
                    compiled = self._compiler.compile_node(node)
                except ValueError as exc:  # a word that normalises to nothing, e.g. `Ts*`
                    problems.append(f"{where}: {exc}")
                    continue
                self._rules.append(
                    CompiledRule(
                        topic,
                        compiled.evaluate,
                        frozenset(collector.required(node)),
                        collector.needs_hit(node),
                        compiled.test,
                    )
                )
        context_nodes = [
            node
            for index, text in enumerate(context)
            if (node := self._parse(text, f"context[{index}]", problems)) is not None
        ]
        # Which rules an atom can trigger: an item only evaluates the rules its words reach.
        self._triggers: dict[int, list[int]] = {}
        self._always: list[int] = []
        for index, rule in enumerate(self._rules):
            # use_index=False evaluates every rule: the reference the tests compare against.
            if not use_index or not rule.needs_hit or not rule.atoms:
                self._always.append(index)
            for atom in rule.atoms:
                self._triggers.setdefault(atom, []).append(index)
        # A set, so that intersecting it with an item's atoms walks the item's few.
        self._trigger_atoms = frozenset(self._triggers)
        self._checks = [(r.test, r.evaluate, r.topic.id) for r in self._rules]
        self._context: Node | None = (
            any_of(self._compiler.compile_node(n) for n in context_nodes) if context_nodes else None
        )
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Matcher:
        """Compile a catalog's topics, context and aliases; every rule problem is reported."""
        return cls(catalog.topics, catalog.context, catalog.aliases)

    def _parse(self, text: str, where: str, problems: list[str]) -> ast.Node | None:
        try:
            return ast.parse_rule(text, aliases=self._aliases.keys())
        except ast.RuleSyntaxError as exc:
            problems.append(f"{where}: {exc.message}\n{exc.pointer()}")
            return None

    @property
    def atom_count(self) -> int:
        """Distinct words and prefixes across all rules."""
        return len(self._compiler.table.atoms)

    def compile_query(self, text: str) -> Evaluator:
        """Compile one ad-hoc query (for `rules test`); raises RuleSyntaxError."""
        return self._compiler.compile(ast.parse_rule(text, aliases=self._aliases.keys()))

    def scan(self, title: str, summary: str) -> tuple[ItemTokens, tuple[str, str]]:
        """Split an item once and look its words up in the atom table."""
        return self._compiler.table.scan(title, summary), (title, summary)

    def candidates(self, tokens: ItemTokens) -> list[int]:
        """Indexes of the rules an item's atoms can trigger (and those that need none), in order."""
        triggers = self._triggers
        found = set(self._always)
        for atom in tokens.present.intersection(self._trigger_atoms):
            found.update(triggers[atom])
        return sorted(found)

    def match(self, item: MatchInput) -> Verdict:
        """The verdict for one item."""
        tokens, texts = self.scan(item.title, item.summary)
        hits = tokens.hits
        checks = self._checks
        matched: dict[str, set[tuple[int, Position]]] = {}
        for index in self.candidates(tokens):
            test, evaluate, topic_id = checks[index]
            if not test(tokens):  # most candidates stop here, before any position is listed
                continue
            positions, atoms = evaluate(tokens)
            if positions:
                bucket = matched.setdefault(topic_id, set())
                # The set's order decides the order of ties in "why": keep building it this way.
                bucket.update((a, p) for a in atoms for p in hits.get(a, ()))
        if not matched:
            return _NOT_RELEVANT
        in_context = item.scope == "belarus" or self._context is None or self._context.test(tokens)
        if not in_context:
            return Verdict(False, (), (), 0.0, False, (), without_context=tuple(sorted(matched)))
        return self._verdict(matched, tokens, texts)

    def _verdict(
        self,
        matched: dict[str, set[tuple[int, Position]]],
        tokens: ItemTokens,
        texts: tuple[str, str],
    ) -> Verdict:
        topics = [self._topics[t] for t in sorted(matched)]
        atoms = self._compiler.table.atoms
        why: list[Hit] = []
        weights: dict[tuple[int, int], float] = {}
        # A word often explains several atoms or topics: cut its snippet once.
        words: dict[Position, tuple[str, str]] = {}
        urgent = False
        for topic in topics:
            topic_id, topic_urgent = topic.id, topic.urgent
            seen_atoms: set[int] = set()
            # Stable sort by position only: ties keep the set's order, as they always did.
            for atom_id, position in sorted(matched[topic_id], key=_POSITION):
                field_index = position[0]
                weights[(atom_id, field_index)] = _WEIGHTS[field_index]
                if topic_urgent and field_index == 0:
                    urgent = True
                if atom_id in seen_atoms:
                    continue
                seen_atoms.add(atom_id)
                word = words.get(position)
                if word is None:
                    word = words[position] = _word_and_snippet(texts, tokens, position)
                why.append(
                    Hit(topic_id, atoms[atom_id].display, word[0], FIELDS[field_index], word[1])
                )
        raw = sum(weights.values()) + EXTRA_TOPIC_WEIGHT * (len(topics) - 1)
        return Verdict(
            relevant=True,
            recommendations=tuple(sorted({t.recommendation for t in topics if t.recommendation})),
            themes=tuple(t.id for t in topics if not t.recommendation),
            score=round(raw / (raw + SCORE_HALF), 3),
            urgent=urgent,
            why=tuple(why),
            topics=tuple(t.id for t in topics),
        )
