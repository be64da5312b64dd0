"""Rules compiled once into atom tables and small evaluator nodes (no per-item compilation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from bot.matching import rules as ast
from bot.matching.morphology import word_key
from bot.matching.normalize import SplitText, Token, prefix_key, split_words, term_keys

FIELDS = ("title", "summary")
TITLE, SUMMARY = 0, 1
# A position is (field index, token index); NEAR compares token indexes within one field.
Position = tuple[int, int]
# The atoms a word hits, in the order the look-up finds them: its key, then its prefixes from
# the shortest. A word that folds to nothing (a lone ь) is no token at all: NOT_A_TOKEN.
WordAtoms = tuple[int, ...]
NOT_A_TOKEN: Final[WordAtoms] = (-1,)
# Distinct words remembered per atom table; news vocabularies are far smaller, so the memo is
# simply emptied when it fills up.
WORD_MEMO_SIZE = 200_000


class ItemTokens:
    """One item's words per field, and which atoms they hit (made by AtomTable.scan)."""

    __slots__ = (
        "_not_tokens",
        "_split",
        "_summary_atoms",
        "hits",
        "present",
        "title_atoms",
    )

    def __init__(
        self,
        split: tuple[SplitText, SplitText],
        hits: dict[int, list[Position]],
        title_atoms: set[int],
        not_tokens: tuple[Sequence[int], Sequence[int]] = ((), ()),
    ) -> None:
        self._split = split
        # Per field, the indexes of words that fold to nothing (no token, no position).
        self._not_tokens = not_tokens
        # Every atom that occurs -> its positions, title first: the order rules depend on.
        self.hits = hits
        self.present = set(hits)  # a set, so that isdisjoint() walks the smaller side
        self.title_atoms = title_atoms
        self._summary_atoms: set[int] | None = None

    def summary_atoms(self) -> set[int]:
        """The atoms that occur in the summary (worked out on first use)."""
        if self._summary_atoms is None:
            # Positions are in field order, so the last one tells whether the summary has any.
            self._summary_atoms = {a for a, got in self.hits.items() if got[-1][0] == SUMMARY}
        return self._summary_atoms

    def span(self, position: Position) -> tuple[int, int]:
        """Offsets in the field's text of the token at `position`."""
        field_index, index = position
        for skipped in self._not_tokens[field_index]:  # word indexes, ascending; rarely any
            if skipped <= index:
                index += 1
        return self._split[field_index].span(index)

    @property
    def fields(self) -> tuple[list[Token], list[Token]]:
        """The tokens of each field, as `tokenize` gives them (built on demand)."""
        return self._split[0].tokens(), self._split[1].tokens()


@dataclass(frozen=True, slots=True)
class Atom:
    """One word or prefix to look for, in which fields."""

    id: int
    display: str  # as staff wrote it, for "why"
    prefix: bool
    text: str  # term key, or folded prefix


