"""Tokeniser for the rule language of bot.matching.rules, and the error both modules raise."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from bot.errors import BriefbotError

MAX_QUERY_LENGTH = 2000
MIN_PREFIX_LETTERS = 3
MIN_NEAR = 1
MAX_NEAR = 50
DEFAULT_NEAR = 5
FIELDS = ("title", "summary")
OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})

# Fixed patterns of ours (staff never supply regular expressions). Inside each repetition every
# alternative starts with a different kind of character and nothing follows the repetition, so
# matching is a single linear pass with no backtracking.
_LETTER = r"[^\W_]"
# Combining accents (a decomposed ŭ, a Russian stress mark) continue a word.
_MARK = r"[\u0300-\u036f\u0483-\u0487]"
APOSTROPHES = "'’‘"  # ʼ (U+02BC) is a letter in Unicode, so the word pattern already takes it
HYPHENS = "-‐‑–"  # ASCII hyphen-minus, Unicode hyphen, non-breaking hyphen, en dash
WORD = re.compile(rf"{_LETTER}(?:{_LETTER}|{_MARK}|[{APOSTROPHES}]{_LETTER}|[{HYPHENS}]{_LETTER})*")
_HYPHEN_SPLIT = re.compile(f"[{HYPHENS}]")
_DIGITS = re.compile(r"[0-9]+")
_ALIAS_NAME = re.compile(r"\w+(?:-\w+)*")
# Each opening quote has its own closing marks, so that a quote of another kind inside a
# phrase is reported instead of silently splitting it in two.
CLOSERS = {'"': '"', "«": "»", "“": "”", "„": "“”"}
_CLOSER = {opener: re.compile(f"[{closers}]") for opener, closers in CLOSERS.items()}
_HINT = 'rules are made of words, "phrases", @aliases, operators and parentheses'
_HINTS = {
    "*": "* must directly follow at least 3 letters, as in sanct*",
    ":": "a colon only follows a field name: title: or summary:",
    "/": "a slash only appears in NEAR/n",
    "»": "» closes a phrase that was never opened",
    "”": "” closes a phrase that was never opened",
    "'": "an apostrophe is only allowed inside a word",
    "’": "an apostrophe is only allowed inside a word",
}


class RuleSyntaxError(BriefbotError, ValueError):
    """A rule that does not parse; `position` is the 0-based offset of the problem in `text`."""

    def __init__(self, message: str, position: int, text: str) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position
        self.text = text

    def pointer(self, width: int = 72) -> str:
        """Two lines: the rule (a window of it when long) and a caret under the problem."""
        start = max(0, min(self.position - width // 2, len(self.text) - width))
        end = min(len(self.text), start + width)
        shown = "".join(" " if not ch.isprintable() else ch for ch in self.text[start:end])
        lead = "…" if start > 0 else ""
        tail = "…" if end < len(self.text) else ""
        # Combining accents take no column, so they do not move the caret.
        before = self.text[start : self.position]
        column = len(lead) + sum(1 for ch in before if not unicodedata.combining(ch))
        return f"{lead}{shown}{tail}\n{' ' * column}^"


class Token(NamedTuple):
    """One lexical unit; `words` and `star` describe WORD and PHRASE tokens."""

    kind: str  # WORD PHRASE ALIAS FIELD AND OR NOT NEAR MINUS LPAREN RPAREN EOF
    pos: int
    end: int
    text: str = ""  # operator or field name, alias name
    words: tuple[str, ...] = ()
    star: bool = False  # the last word ends with *
    distance: int = 0  # NEAR's


def tokenize(text: str) -> list[Token]:
    """Split a rule into tokens ending with EOF; raises RuleSyntaxError at the first bad one."""
    if len(text) > MAX_QUERY_LENGTH:
        message = f"the rule is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}"
        raise RuleSyntaxError(message, MAX_QUERY_LENGTH, text)
    return _Lexer(text).run()


def show_char(ch: str) -> str:
    """A character quoted for a message; invisible ones by code point."""
    return repr(ch) if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def _nfc(word: str) -> str:
    # A decomposed and a precomposed ŭ must give equal ASTs.
    return word if word.isascii() else unicodedata.normalize("NFC", word)


class _Lexer:
    """One pass over a rule's text, appending tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def error(self, message: str, position: int) -> RuleSyntaxError:
        """The syntax error at `position`, for the caller to raise."""
        return RuleSyntaxError(message, position, self.text)

    def add(
        self,
        kind: str,
        pos: int,
        end: int,
        *,
        text: str = "",
        words: tuple[str, ...] = (),
        star: bool = False,
        distance: int = 0,
    ) -> None:
        """Append a token and move past it."""
        self.tokens.append(Token(kind, pos, end, text, words, star, distance))
        self.pos = end

    def run(self) -> list[Token]:
        """Tokenise the whole text."""
        text, size = self.text, len(self.text)
        while self.pos < size:
            ch, pos = text[self.pos], self.pos
            if ch.isspace():
                self.pos += 1
            elif ch in "()":
                self.add("LPAREN" if ch == "(" else "RPAREN", pos, pos + 1)
            elif ch in CLOSERS:
                self.phrase()
            elif ch == "@":
                self.alias()
            elif ch == "-":
                self.minus()
            elif (match := WORD.match(text, pos)) is not None:
                self.word(match.end())
            else:
                hint = _HINTS.get(ch, _HINT)
                raise self.error(f"unexpected character {show_char(ch)}; {hint}", pos)
        self.tokens.append(Token("EOF", size, size))
        return self.tokens

    def word(self, end: int) -> None:
        """A bare word, wildcard, field name or operator ending at `end`."""
        start, raw = self.pos, self.text[self.pos : end]
        after = self.text[end : end + 1]
        self.check_word_end(end)
        if after == "*":
            parts = self.split(raw)
            self.check_star(end, parts[-1])
            self.add("WORD", start, end + 1, words=parts, star=True)
        elif after == ":":
            self.field(raw, start, end)
        elif raw == "NEAR":
            self.near(start, end)
        elif raw in OPERATORS:
            self.add(raw, start, end, text=raw)
        else:
            self.add("WORD", start, end, words=self.split(raw))

    def check_word_end(self, end: int) -> None:
        """A hyphen must join two words; a trailing one is a typo."""
        after = self.text[end : end + 1]
        if after and after in HYPHENS:
            raise self.error("a hyphen must join two words, as in co-operation", end)

    def check_star(self, star: int, stem: str) -> None:
        """The * at `star` ends the word and follows enough letters."""
        after = self.text[star + 1 : star + 2]
        if after == "*" or WORD.match(after):
            raise self.error("* may only end a word: sanct* matches sanction, sanctions, ...", star)
        letters = sum(1 for ch in stem if ch.isalnum())
        if letters < MIN_PREFIX_LETTERS:
            message = f"a wildcard needs at least {MIN_PREFIX_LETTERS} letters before *"
            raise self.error(f"{message}; {stem}* has {letters}", star)

    def split(self, raw: str) -> tuple[str, ...]:
        """A hyphenated word's parts, each NFC-normalised."""
        return tuple(_nfc(part) for part in _HYPHEN_SPLIT.split(raw))

    def field(self, name: str, start: int, colon: int) -> None:
        """`title:` or `summary:`, glued to what it scopes."""
        if name not in FIELDS:
            raise self.error(f"unknown field {name}:; the fields are title: and summary:", start)
        after = self.text[colon + 1 : colon + 2]
        if not after or after.isspace():
            message = f"put what {name}: applies right after the colon, as in {name}:word"
            raise self.error(message, colon)
        self.add("FIELD", start, colon + 1, text=name)

    def near(self, start: int, end: int) -> None:
        """NEAR, or NEAR/n with n in 1..50."""
        if self.text[end : end + 1] != "/":
            self.add("NEAR", start, end, text="NEAR", distance=DEFAULT_NEAR)
            return
        digits = _DIGITS.match(self.text, end + 1)
        if digits is None:
            message = f"NEAR/ needs a number of words from {MIN_NEAR} to {MAX_NEAR}"
            raise self.error(message, end + 1)
        if WORD.match(self.text, digits.end()):
            raise self.error("NEAR/n must be followed by a space", digits.end())
        distance = int(digits.group())
        if not MIN_NEAR <= distance <= MAX_NEAR:
            message = f"NEAR/{distance}: the distance must be from {MIN_NEAR} to {MAX_NEAR} words"
            raise self.error(message, end + 1)
        self.add("NEAR", start, digits.end(), text="NEAR", distance=distance)

    def minus(self) -> None:
        """A leading - meaning NOT, glued to its operand."""
        after = self.text[self.pos + 1 : self.pos + 2]
        if not after or after.isspace() or after == ")":
            raise self.error("write - right before what it excludes, as in -sport", self.pos)
        self.add("MINUS", self.pos, self.pos + 1)

    def alias(self) -> None:
        """@name."""
        name = _ALIAS_NAME.match(self.text, self.pos + 1)
        if name is None:
            raise self.error("@ must be followed by an alias name, as in @lukashenka", self.pos)
        if self.text[name.end() : name.end() + 1] == "*":
            raise self.error("an @alias cannot take *; put wildcards in its spellings", name.end())
        self.add("ALIAS", self.pos, name.end(), text=name.group())

    def phrase(self) -> None:
        """A quoted phrase: words separated by spaces, the last may end with *."""
        start, opener = self.pos, self.text[self.pos]
        closer = _CLOSER[opener].search(self.text, start + 1)
        if closer is None:
            expected = " or ".join(CLOSERS[opener])
            message = f"this {opener} opens a phrase that is never closed; close it with {expected}"
            raise self.error(message, start)
        close = closer.start()
        words: list[str] = []
        star = -1
        pos = start + 1
        while pos < close:
            if self.text[pos].isspace():
                pos += 1
                continue
            match = WORD.match(self.text, pos, close)
            if match is None:
                shown = show_char(self.text[pos])
                raise self.error(f"{shown} cannot appear inside a phrase, only words can", pos)
            if star >= 0:
                raise self.error("only the last word of a phrase may end with *", star)
            self.check_word_end(match.end())
            words.extend(self.split(match.group()))
            pos = match.end()
            if self.text[pos] == "*":
                self.check_star(pos, words[-1])
                star, pos = pos, pos + 1
        if not words:
            raise self.error("empty phrase: put words between the quotes", start)
        self.add("PHRASE", start, close + 1, words=tuple(words), star=star >= 0)
