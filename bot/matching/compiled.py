"""Rules compiled once into atom tables and small evaluator nodes (no per-item compilation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.matching import rules as ast
from bot.matching.normalize import Token, prefix_key, term_keys

FIELDS = ("title", "summary")
# A position is (field index, token index); NEAR compares token indexes within one field.
Position = tuple[int, int]


@dataclass(slots=True)
class ItemTokens:
    """The tokens of one item per field, and which atoms they hit (filled by AtomTable.scan)."""

    fields: tuple[list[Token], list[Token]]
    hits: dict[int, list[Position]] = field(default_factory=dict)


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
        return atom.id

    def scan(self, fields: tuple[list[Token], list[Token]]) -> ItemTokens:
        """Look every token up once: by key, and by each prefix length in use."""
        item = ItemTokens(fields)
        hits = item.hits
        by_key, by_prefix, lengths = self._by_key, self._by_prefix, self._prefix_lengths
        for field_index, tokens in enumerate(fields):
            for index, token in enumerate(tokens):
                atom = by_key.get(token.key)
                if atom is not None:
                    hits.setdefault(atom, []).append((field_index, index))
                folded = token.folded
                for length in lengths:
                    if length > len(folded):
                        break
                    atom = by_prefix.get(folded[:length])
                    if atom is not None:
                        hits.setdefault(atom, []).append((field_index, index))
        return item


# A compiled node: positions where it holds (empty: it does not), plus the atoms that made it.
Result = tuple[list[Position], set[int]]
Evaluator = Callable[[ItemTokens], Result]
NOWHERE: Result = ([], set())
# NOT holds "somewhere" without a position of its own.
EVERYWHERE_MARK: Position = (-1, -1)


def _field_filter(scope: str | None) -> int | None:
    return None if scope is None else FIELDS.index(scope)


def _atom_node(atom_id: int, scope: str | None) -> Evaluator:
    wanted = _field_filter(scope)

    def evaluate(item: ItemTokens) -> Result:
        positions = item.hits.get(atom_id)
        if not positions:
            return NOWHERE
        if wanted is not None:
            positions = [p for p in positions if p[0] == wanted]
        return (positions, {atom_id}) if positions else NOWHERE

    return evaluate


def _atom_set_node(atom_ids: frozenset[int], scope: str | None) -> Evaluator:
    """Any of many atoms (an alias, an OR of words): driven by the item's hits, not the rule's."""
    wanted = _field_filter(scope)

    def evaluate(item: ItemTokens) -> Result:
        hits = item.hits
        found = (
            [a for a in hits if a in atom_ids]
            if len(hits) < len(atom_ids)
            else [a for a in atom_ids if a in hits]
        )
        positions: list[Position] = []
        used: set[int] = set()
        for atom in found:
            got = hits[atom] if wanted is None else [p for p in hits[atom] if p[0] == wanted]
            if got:
                positions.extend(got)
                used.add(atom)
        return (positions, used) if positions else NOWHERE

    return evaluate


def _phrase_node(atom_ids: Sequence[int], scope: str | None) -> Evaluator:
    wanted = _field_filter(scope)
    first, rest = atom_ids[0], atom_ids[1:]

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

    return evaluate


def _phrase_set_node(phrases: Sequence[Evaluator], first_atoms: Sequence[int]) -> Evaluator:
    """Any of many phrases: only those whose first word occurs in the item are tried."""
    by_first: dict[int, list[Evaluator]] = {}
    for phrase, first in zip(phrases, first_atoms, strict=True):
        by_first.setdefault(first, []).append(phrase)

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
                got, used = phrase(item)
                positions.extend(got)
                atoms |= used
        return (positions, atoms) if positions else NOWHERE

    return evaluate


def _or_node(children: Sequence[Evaluator]) -> Evaluator:
    def evaluate(item: ItemTokens) -> Result:
        positions: list[Position] = []
        atoms: set[int] = set()
        for child in children:
            got, used = child(item)
            positions.extend(got)
            atoms |= used
        return (positions, atoms) if positions else NOWHERE

    return evaluate


def _and_node(children: Sequence[Evaluator]) -> Evaluator:
    def evaluate(item: ItemTokens) -> Result:
        positions: list[Position] = []
        atoms: set[int] = set()
        for child in children:
            got, used = child(item)
            if not got:
                return NOWHERE
            positions.extend(p for p in got if p != EVERYWHERE_MARK)
            atoms |= used
        return (positions or [EVERYWHERE_MARK], atoms)

    return evaluate


def _not_node(child: Evaluator) -> Evaluator:
    def evaluate(item: ItemTokens) -> Result:
        got, _ = child(item)
        return NOWHERE if got else ([EVERYWHERE_MARK], set())

    return evaluate


def _near_node(left: Evaluator, right: Evaluator, distance: int) -> Evaluator:
    def evaluate(item: ItemTokens) -> Result:
        lpos, latoms = left(item)
        if not lpos:
            return NOWHERE
        rpos, ratoms = right(item)
        close = [
            p
            for a in lpos
            for b in rpos
            if a[0] == b[0] and 0 < abs(a[1] - b[1]) <= distance
            for p in (a, b)
        ]
        return (close, latoms | ratoms) if close else NOWHERE

    return evaluate


class RuleCompiler:
    """Turns rule ASTs into evaluators over one shared AtomTable; aliases are expanded here."""

    def __init__(self, aliases: Mapping[str, Sequence[ast.Node]]) -> None:
        self.table = AtomTable()
        self._aliases = aliases
        # An alias is referenced by many rules: compile it once per field scope.
        self._alias_nodes: dict[tuple[str, str | None], Evaluator] = {}

    # One branch per node type reads better than a dispatch table here.
    def compile(self, node: ast.Node, scope: str | None = None) -> Evaluator:  # noqa: PLR0911
        """The evaluator for a parsed rule."""
        if isinstance(node, ast.Term):
            ids = self.table.terms(node.text)
            if len(ids) > 1:
                return _phrase_node(ids, node.field or scope)
            return _atom_node(ids[0], node.field or scope)
        if isinstance(node, ast.Prefix):
            return _atom_node(self.table.prefix(node.text), node.field or scope)
        if isinstance(node, ast.Phrase):
            ids = [atom for w in node.words for atom in self._word(w)]
            return _phrase_node(ids, node.field or scope)
        if isinstance(node, ast.AliasRef):
            key = (node.name, node.field or scope)
            if key not in self._alias_nodes:
                self._alias_nodes[key] = self._any_of(self._aliases[node.name], key[1])
            return self._alias_nodes[key]
        if isinstance(node, ast.Or):
            return self._any_of(node.items, scope)
        if isinstance(node, ast.And):
            return _and_node([self.compile(n, scope) for n in node.items])
        if isinstance(node, ast.Not):
            return _not_node(self.compile(node.item, scope))
        if isinstance(node, ast.Near):
            return _near_node(
                self.compile(node.left, scope), self.compile(node.right, scope), node.distance
            )
        raise TypeError(f"unknown rule node {node!r}")

    def _any_of(self, nodes: Sequence[ast.Node], scope: str | None) -> Evaluator:
        """An OR whose plain words and prefixes become one set lookup per field scope."""
        by_scope: dict[str | None, set[int]] = {}
        phrases: list[Evaluator] = []
        firsts: list[int] = []
        others: list[Evaluator] = []
        for node in nodes:
            if isinstance(node, ast.Term | ast.Prefix):
                ids = self._word(node)
                if len(ids) == 1:
                    by_scope.setdefault(node.field or scope, set()).add(ids[0])
                    continue
            elif isinstance(node, ast.Phrase):
                ids = [a for w in node.words for a in self._word(w)]
            else:
                others.append(self.compile(node, scope))
                continue
            # A phrase, or a term like "U.S." that is several words.
            phrases.append(_phrase_node(ids, node.field or scope))
            firsts.append(ids[0])
        children = [_atom_set_node(frozenset(ids), s) for s, ids in by_scope.items()]
        if phrases:
            children.append(_phrase_set_node(phrases, firsts))
        children += others
        return children[0] if len(children) == 1 else _or_node(children)

    def _word(self, word: ast.Term | ast.Prefix) -> list[int]:
        if isinstance(word, ast.Prefix):
            return [self.table.prefix(word.text)]
        return self.table.terms(word.text)


def any_of(evaluators: Iterable[Evaluator]) -> Evaluator:
    """An OR over whole rules (a topic holds when any of its rules does)."""
    return _or_node(list(evaluators))


class AtomCollector:
    """Which atoms a rule can be triggered by, and whether it can hold with none of them."""

    def __init__(self, compiler: RuleCompiler, aliases: Mapping[str, Sequence[ast.Node]]) -> None:
        self._compiler = compiler
        self._aliases = aliases
        self._alias_atoms: dict[str, set[int]] = {}

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

    def required(self, node: ast.Node) -> set[int]:
        """Atoms of which at least one must occur for the rule to hold (the fewer, the better).

        Words under NOT never trigger a rule; of an AND's parts the one with the fewest atoms
        is enough, since every part must hold.
        """
        if isinstance(node, ast.Not):
            return set()
        if isinstance(node, ast.And):
            parts = [self.required(n) for n in node.items if not isinstance(n, ast.Not)]
            return min((p for p in parts if p), key=len, default=set())
        if isinstance(node, ast.Or):
            return set().union(*(self.required(n) for n in node.items))
        if isinstance(node, ast.Near):
            return min(self.required(node.left), self.required(node.right), key=len)
        return self.atoms(node)

    def needs_hit(self, node: ast.Node) -> bool:
        """False when the rule could hold although none of its atoms occur (`a OR NOT b`)."""
        if isinstance(node, ast.Not):
            return False
        if isinstance(node, ast.And):
            return any(self.needs_hit(n) for n in node.items)
        if isinstance(node, ast.Or):
            return all(self.needs_hit(n) for n in node.items)
        return True
