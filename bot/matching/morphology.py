"""Matching keys: folded words with their inflectional endings removed.

The chosen approach (`hybrid`, see bench/match/MORPHOLOGY.md for the measurements):

- Cyrillic and Łacinka words: a light suffix stripper that works on the *folded* form, so
  Belarusian Cyrillic, Łacinka and Russian meet without a Belarusian stemmer (there is no
  Snowball one). It removes the longest case/number/gender ending of nouns and adjectives
  (the Cyrillic endings below, transliterated by the folding table) if at least three
  letters with a vowel remain: санкцыямі, sankcyjami, санкций -> "sankc".
- Other Latin words (English, and Łacinka that shows none of its own letters): Snowball
  English on the unfolded word, then the folding, then only those Slavic endings that no
  English word has (-aja, -ov, -ogo, -yj ...) or a final vowel after k, h, j, v or z, so
  that names in English text (Lukashenka, Tsikhanouskaya, Kalesnikava) get the same key as
  their Cyrillic forms while "party", "army", "China" keep theirs.

The other candidates stay here because bench/match/morphology_eval.py measures them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Final

import Stemmer

from bot.matching.translit import Script, fold_word, latin_base, latin_digraphs, script_of

# (word as written, its folded form, its script) -> matching key
KeyFunction = Callable[[str, str, Script], str]

SHORT: Final = 2  # words this long or shorter are never stemmed
MIN_STEM: Final = 3  # an ending is only removed if this many letters (with a vowel) remain

# Noun and adjective endings, Russian then Belarusian, in Cyrillic.
_NOMINAL: Final = """
а я о е ё ы и у ю ой ей ёй ом ем ём ам ям ами ями ах ях ов ев ёв ий ия ие ию ии ией иям
иями иях ием ью ья ье ьи ьям ьями ьях ьев ьём ый ая яя ое ее ые ого его ому ему ым им ых
их ую юю ою ею ыми ими
аў яў ёў оў амі ямі ай яй ёю ае яе ага яга аму яму ымі імі ыя ія ыі іі ыю ыяй ыям ыямі
ыях ій ію іяй іям іямі іях ым
"""
# Past tense and reflexive endings (measured as a variant; not in the chosen approach).
_VERBAL: Final = """
ал ала али ало ил ила или ило ел ела ели ыл ыла ыли ял яла яли алі ілі ылі іў ыў еў ся
"""
# Function words whose stem would equal a content word's (после/посла, калі/калий, почти/
# почте), and nouns that end like an adjective ending (режим is not реж + им): kept whole.
_PROTECTED_WORDS: Final = """
после пасля пасьля среди сярод почти амаль калі когда тогда более менее также тоже уже
ещё яшчэ очень вельмі через праз между паміж около каля потом потому поэтому только
режим рэжым крым максим экстрим псевдоним
"""
_VOWELS: Final = frozenset("aeiouy")
# Endings an English word never has, so they are removed from Latin (non-Łacinka) words too.
_SAFE_FOR_LATIN: Final = frozenset(
    """aja jaja ija yja ja ju iju uju ii ij yj oj aj ej jej jaj ogo ego jego omu emu amu aha
    jaha ymi imi jami ami ov ev jev au jau ych yje ije oje eje aje""".split()  # noqa: SIM905
)
# A final vowel is removed from a Latin word only after these letters (Lukashenk-a,
# Kalesnikav-a, Bialack-i); "c" is left out because Snowball English makes policy "polici".
# A final -a also goes after n, for Belarusian names (Hrodna, Viasna, Sviatlana); the cost
# is China/chin.
_SLAVIC_BEFORE_VOWEL: Final = frozenset("khjvz")


def _transliterated(cyrillic: str) -> frozenset[str]:
    """Folded spellings of Cyrillic endings, after a consonant and after a vowel."""
    out: set[str] = set()
    for ending in cyrillic.split():
        for context in ("б", "а"):
            folded = fold_word(context + ending)[1:]
            if folded:
                out.add(folded)
    return frozenset(out)


NOMINAL_ENDINGS: Final = _transliterated(_NOMINAL)
PROTECTED: Final = frozenset(fold_word(word) for word in _PROTECTED_WORDS.split())
VERBAL_ENDINGS: Final = _transliterated(_VERBAL)


def _choose(folded: str, endings: frozenset[str]) -> int:
    """Length of the longest ending of `folded` whose removal leaves a valid stem, or 0."""
    for size in range(min(5, len(folded) - MIN_STEM), 0, -1):
        if folded[-size:] in endings and _VOWELS.intersection(folded[:-size]):
            return size
    return 0


def slavic_stem(folded: str, endings: frozenset[str] = NOMINAL_ENDINGS) -> str:
    """Remove the longest inflectional ending from a folded Cyrillic or Łacinka word."""
    if folded in PROTECTED:
        return folded
    size = _choose(folded, endings)
    stem = folded[:-size] if size else folded
    # Belarusian д alternates with дз before е/і (амбасада, у амбасадзе): one stem for both.
    return stem[:-1] if stem.endswith("dz") else stem


def latin_name_stem(folded: str) -> str:
    """Remove a Slavic ending from a folded Latin-script word only where English has none."""
    size = _choose(folded, NOMINAL_ENDINGS)
    if not size:
        return folded
    ending = folded[-size:]
    if ending in _SAFE_FOR_LATIN or ending.startswith(("ij", "yj")):
        return folded[:-size]
    before = folded[-2]
    if (
        size == 1
        and ending in "aouyi"
        and (before in _SLAVIC_BEFORE_VOWEL or before + ending == "na")
    ):
        return folded[:-size]
    return folded


_ENGLISH = Stemmer.Stemmer("english")
_RUSSIAN = Stemmer.Stemmer("russian")
# Belarusian letters mapped to their Russian counterparts so Snowball Russian accepts them.
_BE_TO_RU: Final = str.maketrans({"і": "и", "ў": "в", "э": "е", "ё": "е", "ґ": "г", "'": ""})


def _snowball(word: str, folded: str, script: Script) -> str:
    """Candidate: Snowball before folding (Russian for Cyrillic, English for Latin)."""
    if script == "cyrl":
        return fold_word(_RUSSIAN.stemWord(word.casefold().translate(_BE_TO_RU)))
    return latin_digraphs(_ENGLISH.stemWord(latin_base(word)))


def _english_light(base: str) -> str:
    """A minimal English suffix stripper (plural, -ed, -ing) on a `latin_base` form."""
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("sses", "ss")):
        if base.endswith(suffix) and len(base) > 4:
            return base[: -len(suffix)] + replacement
    if base.endswith(("ches", "shes", "xes", "zes")):
        base = base[:-2]
    elif base.endswith("s") and not base.endswith(("ss", "us", "is")) and len(base) > 3:
        base = base[:-1]
    for suffix in ("ing", "ed"):
        stem = base[: -len(suffix)]
        if base.endswith(suffix) and len(stem) >= 4 and _VOWELS.intersection(stem):
            return stem
    return base


def _suffix(word: str, folded: str, script: Script) -> str:
    """Candidate: light strippers only (Slavic on the folded form, minimal English)."""
    if script == "latin":
        return latin_name_stem(latin_digraphs(_english_light(latin_base(word))))
    return slavic_stem(folded)


def _hybrid(word: str, folded: str, script: Script) -> str:
    """Candidate (chosen): Slavic stripper on folded Cyrillic/Łacinka, Snowball English."""
    if script == "latin":
        return latin_name_stem(latin_digraphs(_ENGLISH.stemWord(latin_base(word))))
    return slavic_stem(folded)


_WITH_VERBS: Final = NOMINAL_ENDINGS | VERBAL_ENDINGS


def _hybrid_verbs(word: str, folded: str, script: Script) -> str:
    """Candidate: `hybrid` that also removes past-tense and reflexive verb endings."""
    if script == "latin":
        return _hybrid(word, folded, script)
    return slavic_stem(folded, _WITH_VERBS)


APPROACHES: Final[dict[str, KeyFunction]] = {
    "snowball": _snowball,
    "suffix": _suffix,
    "hybrid": _hybrid,
    "hybrid+verbs": _hybrid_verbs,
}
CHOSEN: Final = "hybrid"


def make_key(word: str, folded: str, script: Script, approach: str = CHOSEN) -> str:
    """The matching key of a word; short words (<= 2 letters) are never stemmed."""
    if len(folded) <= SHORT or not folded.isalpha():
        return folded
    return APPROACHES[approach](word, folded, script)


def analyser(approach: str = CHOSEN) -> Callable[[str], tuple[str, str]]:
    """A cached function from a word as written to its (folded, key) under `approach`."""

    @lru_cache(maxsize=262144)
    def analyse(word: str) -> tuple[str, str]:
        folded = fold_word(word)
        return folded, make_key(word, folded, script_of(word), approach)

    return analyse


# Vocabularies repeat from item to item, so every word is folded and stemmed once.
word_key: Final = analyser()
