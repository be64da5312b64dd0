"""Normalisation for matching: folding, tokenising and matching keys for rule terms.

Every word of an item and every rule term goes through the same pipeline:

1. the text: HTML entities decoded (&nbsp; &amp; &#1083;), NFKC (full-width letters,
   ligatures, compatibility forms); offsets into the original text are kept;
2. words: runs of letters and digits; an apostrophe between letters stays inside the word
   (сям'я, п’еса, don't, Lukashenka's); hyphens, dashes and all other punctuation separate
   words, so "ЗША-Беларусь" gives the two tokens "ЗША" and "Беларусь" (a hyphenated rule
   term is therefore a phrase of its parts: see `term_keys`);
3. folding (`bot.matching.translit`): case folding, ё -> е, Belarusian and Russian letters,
   Łacinka and Cyrillic to one ASCII Latin spelling, apostrophes dropped;
4. the key (`bot.matching.morphology`): the folded word without its inflectional ending.
   Words of one or two letters, numbers and words with digits are not stemmed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Final

from bot.matching.morphology import word_key
from bot.matching.translit import fold_word, script_of

__all__ = [
    "SplitText",
    "Token",
    "find_words",
    "fold",
    "prefix_key",
    "split_words",
    "term_key",
    "term_keys",
    "tokenize",
    "tokenize_with",
]


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its matching key, folded form and offsets in the original text."""

    key: str  # folded and stemmed: what a rule term's `term_key` is compared with
    folded: str  # folded full word, not stemmed: prefix wildcards use folded.startswith()
    start: int  # text[start:end] is the word as written in the text given to tokenize()
    end: int


# Runs of letters/digits or of combining accents and invisible soft hyphens.
_RUNS = r"(?:[^\W_]+|[\u0300-\u036f\u00ad\u200b\u2060]+)"
# A word: letters/digits (combining accents and invisible soft hyphens inside), optionally
# joined by single apostrophes of any kind. Written as possessive repeats of whole runs, not
# of single characters: the same matches (nothing after a repeat is required, so the greedy
# first try always succeeds), in about half the time.
_WORD: Final = re.compile(rf"[^\W_]{_RUNS}*+(?:['’ʼ`‘´]{_RUNS}++)*+")
# An entity reference html.unescape understands (named with ";", decimal or hex).
_ENTITY: Final = re.compile(
    r"&(?:#[0-9]{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};)"
)
# ASCII other than "&": already NFKC, nothing to decode.
_PLAIN: Final = re.compile(r"[\x00-\x25\x27-\x7f]+")
# Punctuation variants unified by fold(): quotes, apostrophes, hyphens and dashes.
_PUNCT: Final = str.maketrans(
    {
        "«": '"', "»": '"', "„": '"', "“": '"', "”": '"', "‟": '"', "‹": '"', "›": '"',
        "‚": "'", "‘": "'", "’": "'", "‛": "'", "ʼ": "'", "`": "'", "´": "'", "′": "'",
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "⁃": "-",
        "\u00ad": None, "\u200b": None, "\u2060": None,
    }
)  # fmt: skip


# Where each normalised character came from: start and end offsets in the original text.
Origin = tuple[list[int], list[int]]


def _normalise(text: str) -> tuple[str, Origin | None]:
    """Text with entities decoded and NFKC applied, and where each character came from.

    The offsets are two lists with one entry per normalised character: the start and end
    of the original characters (or entity) it came from. None means the text was already
    normal and offsets are unchanged.
    """
    if ("&" not in text or not _ENTITY.search(text)) and unicodedata.is_normalized("NFKC", text):
        return text, None
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos, size = 0, len(text)
    while pos < size:
        end = _plain_end(text, pos)
        if end > pos:  # a run of plain ASCII maps one to one
            pieces.append(text[pos:end])
            starts.extend(range(pos, end))
            ends.extend(range(pos + 1, end + 1))
            pos = end
            continue
        entity = _ENTITY.match(text, pos) if text[pos] == "&" else None
        end = entity.end() if entity else pos + 1
        # Combining marks join the unit before them so NFKC can compose them.
        while end < size and unicodedata.combining(text[end]):
            end += 1
        unit = unescape(text[pos:end]) if entity else text[pos:end]
        piece = unicodedata.normalize("NFKC", unit)
        pieces.append(piece)
        starts.extend([pos] * len(piece))
        ends.extend([end] * len(piece))
        pos = end
    return "".join(pieces), (starts, ends)


def _plain_end(text: str, pos: int) -> int:
    """End of the run of ASCII characters other than "&" at `pos` (pos if there is none).

    The last one stays out if a combining mark follows it, so that NFKC can compose them.
    """
    plain = _PLAIN.match(text, pos)
    if plain is None:
        return pos
    end = plain.end()
    if end < len(text) and unicodedata.combining(text[end]):
        end -= 1
    return end


