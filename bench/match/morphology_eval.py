"""Compare the morphology candidates of bot.matching.morphology: recall, collisions, speed.

Run: .venv/bin/python -m bench.match.morphology_eval [--repeat N] [--json PATH]

Measures, for every approach in `APPROACHES`:
- recall: share of pairs of forms in a `same` group of tests/data/matching/inflections.jsonl
  that get one key (all groups, nominal groups, verb groups), and groups fully collapsed;
- dev families: the same on word forms found in the dev set (tests/data/matching/dev.jsonl),
  grouped by a pattern on their folded form (the forms the matcher must catch there);
- false collisions: share of pairs across the families of an `apart` group that share a
  key, and two dev-set proxies: English word pairs that get one key although Snowball
  English keeps them apart, and keys shared by an English and a Cyrillic word;
- tokens per second of tokenize() with the approach, cold (empty cache) and warm.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import Stemmer

from bot.matching.morphology import APPROACHES, CHOSEN, analyser
from bot.matching.normalize import tokenize_with
from bot.matching.translit import fold_word, latin_base, script_of

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "matching"
# Word forms in the dev set that must share a key: (name, pattern on the folded form).
DEV_FAMILIES = (
    ("санкция/санкцыя/sankcyja", r"^sankc[iy](?!on)"),
    ("Lukashenka (all scripts)", r"^lukashenk"),
    ("Ціханоўская/Tsikhanouskaya", r"^cichanousk"),
    ("палітвязні/palitviazni", r"^palitvjazn"),
    ("политзаключённые", r"^politzakljuchenn"),
    ("Minsk, noun", r"^minsk(a|e|u|om|am)?$"),
    ("Minsk, adjective", r"^minsk(aje|i|ij|ije|oj|aja|aha|oho)$"),
    ("Miensk/Менск", r"^mensk(a|e|u)?$"),
    ("экстрадиция/экстрадыцыя", r"^ekstradi[cz]i|^ekstradycy"),
    ("extradition (en)", r"^ekstradit"),
    ("Belarus, noun", r"^belarus(a|au|i|ju|sju|y)?$"),
    ("беларускі/biełaruski", r"^belarusk(a|aha|aj|aja|amu|i|ich|ija|imi)$"),
    ("вызваленне/vyzvaleńnie", r"^vyzvalenn"),
    ("освобождение", r"^osvobozhdeni"),
    ("задержал(и)", r"^zaderzhal"),
    ("detain (en)", r"^detain(ed)?$"),
    ("prisoner (en)", r"^prisoner"),
    ("суд", r"^sud(a|e|u|om|y|ov|am)?$"),
)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def dev_texts() -> tuple[list[str], list[tuple[str, str]]]:
    """Titles and summaries of the dev set, and every (word, language) in them."""
    texts: list[str] = []
    words: list[tuple[str, str]] = []
    word_re = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
    for item in load_jsonl(DATA / "dev.jsonl"):
        for field in ("title", "summary"):
            texts.append(item[field])
            words.extend((w, item["language"]) for w in word_re.findall(item[field]))
    return texts, words


def pair_share(
    groups: list[list[str]], key_of: dict[str, str], *, one_script: bool = False
) -> tuple[int, int, int]:
    """(pairs sharing a key, pairs, groups with a single key) over groups of forms.

    With `one_script`, only pairs of forms in the same script (Cyrillic, Łacinka, other
    Latin) count: what a per-language stemmer can reach at best.
    """
    hit = total = whole = 0
    for forms in groups:
        unique = sorted(set(forms))
        for a, b in itertools.combinations(unique, 2):
            if one_script and script_of(a) != script_of(b):
                continue
            total += 1
            hit += key_of[a] == key_of[b]
        whole += len({key_of[f] for f in unique}) == 1
    return hit, total, whole


def apart_share(families_list: list[list[list[str]]], key_of: dict[str, str]) -> tuple[int, int]:
    """(pairs across families sharing a key, pairs across families)."""
    hit = total = 0
    for families in families_list:
        for fam_a, fam_b in itertools.combinations(families, 2):
            for a, b in itertools.product(fam_a, fam_b):
                total += 1
                hit += key_of[a] == key_of[b]
    return hit, total


def speed(texts: list[str], approach: str, repeat: int) -> tuple[float, float]:
    """Tokens per second of tokenize_with(approach): first pass (cold cache), then warm."""
    analyse = analyser(approach)
    fold_word.cache_clear()
    script_of.cache_clear()
    start = time.perf_counter()
    count = sum(len(tokenize_with(text, analyse)) for text in texts)
    cold = count / (time.perf_counter() - start)
    start = time.perf_counter()
    count = sum(len(tokenize_with(t, analyse)) for _ in range(repeat) for t in texts)
    return cold, count / (time.perf_counter() - start)


def dev_proxies(words: list[tuple[str, str]], approach: str) -> dict[str, int]:
    """English over-merges (vs Snowball English) and English/Cyrillic shared keys."""
    analyse = analyser(approach)
    english = Stemmer.Stemmer("english")
    by_key: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for word, language in words:
        by_key[analyse(word)[1]].add((word.casefold(), language))
    over = cross = 0
    for members in by_key.values():
        en = sorted({w for w, lang in members if lang == "en" and script_of(w) == "latin"})
        stems = [english.stemWord(latin_base(w)) for w in en]
        over += sum(a != b for a, b in itertools.combinations(stems, 2))
        cyrillic = {w for w, _ in members if script_of(w) == "cyrl"}
        cross += bool(en) and bool(cyrillic)
    return {"english_over_merges": over, "english_cyrillic_shared_keys": cross}


def evaluate(
    approach: str, words: list[tuple[str, str]], texts: list[str], repeat: int
) -> dict[str, Any]:
    """All measurements for one approach."""
    analyse = analyser(approach)
    rows = load_jsonl(DATA / "inflections.jsonl")
    same = [r for r in rows if r["kind"] == "same"]
    apart = [r["families"] for r in rows if r["kind"] == "apart"]
    forms = {f for r in same for f in r["forms"]} | {f for fs in apart for fam in fs for f in fam}
    key_of = {form: analyse(form)[1] for form in forms}
    result: dict[str, Any] = {"approach": approach}
    for label, groups in (
        ("all", same),
        ("nominal", [r for r in same if r["pos"] == "nominal"]),
        ("verb", [r for r in same if r["pos"] == "verb"]),
    ):
        hit, total, whole = pair_share([r["forms"] for r in groups], key_of)
        result[f"recall_{label}"] = (hit, total, whole, len(groups))
    result["recall_one_script"] = pair_share([r["forms"] for r in same], key_of, one_script=True)
    result["false_collisions"] = apart_share(apart, key_of)
    folded = {w: fold_word(w) for w, _ in words}
    families = [[w for w in folded if re.search(p, folded[w])] for _, p in DEV_FAMILIES]
    dev_keys = {w: analyse(w)[1] for w in folded}
    result["dev_families"] = (*pair_share(families, dev_keys), len(families))
    result.update(dev_proxies(words, approach))
    result["tokens_per_s"] = speed(texts, approach, repeat)
    return result


def percent(hit: int, total: int) -> str:
    """hit/total as a percentage with the counts."""
    return f"{100 * hit / total:.1f}% ({hit}/{total})" if total else "n/a"


def report(results: list[dict[str, Any]]) -> str:
    """A Markdown table of the results."""
    lines = [
        "| approach | recall, all groups | within one script | nominal | verbs "
        "| groups collapsed | dev families | false collisions | en over-merges "
        "| en/cyrl shared keys | tokens/s cold | warm |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        hit, total, whole, groups = r["recall_all"]
        dev = r["dev_families"]
        name = f"**{r['approach']}** (chosen)" if r["approach"] == CHOSEN else r["approach"]
        lines.append(
            f"| {name} | {percent(hit, total)} | {percent(*r['recall_one_script'][:2])} "
            f"| {percent(*r['recall_nominal'][:2])} "
            f"| {percent(*r['recall_verb'][:2])} | {whole}/{groups} "
            f"| {percent(dev[0], dev[1])}, {dev[2]}/{dev[3]} whole "
            f"| {percent(*r['false_collisions'])} | {r['english_over_merges']} "
            f"| {r['english_cyrillic_shared_keys']} | {r['tokens_per_s'][0]:,.0f} "
            f"| {r['tokens_per_s'][1]:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Evaluate every approach and print the table (optionally save JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="warm passes over the dev set")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    texts, words = dev_texts()
    results = [evaluate(name, words, texts, args.repeat) for name in APPROACHES]
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