class AtomTable:
    """Every term and prefix of every rule, deduplicated: the single automaton items run through."""

    def __init__(self) -> None:
        self.atoms: list[Atom] = []
        self._by_key: dict[str, int] = {}
        self._by_prefix: dict[str, int] = {}
        self._prefix_lengths: list[int] = []
        self._prefix_length_set: set[int] = set()
        # Rules and aliases repeat the same words; folding each text once keeps compiling fast.
        self._terms_of_text: dict[str, list[int]] = {}
        self._prefix_of_text: dict[str, int] = {}
        # Word as written -> the atoms it hits; replaced whenever an atom is added.
        self._word_atoms: dict[str, WordAtoms] = {}

    def term(self, word: str) -> int:
        """The atom id for a one-word term (created on first use)."""
        return self.terms(word)[0]

    def terms(self, word: str) -> list[int]:
        """Atom ids for a term; a term such as "U.S." may be several words (a phrase)."""
        known = self._terms_of_text.get(word)
        if known is not None:
            return known
        ids = []
        for key in term_keys(word):
            if key not in self._by_key:
                self._by_key[key] = self._add(word, prefix=False, text=key)
            ids.append(self._by_key[key])
        if not ids:
            raise ValueError(f"{word!r} has no letters or digits to match")
        self._terms_of_text[word] = ids
        return ids

    def prefix(self, stem: str) -> int:
        """The atom id for a prefix wildcard (created on first use)."""
        known = self._prefix_of_text.get(stem)
        if known is not None:
            return known
        folded = prefix_key(stem)
        if folded not in self._by_prefix:
            self._by_prefix[folded] = self._add(f"{stem}*", prefix=True, text=folded)
            self._prefix_length_set.add(len(folded))
            self._prefix_lengths = sorted(self._prefix_length_set)
        self._prefix_of_text[stem] = self._by_prefix[folded]
        return self._by_prefix[folded]

    def _add(self, display: str, *, prefix: bool, text: str) -> int:
        atom = Atom(len(self.atoms), display, prefix, text)
        self.atoms.append(atom)
        # A remembered word may hit the new atom. A new dict, not clear(): a scan running
        # meanwhile (in another thread) can then only write to the one it started with.
        self._word_atoms = {}
        return atom.id

    def scan(self, title: str, summary: str) -> ItemTokens:
        """Split both fields and look every word up once (a memo per distinct word)."""
        split = (split_words(title), split_words(summary))
        hits: dict[int, list[Position]] = {}
        not_tokens: tuple[list[int], list[int]] = ([], [])
        self._scan_field(split[0].words, TITLE, hits, not_tokens[0])
        title_atoms = set(hits)
        self._scan_field(split[1].words, SUMMARY, hits, not_tokens[1])
        return ItemTokens(split, hits, title_atoms, not_tokens)

    def _scan_field(
        self,
        words: list[str],
        field_index: int,
        hits: dict[int, list[Position]],
        not_tokens: list[int],
    ) -> None:
        """Add the positions of one field's words to `hits` (tokens are counted per field)."""
        memo, learn = self._word_atoms, self._learn
        index = 0
        for word in words:
            found = memo.get(word)
            if found is None:
                found = learn(word, memo)
            if found:
                if found is NOT_A_TOKEN:
                    not_tokens.append(index + len(not_tokens))
                    continue
                position = (field_index, index)
                for atom in found:
                    got = hits.get(atom)
                    if got is None:
                        hits[atom] = [position]
                    else:
                        got.append(position)
            index += 1

    def _learn(self, word: str, memo: dict[str, WordAtoms]) -> WordAtoms:
        """The atoms a word hits: by key, and by each prefix length in use; kept in `memo`."""
        folded, key = word_key(word)
        if not folded:
            found = NOT_A_TOKEN
        else:
            atoms = []
            atom = self._by_key.get(key)
            if atom is not None:
                atoms.append(atom)
            for length in self._prefix_lengths:
                if length > len(folded):
                    break
                atom = self._by_prefix.get(folded[:length])
                if atom is not None:
                    atoms.append(atom)
            found = tuple(atoms)
        if len(memo) >= WORD_MEMO_SIZE:
            memo.clear()
        memo[word] = found
        return found


