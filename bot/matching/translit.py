"""One ASCII Latin spelling for Russian, Belarusian (Cyrillic and Łacinka) and English words.

`fold_word` maps a single word to its *folded* form, the spelling every script meets in.
The table is built so that Cyrillic Belarusian and Łacinka agree letter for letter, and so
that the usual English transliterations of names (Lukashenka, Tsikhanouskaya) land on the
same string, while ordinary English words change as little as possible.

Cyrillic (one letter at a time; ь, ъ and the apostrophe only mark softness and vanish):

    а a   б b   в v   г h   ґ g   д d   е e|je ё e|je є je  ж zh  з z   и i   й j   і i
    ї ji  к k   л l   м m   н n   о o   п p   р r   с s   т t   у u   ў u   ф f   х ch
    ц c   ч ch  ш sh  щ shch  ы y   э e   ю ju  я ja

    е/ё/є give "je" at the start of a word and after a vowel, ь, ъ or apostrophe (as Łacinka
    writes them), "e" elsewhere; ё is е. So ля is "lja" and ла is "la" (пасля != пасла).

Latin (Łacinka letters first, then the English transliteration digraphs):

    č ch  š sh  ž zh  ł l  ŭ u  ć c  ń n  ś s  ź z  (other accents are dropped: é -> e)
    kh -> ch          ts -> c before a letter (Tsikhanouskaya; final -ts of plurals stays)
    x -> ks           ya, yu -> ja, ju        ia, iu -> ja, ju after a consonant
    ie -> e after a consonant (Łacinka Miensk = Менск), except in -ies/-ied/-ier/-iest,
      before f (chief/chef) and in three-letter words (die, lie)
    in a word read as Łacinka (a Łacinka letter, or dz, yj, c + y + vowel, which English
      does not spell): plain l before a or u is soft (la = ля -> lja); ł is always l
    a final 's (English possessive) is dropped; apostrophes and soft hyphens vanish
    Latin look-alikes inside a Cyrillic word (a Latin o in Лукашенкo) are read as Cyrillic

Decisions:
- г is "h": Belarusian г is a fricative written h in Łacinka and in Belarusian
  romanisation (Hrodna, Homiel, nielehitymny), and every Belarusian Cyrillic word with г
  should meet its Łacinka spelling. The cost: Russian-style English spellings with g
  (Grodno, Gomel, Mogilev) do not meet Гродно; alias groups cover those names.
- х and ч both fold to "ch": Latin "ch" is х in Łacinka (Cichanoŭskaja) but ч in English
  (Chechnya), so the two must meet. Rare Russian pairs such as мех/меч collide.
- ц is "c" (Łacinka), so English "ts" before a letter becomes "c"; English "c" is untouched.
- Nothing maps v to u: ў (u) and Russian в (v) stay apart (Ціханоўская vs Тихановская),
  which alias groups cover.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final, Literal

Script = Literal["cyrl", "lacinka", "latin"]

_CYR: Final = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "ж": "zh", "з": "z",
    "и": "i", "й": "j", "і": "i", "ї": "ji", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ў": "u", "ф": "f",
    "х": "ch", "ц": "c", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "ju", "я": "ja",
}  # fmt: skip
_CYR_E: Final = frozenset("еёє")
_CYR_VOWELS: Final = frozenset("аеёєиіїоуўыэюя")
# Letters after which е is iotated (je): vowels, the soft and hard signs, apostrophes.
_IOTATING: Final = _CYR_VOWELS | frozenset("ьъ'’ʼ`‘´")
# Latin letters that look like Cyrillic ones, for words that mix both (Лукашенкo with a
# Latin o): spoofed or mistyped words then fold like the real ones.
_HOMOGLYPHS: Final = str.maketrans("aceopxyikmt", "асеорхуікмт")
_LACINKA: Final = str.maketrans(
    {
        "č": "ch", "š": "sh", "ž": "zh", "ł": "l", "ŭ": "u", "ć": "c", "ń": "n", "ś": "s",
        "ź": "z", "ĺ": "l", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "þ": "th",
        "ı": "i",
    }
)  # fmt: skip
_LACINKA_MARKS: Final = frozenset("čšžłŭćńśź")
_APOSTROPHES: Final = "'’ʼ`‘´\u00ad\u200b\u2060"
_DROP: Final = str.maketrans("", "", _APOSTROPHES)
_IS_CYRILLIC = re.compile("[\u0400-\u04ff]")
_IS_LATIN = re.compile("[a-z]")
# Plain-ASCII Łacinka that English never spells: dz, -yj-, c + y + vowel (sankcyi).
_LACINKA_HINT = re.compile(r"dz|yj|cy[aeiouj]")
_CONSONANT = "bcdfghjklmnpqrstvwxz"
_LATIN_RULES = re.compile(
    rf"kh|ts(?=[a-z])|x|y(?=[au])|(?<=[{_CONSONANT}])i(?=[au])|(?<=[{_CONSONANT}])ie"
)
# Łacinka writes ля/лю as la/lu and ла/лу as ła/łu.
_SOFT_L = re.compile(r"l(?=[au])")
_IE_KEEP = re.compile(r"ie(?:s|d|r|st)$|ief")


def _latin_rule(match: re.Match[str]) -> str:
    """Replacement for one `_LATIN_RULES` hit (see the module docstring)."""
    text = match.group()
    if text == "kh":
        return "ch"
    if text == "ts":
        return "c"
    if text == "x":
        return "ks"
    if text in ("y", "i"):
        return "j"
    # "ie" after a consonant: keep English -ies/-ied/-ier/-iest, "ief" and 3-letter words.
    word = match.string
    if len(word) > 3 and not _IE_KEEP.match(word, match.start()):
        return "e"
    return "ie"


def _cyrillic(word: str) -> str:
    """Fold a lower-case Cyrillic word (Latin look-alikes already mapped)."""
    out: list[str] = []
    prev = ""
    for ch in word:
        if ch in _CYR_E:
            out.append("je" if not prev or prev in _IOTATING else "e")
        elif ch in _CYR:
            out.append(_CYR[ch])
        elif ch not in _APOSTROPHES:
            out.append(ch)
        prev = ch
    return "".join(out)


def _strip_accents(word: str) -> str:
    """Drop combining marks left after the explicit Łacinka table (é -> e, ü -> u)."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def latin_base(word: str, lacinka: bool = False) -> str:
    """A lower-case Latin word without possessive 's, apostrophes and accents (no digraphs)."""
    word = word.casefold()
    if len(word) > 2 and word[-1] == "s" and word[-2] in _APOSTROPHES:
        word = word[:-2]
    if lacinka:
        word = _SOFT_L.sub("lj", word)
    return _strip_accents(word.translate(_LACINKA).translate(_DROP))


def latin_digraphs(base: str) -> str:
    """Apply the transliteration rewrites to a `latin_base` form (kh, ts, ia, ie, x)."""
    return _LATIN_RULES.sub(_latin_rule, base)


@lru_cache(maxsize=262144)
def script_of(word: str) -> Script:
    """Which folding and stemming a word gets: Cyrillic, Łacinka or other Latin (English)."""
    lower = word.casefold()
    if _IS_CYRILLIC.search(lower):
        return "cyrl"
    if any(c in _LACINKA_MARKS for c in lower) or _LACINKA_HINT.search(lower):
        return "lacinka"
    return "latin"


@lru_cache(maxsize=262144)
def fold_word(word: str) -> str:
    """The folded (script-independent, lower-case ASCII where possible) form of one word."""
    lower = word.casefold()
    if _IS_CYRILLIC.search(lower):
        if _IS_LATIN.search(lower):
            lower = lower.translate(_HOMOGLYPHS)
        return _strip_accents(_cyrillic(lower.replace("ё", "е")))
    return latin_digraphs(latin_base(lower, script_of(lower) == "lacinka"))
