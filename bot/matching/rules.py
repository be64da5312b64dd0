"""The rule language staff write in topics, aliases and context rules (full guide: docs/rules.md).

A rule is a boolean query; there are no user regular expressions, so no ReDoS::

    term        sanctions  Лукашэнка  сям'я  Łukašenka   (matches inflected forms)
    hyphenated  ЗША-Беларусь  co-operation               (= the phrase "ЗША Беларусь")
    prefix      санкц*                                    (>= 3 letters before *, * only at the end)
    phrase      "United Transition Cabinet"  «вызваленне палітвязняў»  „..."  “...”  (last word*)
    alias       @lukashenka                               (a named group of spellings)
    field       title:term  summary:(a OR b)  title:"phrase"  title:@alias
    operators   NOT a, -a  >  a NEAR/n b (n 1..50; NEAR = NEAR/5)  >  a AND b, a b  >  a OR b

Operators are uppercase only (`and` is a word). NEAR takes terms, prefixes, phrases, aliases or
parenthesised ORs of those. A rule must require something: `NOT sport` alone is an error.
Limits: 2,000 characters, 200 atoms, parentheses 20 deep. Every error is a RuleSyntaxError with
the 0-based `.position` of the problem and `.pointer()` for display.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal, TypeAlias

from bot.matching.rules_lexer import (
    DEFAULT_NEAR,
    HYPHENS,
    OPERATORS,
    WORD,
    RuleSyntaxError,
    Token,
    tokenize,
)

__all__ = [
    "AliasRef",
    "And",
    "Atom",
    "Field",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "RuleSyntaxError",
    "Term",
    "Word",
    "atoms",
    "parse_rule",
    "parse_spelling",
    "to_text",
]

MAX_ATOMS = 200
MAX_DEPTH = 20

Field: TypeAlias = Literal["title", "summary"] | None
_FIELD_OF: dict[str, Field] = {"title": "title", "summary": "summary"}


@dataclass(frozen=True, slots=True)
class Term:
    """A word; the matcher also accepts its inflected forms."""

    text: str
    field: Field = None


@dataclass(frozen=True, slots=True)
class Prefix:
    """A word start written `санкц*`: any word beginning with `text`."""

    text: str
    field: Field = None


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words; only the last may be a Prefix. Words carry no field of their own."""

    words: tuple[Word, ...]
    field: Field = None


@dataclass(frozen=True, slots=True)
class AliasRef:
    """`@name`: any spelling of a catalog alias."""

    name: str
    field: Field = None


@dataclass(frozen=True, slots=True)
class And:
    """Every item matches (two or more, none an And)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one item matches (two or more, none an Or)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not match."""

    item: Node


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides match within `distance` tokens of each other, in either order."""

    left: Atom | Or
    right: Atom | Or
    distance: int = DEFAULT_NEAR


Word: TypeAlias = Term | Prefix
Atom: TypeAlias = Term | Prefix | Phrase | AliasRef
Node: TypeAlias = Term | Prefix | Phrase | AliasRef | And | Or | Not | Near
_ATOMS = (Term, Prefix, Phrase, AliasRef)
_DOUBLE_NOT = "two negations in a row cancel out; remove both"
_OPERAND_START = frozenset({"WORD", "PHRASE", "ALIAS", "FIELD", "LPAREN", "MINUS", "NOT"})


def parse_rule(text: str, *, aliases: Collection[str] = ()) -> Node:
    """Parse a rule; `aliases` are the known alias names. Raises RuleSyntaxError."""
    return _Parser(text, aliases).parse()


def parse_spelling(text: str) -> Term | Prefix | Phrase:
    """Parse one alias spelling: a single word, word* or "phrase", with no field."""
    tokens = tokenize(text)
    if tokens[0].kind not in ("WORD", "PHRASE"):
        raise RuleSyntaxError('a spelling is one word, word* or "phrase"', tokens[0].pos, text)
    if tokens[1].kind != "EOF":
        message = 'a spelling is one word, word* or "phrase"; quote several words'
        raise RuleSyntaxError(message, tokens[1].pos, text)
    return _atom_of(tokens[0], None)


def atoms(node: Node) -> Iterator[Atom]:
    """The rule's terms, prefixes, phrases and alias references, left to right."""
    if isinstance(node, _ATOMS):
        yield node
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from atoms(item)
    elif isinstance(node, Not):
        yield from atoms(node.item)
    else:
        yield from atoms(node.left)
        yield from atoms(node.right)