# A compiled node's full result: positions where it holds (empty: it does not), plus the atoms
# that made it (a set whose iteration order decides the order of ties in a verdict's "why").
Result = tuple[list[Position], set[int]]
Evaluator = Callable[[ItemTokens], Result]
# Whether a node holds: always bool(evaluate(item)[0]), but without building positions or atom
# sets, so most candidate rules are rejected cheaply and NOT never builds what it discards.
Test = Callable[[ItemTokens], bool]
NOWHERE: Result = ([], set())
# NOT holds "somewhere" without a position of its own.
EVERYWHERE_MARK: Position = (-1, -1)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """What an OR of atoms holds on: any of these atoms (per field scope), or another test.

    `gated` tests (phrases) can only hold when an atom of `gate` occurs (one word of each
    phrase), so one set check usually rules them all out; `others` always run.
    """

    anywhere: frozenset[int] = frozenset()
    title: frozenset[int] = frozenset()
    summary: frozenset[int] = frozenset()
    gate: frozenset[int] = frozenset()
    gated: tuple[Test, ...] = ()
    others: tuple[Test, ...] = ()

    def __or__(self, other: AnyOf) -> AnyOf:
        return AnyOf(
            _union(self.anywhere, other.anywhere),
            _union(self.title, other.title),
            _union(self.summary, other.summary),
            _union(self.gate, other.gate),
            self.gated + other.gated,
            self.others + other.others,
        )


def _union(a: frozenset[int], b: frozenset[int]) -> frozenset[int]:
    # Reuse a side when the other is empty: compiled rules keep thousands of these alive.
    return a | b if a and b else a or b


@dataclass(frozen=True, slots=True)
class Node:
    """A compiled rule or part of one: its full evaluation and its yes/no test."""

    evaluate: Evaluator
    test: Test
    # For atoms and ORs: the same test as data, so that an OR of aliases tests in one go.
    any_of: AnyOf | None = None
    negates: Node | None = None  # for a NOT, the node it negates


def _field_filter(scope: str | None) -> int | None:
    return None if scope is None else FIELDS.index(scope)


def _scoped(atom_ids: frozenset[int], scope: str | None) -> AnyOf:
    if scope is None:
        return AnyOf(anywhere=atom_ids)
    return AnyOf(title=atom_ids) if scope == "title" else AnyOf(summary=atom_ids)


def _any_test(any_of: AnyOf) -> Test:
    """One test for an AnyOf: a set intersection per field scope, then the other tests."""
    anywhere = any_of.anywhere
    if any_of.title or any_of.summary or any_of.gated or any_of.others:
        return _any_scoped_test(any_of)

    # The common case, unscoped words only.
    def test(item: ItemTokens) -> bool:
        return not item.present.isdisjoint(anywhere)

    return test


def _any_scoped_test(any_of: AnyOf) -> Test:
    """`_any_test` for an AnyOf with field scopes, phrases or other tests."""
    anywhere, title, summary = any_of.anywhere, any_of.title, any_of.summary
    gate, gated, others = any_of.gate, any_of.gated, any_of.others

    def test(item: ItemTokens) -> bool:
        present = item.present
        if anywhere and not present.isdisjoint(anywhere):
            return True
        if title and not item.title_atoms.isdisjoint(title):
            return True
        if summary and not item.summary_atoms().isdisjoint(summary):
            return True
        if gated and not present.isdisjoint(gate):
            for holds in gated:
                if holds(item):
                    return True
        for holds in others:  # noqa: SIM110 (a loop is faster than any() over a generator)
            if holds(item):
                return True
        return False

    return test


def _atom_node(atom_id: int, scope: str | None) -> Node:
    wanted = _field_filter(scope)

    def evaluate(item: ItemTokens) -> Result:
        positions = item.hits.get(atom_id)
        if not positions:
            return NOWHERE
        if wanted is not None:
            positions = [p for p in positions if p[0] == wanted]
        return (positions, {atom_id}) if positions else NOWHERE

    any_of = _scoped(frozenset((atom_id,)), scope)
    return Node(evaluate, _any_test(any_of), any_of=any_of)