class SplitText:
    """The words of a text as written, before folding; offsets are worked out only on demand.

    The matcher needs every word's key but the offsets of only the few words that matched,
    so splitting stays a single `findall`.
    """

    __slots__ = ("_normal", "_origin", "_pos", "_spans", "words")

    def __init__(self, words: list[str], normal: str, origin: Origin | None) -> None:
        self.words = words
        self._normal = normal
        self._origin = origin
        self._spans: list[tuple[int, int]] = []  # of the first words, in the normalised text
        self._pos = 0  # where the word after them may start

    def span(self, index: int) -> tuple[int, int]:
        """(start, end) in the original text of words[index], as `tokenize` reports it."""
        spans = self._spans
        if index >= len(spans):
            # Between two words there are only characters that cannot start one, so each
            # word starts at its first occurrence after the previous word.
            find, pos = self._normal.find, self._pos
            for word in self.words[len(spans) : index + 1]:
                start = find(word, pos)
                pos = start + len(word)
                spans.append((start, pos))
            self._pos = pos
        start, end = spans[index]
        origin = self._origin
        return (start, end) if origin is None else (origin[0][start], origin[1][end - 1])

    def spans(self) -> list[tuple[int, int]]:
        """(start, end) in the original text of every word."""
        return [self.span(index) for index in range(len(self.words))]

    def tokens(self) -> list[Token]:
        """The same tokens as `tokenize(text)`."""
        out: list[Token] = []
        for word, (start, end) in zip(self.words, self.spans(), strict=True):
            folded, key = word_key(word)
            if folded:
                out.append(Token(key, folded, start, end))
        return out


def split_words(text: str) -> SplitText:
    """The words `tokenize` would key, as written (word_key(word) gives folded form and key)."""
    normal, origin = _normalise(text)
    return SplitText(find_words(normal), normal, origin)


def find_words(normal: str) -> list[str]:
    r"""`_WORD.findall(normal)`, in about half the time.

    No part of the pattern matches whitespace, so no word spans two whitespace-separated
    chunks; a chunk of letters and digits only (`isalnum`, the pattern's [^\W_]) is one word,
    and only the others (punctuation, apostrophes, accents) need the pattern.
    """
    words: list[str] = []
    for chunk in normal.split():
        if chunk.isalnum():
            words.append(chunk)
        else:
            words.extend(_WORD.findall(chunk))
    return words


def tokenize(text: str) -> list[Token]:
    """The words of `text` with their keys, folded forms and offsets in `text`."""
    return tokenize_with(text, word_key)


def tokenize_with(text: str, analyse: Callable[[str], tuple[str, str]]) -> list[Token]:
    """`tokenize` with another (folded, key) function per word (for benchmarks)."""
    normal, origin = _normalise(text)
    tokens: list[Token] = []
    append = tokens.append
    for match in _WORD.finditer(normal):
        folded, key = analyse(match.group())
        if not folded:
            continue
        start, end = match.span()
        if origin is not None:
            start, end = origin[0][start], origin[1][end - 1]
        append(Token(key, folded, start, end))
    return tokens


def fold(text: str) -> str:
    """Text folded like tokens are: words via the folding table, punctuation unified."""
    normal, _ = _normalise(text)
    parts: list[str] = []
    last = 0
    for match in _WORD.finditer(normal):
        parts.append(normal[last : match.start()].casefold().translate(_PUNCT))
        parts.append(fold_word(match.group()))
        last = match.end()
    parts.append(normal[last:].casefold().translate(_PUNCT))
    return "".join(parts)


def term_keys(term: str) -> list[str]:
    """Keys of every word of a rule term or phrase, in order ("ЗША-Беларусь" gives two)."""
    return [token.key for token in tokenize(term)]


def term_key(word: str) -> str:
    """The key a one-word rule term matches; equals tokenize(word)[0].key.

    Raises ValueError if `word` holds no word or several (use `term_keys` for phrases and
    hyphenated terms, which tokenize into their parts).
    """
    keys = term_keys(word)
    if len(keys) != 1:
        raise ValueError(f"expected exactly one word, got {len(keys)}: {word!r}")
    return keys[0]


# Continuations that trigger every context-dependent folding rule at a prefix's end
# (ts + letter, kh, ie/ia/iu, ya/yu, -ies/-ied/-ier/-iest, ief, 's), and Łacinka letters
# later in the word, which make a plain l before a or u soft (vyrabla- in vyrablać).
_LATIN_PROBES: Final = (
    "", "a", "e", "i", "o", "u", "y", "s", "h", "t", "f", "j", "sa", "ha", "ja", "es", "ed",
    "er", "est", "ef", "ia", "ie", "iu", "ya", "yu", "je", "'s",
)  # fmt: skip
# Only for prefixes already written in Łacinka: probing a plain Latin prefix with them turned
# the whole word Łacinka and cut `lukashenk*` down to `l` (matching nearly every word).
_LACINKA_PROBES: Final = ("ć", "ać", "uć", "dz")
MIN_PREFIX = 3
_CYRILLIC_PROBES: Final = ("", "а", "е", "я", "ю", "ё", "ь", "'")
_HAS_CYRILLIC: Final = re.compile("[\u0400-\u04ff]")


def prefix_key(prefix: str) -> str:
    """Folded form of a prefix wildcard's text (санкц* -> "sankc").

    Every word that starts with `prefix` has a folded form starting with the result: where
    the last letters could fold differently depending on what follows (t before s, k before
    h, i before e), they are left out. Raises ValueError if nothing stable is left ("Ts").
    """
    normal = unicodedata.normalize("NFKC", unescape(prefix)).strip()
    if _HAS_CYRILLIC.search(normal):
        probes: tuple[str, ...] = _CYRILLIC_PROBES
    elif script_of(normal.casefold()) == "lacinka":
        probes = _LATIN_PROBES + _LACINKA_PROBES
    else:
        probes = _LATIN_PROBES
    common = fold_word(normal)
    for probe in probes:
        word = fold_word(normal + probe)
        while not word.startswith(common):
            common = common[:-1]
    if len(common) < MIN_PREFIX:
        # A one- or two-letter prefix would match a large share of all words.
        raise ValueError(
            f"prefix {prefix!r} keeps only {common!r} once spellings are folded; write more letters"
        )
    return common