def _atom_of(token: Token, field: Field) -> Term | Prefix | Phrase:
    """The atom a WORD or PHRASE token stands for; one word needs no Phrase."""
    if len(token.words) == 1:
        text = token.words[0]
        return Prefix(text, field) if token.star else Term(text, field)
    words: list[Word] = [Term(word) for word in token.words]
    if token.star:
        words[-1] = Prefix(token.words[-1])
    return Phrase(tuple(words), field)


def _flat(kind: type[And] | type[Or], items: list[Node]) -> tuple[Node, ...]:
    """Items with nested nodes of the same kind spliced in: a OR (b OR c) is a OR b OR c."""
    out: list[Node] = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(out)


def _needs_nothing(node: Node) -> bool:
    """Whether the rule matches a text containing none of its atoms (i.e. almost anything)."""
    if isinstance(node, Not):
        return not _needs_nothing(node.item)
    if isinstance(node, And):
        return all(_needs_nothing(item) for item in node.items)
    if isinstance(node, Or):
        return any(_needs_nothing(item) for item in node.items)
    return False


def _culprit(node: Node) -> Not:
    """The NOT that makes a `_needs_nothing` rule hold without any of its atoms."""
    if isinstance(node, Not):
        return node
    assert isinstance(node, And | Or)
    return _culprit(next(item for item in node.items if _needs_nothing(item)))