def _atom_set_node(atom_ids: frozenset[int], scope: str | None) -> Node:
    """Any of many atoms (an alias, an OR of words): driven by the item's hits, not the rule's."""
    wanted = _field_filter(scope)
    # Where each atom comes when iterating `atom_ids`, to list found atoms in that order.
    rank = {atom: k for k, atom in enumerate(atom_ids)}.__getitem__

    def evaluate(item: ItemTokens) -> Result:
        hits = item.hits
        common = item.present.intersection(atom_ids)
        if not common:
            return NOWHERE
        # The order of the atoms decides the order of the `used` set: the item's order when
        # it has fewer atoms than the set, the set's order otherwise (as a plain loop over the
        # smaller side would list them).
        if len(common) == 1:
            found = list(common)
        elif len(hits) < len(atom_ids):
            found = [a for a in hits if a in common]
        else:
            found = sorted(common, key=rank)
        positions: list[Position] = []
        used: set[int] = set()
        for atom in found:
            got = hits[atom] if wanted is None else [p for p in hits[atom] if p[0] == wanted]
            if got:
                positions.extend(got)
                used.add(atom)
        return (positions, used) if positions else NOWHERE

    any_of = _scoped(atom_ids, scope)
    return Node(evaluate, _any_test(any_of), any_of=any_of)


def _phrase_node(atom_ids: Sequence[int], scope: str | None, gate: int) -> Node:
    """Consecutive words; `gate` is the one of them likeliest to be rare (all must occur)."""
    wanted = _field_filter(scope)
    first, rest = atom_ids[0], atom_ids[1:]
    needed = frozenset(atom_ids)

    def evaluate(item: ItemTokens) -> Result:
        starts = item.hits.get(first)
        if not starts:
            return NOWHERE
        others = [set(item.hits.get(a, ())) for a in rest]
        found = [
            (f, i)
            for f, i in starts
            if (wanted is None or f == wanted)
            and all((f, i + n + 1) in others[n] for n in range(len(rest)))
        ]
        return (found, set(atom_ids)) if found else NOWHERE

    def test(item: ItemTokens) -> bool:
        # Only when every word occurs somewhere are the positions worth comparing.
        return needed.issubset(item.present) and bool(evaluate(item)[0])

    return Node(evaluate, test, any_of=AnyOf(gate=frozenset((gate,)), gated=(test,)))


def _phrase_set_node(phrases: Sequence[Node], atom_ids: Sequence[Sequence[int]]) -> Node:
    """Any of many phrases: only those whose first word occurs in the item are tried."""
    by_first: dict[int, list[Node]] = {}
    # For the test: gate word -> (every word, evaluator) of the phrases gated on it.
    by_gate: dict[int, list[tuple[frozenset[int], Evaluator]]] = {}
    for phrase, ids in zip(phrases, atom_ids, strict=True):
        by_first.setdefault(ids[0], []).append(phrase)
        needed = frozenset(ids)
        for gate in phrase.any_of.gate if phrase.any_of else ids:
            by_gate.setdefault(gate, []).append((needed, phrase.evaluate))
    gates = frozenset(by_gate)

    def evaluate(item: ItemTokens) -> Result:
        hits = item.hits
        firsts = (
            [a for a in hits if a in by_first]
            if len(hits) < len(by_first)
            else [a for a in by_first if a in hits]
        )
        positions: list[Position] = []
        atoms: set[int] = set()
        for first in firsts:
            for phrase in by_first[first]:
                got, used = phrase.evaluate(item)
                positions.extend(got)
                atoms |= used
        return (positions, atoms) if positions else NOWHERE

    def test(item: ItemTokens) -> bool:
        present = item.present
        for gate in present.intersection(gates):
            for needed, phrase in by_gate[gate]:
                if needed.issubset(present) and phrase(item)[0]:
                    return True
        return False

    return Node(evaluate, test, any_of=AnyOf(gate=gates, gated=(test,)))


def _or_node(children: Sequence[Node]) -> Node:
    parts = [(child.evaluate, child.test) for child in children]
    any_of = AnyOf()
    for child in children:
        any_of |= child.any_of or AnyOf(others=(child.test,))

    def evaluate(item: ItemTokens) -> Result:
        positions: list[Position] = []
        atoms: set[int] = set()
        for child, holds in parts:
            # A child that does not hold adds nothing (no positions, and |= of an empty set
            # leaves `atoms` as it was), so it need not be evaluated.
            if holds(item):
                got, used = child(item)
                positions.extend(got)
                atoms |= used
        return (positions, atoms) if positions else NOWHERE

    return Node(evaluate, _any_test(any_of), any_of=any_of)


# One part of an AND, for its test: the part holds if one of its unscoped `atoms` occurs, or
# else if `rest` holds; `rest` can only hold if an atom of `gate` occurs, unless gate is None.
Part = tuple[frozenset[int], frozenset[int] | None, Test]


def _never(item: ItemTokens) -> bool:
    """The `rest` of a part that has nothing else (its empty gate means it is never called)."""
    return False


def _part(node: Node) -> Part:
    """A node as an AND part: its unscoped atoms, and the gate and test of the rest of it."""
    any_of = node.any_of
    if any_of is None:
        return frozenset(), None, node.test
    rest = replace(any_of, anywhere=frozenset())
    if rest == AnyOf():
        return any_of.anywhere, frozenset(), _never
    # Scoped atoms occur somewhere, and so does one word of each phrase, before they can hold.
    gate = None if rest.others else rest.title | rest.summary | rest.gate
    return any_of.anywhere, gate, _any_test(rest)


def _and_node(children: Sequence[Node]) -> Node:
    # A NOT adds no position and no atom to an AND: only whether it holds counts.
    parts = [(child.evaluate, child.negates is not None, child.test) for child in children]
    # The test as set checks on the item's atoms, with a call only where the rest of a part
    # could hold (phrases, field scopes, NEAR). What must occur is likelier to fail: it goes
    # first.
    positives = [_part(c) for c in children if c.negates is None]
    negatives = [_part(c.negates) for c in children if c.negates is not None]
    gated_positives = [(a, g, t) for a, g, t in positives if g is not None]
    open_positives = [(a, t) for a, g, t in positives if g is None]
    gated_negatives = [(a, g, t) for a, g, t in negatives if g is not None]
    open_negatives = [(a, t) for a, g, t in negatives if g is None]

    def evaluate(item: ItemTokens) -> Result:
        positions: list[Position] = []
        atoms: set[int] = set()
        for child, negated, holds in parts:
            if negated:
                if not holds(item):
                    return NOWHERE
                continue
            got, used = child(item)
            if not got:
                return NOWHERE
            positions.extend(p for p in got if p != EVERYWHERE_MARK)
            atoms |= used
        return (positions or [EVERYWHERE_MARK], atoms)

    def test(item: ItemTokens) -> bool:
        present = item.present
        for atoms, gate, rest in gated_positives:
            if present.isdisjoint(atoms) and (present.isdisjoint(gate) or not rest(item)):
                return False
        for atoms, rest in open_positives:
            if present.isdisjoint(atoms) and not rest(item):
                return False
        for atoms, gate, rest in gated_negatives:
            if not present.isdisjoint(atoms) or (not present.isdisjoint(gate) and rest(item)):
                return False
        for atoms, rest in open_negatives:
            if not present.isdisjoint(atoms) or rest(item):
                return False
        return True

    return Node(evaluate, test)


def _not_node(child: Node) -> Node:
    child_holds = child.test

    def evaluate(item: ItemTokens) -> Result:
        # What the child matched is discarded, so its test is enough.
        return NOWHERE if child_holds(item) else ([EVERYWHERE_MARK], set())

    def test(item: ItemTokens) -> bool:
        return not child_holds(item)

    return Node(evaluate, test, negates=child)