class _Parser:
    """Recursive descent over the tokens; one method per precedence level."""

    def __init__(self, text: str, aliases: Collection[str]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.aliases = aliases
        self.atom_count = 0
        self.depth = 0
        # Where each operator node came from, for errors found after it was built. The node is
        # kept alive in the value so that its id() cannot be reused.
        self.where: dict[int, tuple[Node, int]] = {}

    def error(self, message: str, position: int) -> RuleSyntaxError:
        """The syntax error at `position`, for the caller to raise."""
        return RuleSyntaxError(message, position, self.text)

    def peek(self) -> Token:
        """The next token, not consumed."""
        return self.tokens[self.index]

    def advance(self) -> Token:
        """Consume and return the next token."""
        self.index += 1
        return self.tokens[self.index - 1]

    def mark(self, node: Node, position: int) -> Node:
        """Remember where an operator node starts."""
        self.where[id(node)] = (node, position)
        return node

    def position_of(self, node: Node) -> int:
        """Where an operator node starts (atoms are never asked)."""
        return self.where[id(node)][1]

    def parse(self) -> Node:
        """The whole rule."""
        if self.peek().kind == "EOF":
            raise self.error("the rule is empty", 0)
        node = self.parse_or(None)
        if self.peek().kind == "RPAREN":
            raise self.error("this ) has no matching (", self.peek().pos)
        if _needs_nothing(node):
            message = "this rule would match almost every item: NOT only excludes; add a word"
            message += " that must appear, as in belarus -sport"
            raise self.error(message, self.position_of(_culprit(node)))
        return node

    def parse_or(self, field: Field) -> Node:
        """and-level items joined by OR."""
        items = [self.parse_and(field)]
        start = self.peek().pos
        while self.peek().kind == "OR":
            self.advance()
            items.append(self.parse_and(field))
        return items[0] if len(items) == 1 else self.mark(Or(_flat(Or, items)), start)

    def parse_and(self, field: Field) -> Node:
        """near-level items joined by AND or written side by side."""
        items = [self.parse_near(field)]
        start = self.peek().pos
        while (kind := self.peek().kind) == "AND" or kind in _OPERAND_START:
            if kind == "AND":
                self.advance()
            items.append(self.parse_near(field))
        return items[0] if len(items) == 1 else self.mark(And(_flat(And, items)), start)

    def parse_near(self, field: Field) -> Node:
        """A unary item, or two joined by NEAR."""
        left = self.parse_unary(field)
        if self.peek().kind != "NEAR":
            return left
        near = self.advance()
        right = self.parse_unary(field)
        if self.peek().kind == "NEAR":
            message = "NEAR joins exactly two operands: write (a NEAR b) AND (b NEAR c)"
            raise self.error(message, self.peek().pos)
        node = Near(self.near_operand(left), self.near_operand(right), near.distance)
        fields = {_shared_field(node.left), _shared_field(node.right)}
        if fields == {"title", "summary"}:
            message = "NEAR compares positions within one field; title and summary never meet"
            raise self.error(message, near.pos)
        return self.mark(node, near.pos)

    def near_operand(self, node: Node) -> Atom | Or:
        """`node` if NEAR accepts it: an atom or an OR of atoms."""
        if isinstance(node, _ATOMS):
            return node
        bad = node
        if isinstance(node, Or):
            bad = next((item for item in node.items if not isinstance(item, _ATOMS)), node)
            if bad is node:
                return node
        if isinstance(bad, And):
            message = "NEAR cannot contain AND; use a phrase or an OR: (a OR b) NEAR c"
        elif isinstance(bad, Not):
            message = "NEAR cannot contain NOT; write (a NEAR b) -c, or x -(a NEAR b)"
        else:
            message = "NEAR cannot contain another NEAR"
        raise self.error(message, self.position_of(bad))

    def parse_unary(self, field: Field) -> Node:
        """NOT x, -x, or a primary."""
        negation = self.peek()
        if negation.kind not in ("NOT", "MINUS"):
            return self.parse_primary(field)
        self.advance()
        # Checked before descending, so a long run of NOTs cannot exhaust the stack.
        if self.peek().kind in ("NOT", "MINUS"):
            raise self.error(_DOUBLE_NOT, self.peek().pos)
        item = self.parse_primary(field)
        if isinstance(item, Not):
            raise self.error(_DOUBLE_NOT, self.position_of(item))
        return self.mark(Not(item), negation.pos)

    def parse_primary(self, field: Field) -> Node:
        """An atom, a field-scoped primary or a parenthesised group."""
        token = self.peek()
        if token.kind in ("WORD", "PHRASE"):
            return self.atom(_atom_of(self.advance(), field), token.pos)
        if token.kind == "ALIAS":
            self.check_alias(self.advance())
            return self.atom(AliasRef(token.text, field), token.pos)
        if token.kind == "FIELD":
            return self.scoped(field)
        if token.kind == "LPAREN":
            return self.group(field)
        raise self.unexpected(token)

    def atom(self, node: Atom, position: int) -> Node:
        """Count an atom against the limit."""
        self.atom_count += 1
        if self.atom_count > MAX_ATOMS:
            raise self.error(f"more than {MAX_ATOMS} terms in one rule; split it", position)
        return node

    def check_alias(self, token: Token) -> None:
        """The alias must exist; suggest the closest known name if it does not."""
        if token.text in self.aliases:
            return
        if not self.aliases:
            raise self.error(f"unknown alias @{token.text}: no aliases are defined", token.pos)
        close = difflib.get_close_matches(token.text, sorted(self.aliases), n=1)
        hint = f"; did you mean @{close[0]}?" if close else ""
        raise self.error(f"unknown alias @{token.text}{hint}", token.pos)

    def scoped(self, outer: Field) -> Node:
        """title:x or summary:x; the field is pushed down to every atom of x."""
        token = self.advance()
        field = _FIELD_OF[token.text]
        if outer is not None and outer != field:
            raise self.error(f"{token.text}: cannot be used inside {outer}:", token.pos)
        if self.peek().kind in ("FIELD", "NOT", "MINUS"):
            message = f'{token.text}: must be followed by a word, "phrase", @alias or (group)'
            raise self.error(message, self.peek().pos)
        return self.parse_primary(field)

    def group(self, field: Field) -> Node:
        """( or-expression )."""
        opening = self.advance()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"parentheses are nested more than {MAX_DEPTH} deep", opening.pos)
        if self.peek().kind == "RPAREN":
            raise self.error("empty parentheses", opening.pos)
        node = self.parse_or(field)
        if self.peek().kind != "RPAREN":
            raise self.error("this ( is never closed", opening.pos)
        self.advance()
        self.depth -= 1
        return node

    def unexpected(self, token: Token) -> RuleSyntaxError:
        """Explain a token found where an operand was expected."""
        previous = self.tokens[self.index - 1] if self.index else None
        if token.kind == "EOF" and previous is not None:
            return self.error(f"nothing after {self.source(previous)}", previous.pos)
        if previous is None or previous.kind == "LPAREN":
            return self.error(f"{self.source(token)} needs something before it", token.pos)
        shown = f"{self.source(previous)} and {self.source(token)}"
        return self.error(f"expected a word, phrase, @alias or ( between {shown}", token.pos)

    def source(self, token: Token) -> str:
        """The token as written."""
        return self.text[token.pos : token.end]