def _near_node(left: Node, right: Node, distance: int) -> Node:
    left_evaluate, right_evaluate = left.evaluate, right.evaluate
    left_holds, right_holds = left.test, right.test

    def evaluate(item: ItemTokens) -> Result:
        lpos, latoms = left_evaluate(item)
        if not lpos:
            return NOWHERE
        rpos, ratoms = right_evaluate(item)
        close = [
            p
            for a in lpos
            for b in rpos
            if a[0] == b[0] and 0 < abs(a[1] - b[1]) <= distance
            for p in (a, b)
        ]
        return (close, latoms | ratoms) if close else NOWHERE

    def test(item: ItemTokens) -> bool:
        return left_holds(item) and right_holds(item) and bool(evaluate(item)[0])

    return Node(evaluate, test)


class RuleCompiler:
    """Turns rule ASTs into evaluators over one shared AtomTable; aliases are expanded here."""

    def __init__(self, aliases: Mapping[str, Sequence[ast.Node]]) -> None:
        self.table = AtomTable()
        self._aliases = aliases
        # An alias is referenced by many rules: compile it once per field scope.
        self._alias_nodes: dict[tuple[str, str | None], Node] = {}

    def compile(self, node: ast.Node, scope: str | None = None) -> Evaluator:
        """The evaluator for a parsed rule."""
        return self.compile_node(node, scope).evaluate

    # One branch per node type reads better than a dispatch table here.
    def compile_node(self, node: ast.Node, scope: str | None = None) -> Node:  # noqa: PLR0911
        """The evaluator and test for a parsed rule."""
        if isinstance(node, ast.Term):
            ids = self.table.terms(node.text)
            if len(ids) > 1:
                return self._phrase(ids, node.field or scope)
            return _atom_node(ids[0], node.field or scope)
        if isinstance(node, ast.Prefix):
            return _atom_node(self.table.prefix(node.text), node.field or scope)
        if isinstance(node, ast.Phrase):
            ids = [atom for w in node.words for atom in self._word(w)]
            return self._phrase(ids, node.field or scope)
        if isinstance(node, ast.AliasRef):
            key = (node.name, node.field or scope)
            if key not in self._alias_nodes:
                self._alias_nodes[key] = self._any_of(self._aliases[node.name], key[1])
            return self._alias_nodes[key]
        if isinstance(node, ast.Or):
            return self._any_of(node.items, scope)
        if isinstance(node, ast.And):
            return _and_node([self.compile_node(n, scope) for n in node.items])
        if isinstance(node, ast.Not):
            return _not_node(self.compile_node(node.item, scope))
        if isinstance(node, ast.Near):
            return _near_node(
                self.compile_node(node.left, scope),
                self.compile_node(node.right, scope),
                node.distance,
            )
        raise TypeError(f"unknown rule node {node!r}")

    def _any_of(self, nodes: Sequence[ast.Node], scope: str | None) -> Node:
        """An OR whose plain words and prefixes become one set lookup per field scope."""
        by_scope: dict[str | None, set[int]] = {}
        phrases: list[Node] = []
        phrase_ids: list[list[int]] = []
        others: list[Node] = []
        for node in nodes:
            if isinstance(node, ast.Term | ast.Prefix):
                ids = self._word(node)
                if len(ids) == 1:
                    by_scope.setdefault(node.field or scope, set()).add(ids[0])
                    continue
            elif isinstance(node, ast.Phrase):
                ids = [a for w in node.words for a in self._word(w)]
            else:
                others.append(self.compile_node(node, scope))
                continue
            # A phrase, or a term like "U.S." that is several words.
            phrases.append(self._phrase(ids, node.field or scope))
            phrase_ids.append(ids)
        children = [_atom_set_node(frozenset(ids), s) for s, ids in by_scope.items()]
        if phrases:
            children.append(_phrase_set_node(phrases, phrase_ids))
        children += others
        return children[0] if len(children) == 1 else _or_node(children)

    def rarest(self, ids: Sequence[int]) -> int:
        """The atom of a phrase likeliest to be rare: the longest (a first word is often as
        common as на, с or Minsk)."""
        return max(ids, key=lambda atom: len(self.table.atoms[atom].text))

    def _phrase(self, ids: Sequence[int], scope: str | None) -> Node:
        return _phrase_node(ids, scope, self.rarest(ids))

    def _word(self, word: ast.Term | ast.Prefix) -> list[int]:
        if isinstance(word, ast.Prefix):
            return [self.table.prefix(word.text)]
        return self.table.terms(word.text)


def any_of(nodes: Iterable[Node]) -> Node:
    """An OR over whole rules (a topic holds when any of its rules does)."""
    return _or_node(list(nodes))


class AtomCollector:
    """Which atoms a rule can be triggered by, and whether it can hold with none of them."""

    def __init__(self, compiler: RuleCompiler, aliases: Mapping[str, Sequence[ast.Node]]) -> None:
        self._compiler = compiler
        self._aliases = aliases
        self._alias_atoms: dict[str, set[int]] = {}
        self._alias_required: dict[str, set[int]] = {}

    def atoms(self, node: ast.Node) -> set[int]:  # noqa: PLR0911
        """Every atom id the rule mentions (aliases expanded)."""
        table = self._compiler.table
        if isinstance(node, ast.Term):
            return set(table.terms(node.text))
        if isinstance(node, ast.Prefix):
            return {table.prefix(node.text)}
        if isinstance(node, ast.Phrase):
            return {
                table.prefix(w.text) if isinstance(w, ast.Prefix) else table.term(w.text)
                for w in node.words
            }
        if isinstance(node, ast.AliasRef):
            if node.name not in self._alias_atoms:
                spellings = self._aliases[node.name]
                self._alias_atoms[node.name] = set().union(*(self.atoms(n) for n in spellings))
            return self._alias_atoms[node.name]
        if isinstance(node, ast.Not):
            return self.atoms(node.item)
        if isinstance(node, ast.Near):
            return self.atoms(node.left) | self.atoms(node.right)
        return set().union(*(self.atoms(n) for n in node.items))

    def required(self, node: ast.Node) -> set[int]:  # noqa: PLR0911
        """Atoms of which at least one must occur for the rule to hold (the fewer, the better).

        An empty set means no atom is required (the part can hold without any). Words under
        NOT never trigger a rule; of an AND's parts the one with the fewest atoms is enough,
        since every part must hold; an OR requires nothing if one of its branches does not
        (`a OR -b` holds on an item with neither word).
        """
        if isinstance(node, ast.Not):
            return set()
        if isinstance(node, ast.And):
            parts = [self.required(n) for n in node.items if not isinstance(n, ast.Not)]
            return min((p for p in parts if p), key=len, default=set())
        if isinstance(node, ast.Or):
            branches = [self.required(n) for n in node.items]
            return set().union(*branches) if all(branches) else set()
        if isinstance(node, ast.Near):
            return min(self.required(node.left), self.required(node.right), key=len)
        if isinstance(node, ast.AliasRef):
            if node.name not in self._alias_required:
                spellings = self._aliases[node.name]
                self._alias_required[node.name] = set().union(*map(self.required, spellings))
            return self._alias_required[node.name]
        if isinstance(node, ast.Term | ast.Phrase):
            # A phrase holds only where all its words occur, so one of them is enough.
            words = [node] if isinstance(node, ast.Term) else node.words
            return {self._compiler.rarest([a for w in words for a in self._word(w)])}
        return self.atoms(node)

    def _word(self, word: ast.Term | ast.Prefix) -> list[int]:
        table = self._compiler.table
        return [table.prefix(word.text)] if isinstance(word, ast.Prefix) else table.terms(word.text)

    def needs_hit(self, node: ast.Node) -> bool:
        """False when the rule could hold although none of its atoms occur (`a OR NOT b`)."""
        if isinstance(node, ast.Not):
            return False
        if isinstance(node, ast.And):
            return any(self.needs_hit(n) for n in node.items)
        if isinstance(node, ast.Or):
            return all(self.needs_hit(n) for n in node.items)
        return True