def to_text(node: Node) -> str:
    """The rule in canonical syntax; parse_rule(to_text(node)) == node for parsed nodes."""
    return _render(node, None)


def _shared_field(node: Node) -> Field:
    """The field every atom of `node` is scoped to, if they agree on one."""
    fields = {atom.field for atom in atoms(node)}
    return fields.pop() if len(fields) == 1 else None


def _group_field(node: Node, inherited: Field) -> Field:
    """The field shared by all atoms of an AND/OR/NEAR, if it can be written once outside."""
    if isinstance(node, (Not, *_ATOMS)):
        return None
    field = _shared_field(node)
    return field if field != inherited else None


def _render(node: Node, inherited: Field) -> str:
    """`node` as text where atoms without a written field get `inherited`."""
    if isinstance(node, _ATOMS):
        return _render_atom(node, inherited)
    if (field := _group_field(node, inherited)) is not None:
        return f"{field}:({_render(node, field)})"
    if isinstance(node, Not):
        return f"NOT {_primary(node.item, inherited)}"
    if isinstance(node, And | Or):
        # Only an OR inside an AND needs parentheses; the others are there for the reader.
        joiner = " AND " if isinstance(node, And) else " OR "
        return joiner.join(
            _render(item, inherited) if isinstance(item, Not) else _primary(item, inherited)
            for item in node.items
        )
    left, right = _primary(node.left, inherited), _primary(node.right, inherited)
    return f"{left} NEAR/{node.distance} {right}"


def _primary(node: Node, inherited: Field) -> str:
    """`node` as text that binds tighter than any operator."""
    if isinstance(node, _ATOMS) or _group_field(node, inherited) is not None:
        return _render(node, inherited)
    return f"({_render(node, inherited)})"


def _render_atom(atom: Atom, inherited: Field) -> str:
    """An atom, with its field unless the enclosing group already wrote it."""
    scope = f"{atom.field}:" if atom.field is not None and atom.field != inherited else ""
    if isinstance(atom, AliasRef):
        return f"{scope}@{atom.name}"
    if isinstance(atom, Prefix):
        return f"{scope}{atom.text}*"
    if isinstance(atom, Term):
        bare = atom.text not in OPERATORS and WORD.fullmatch(atom.text) is not None
        bare = bare and not any(hyphen in atom.text for hyphen in HYPHENS)
        return f"{scope}{atom.text}" if bare else f'{scope}"{atom.text}"'
    spelled = " ".join(f"{w.text}*" if isinstance(w, Prefix) else w.text for w in atom.words)
    return f'{scope}"{spelled}"'
