"""Matching speed: items per second of the matcher, against the cost of parsing the same items.

    python -m bench.match.speed [--feeds N --entries M --extra-rules K --repeat R]

One process, one core. The poll benchmark's generator (bench.poll.generate) renders N feeds x M
entries in memory; every repetition then times, one after the other, feedparser with default
options (the baseline of the targets), the project's own `parse_feed`, and matching the
entries `parse_feed` produced (title + plain-text summary, as the poller's hook does) with
(a) the shipped catalog and (b) the shipped catalog plus K generated rules. Medians over the
repetitions are reported. A run at the default size writes bench/match/results/speed.{md,json};
other sizes write to bench/match/out/results/ (or --results DIR).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import hashlib
import io
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import feedparser

from bench.poll.generate import DEFAULT_ANCHOR, DEFAULT_SEED, Corpus
from bench.poll.measure import machine
from bot.config.catalog import Catalog, TopicSpec, TopicTitles, load_catalog
from bot.ingest.parse import parse_feed
from bot.matching import morphology, translit
from bot.matching import rules as ast
from bot.matching.matcher import Matcher, MatchInput, Verdict, parse_aliases
from bot.matching.normalize import tokenize

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "feeds.yaml"
DEV_SET = REPO / "tests/data/matching/dev.jsonl"
RESULTS = REPO / "bench/match/results"
SCRATCH_RESULTS = REPO / "bench/match/out/results"
DEFAULTS = {"feeds": 200, "entries": 40, "extra_rules": 1000}
TARGET_SHIPPED = 0.10  # matching time / feedparser (default options) time, shipped catalog
TARGET_EXTRA = 0.25  # the same with the extra rules
DEV_PASSES = 10  # passes over the dev set per repetition (it has only a few hundred rows)
PROFILE_ROWS = 15
COSTLY_RULES = 12
T = TypeVar("T")


# --------------------------------------------------------------------------- timing


@dataclass
class Samples:
    """Wall and CPU seconds of one measured step, one value per repetition."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        """Record one repetition."""
        self.wall.append(wall)
        self.cpu.append(cpu)

    def summary(self) -> dict[str, Any]:
        """Median, min and max of each clock, plus the raw values."""
        return {
            "wall_median_s": statistics.median(self.wall),
            "cpu_median_s": statistics.median(self.cpu),
            "wall_min_s": min(self.wall),
            "wall_max_s": max(self.wall),
            "cpu_min_s": min(self.cpu),
            "cpu_max_s": max(self.cpu),
            "wall_s": self.wall,
            "cpu_s": self.cpu,
        }

    @property
    def cpu_median(self) -> float:
        """Median CPU seconds."""
        return statistics.median(self.cpu)

    @property
    def wall_median(self) -> float:
        """Median wall seconds."""
        return statistics.median(self.wall)


def timed(samples: Samples, work: Callable[[], T]) -> T:
    """Run `work` once after a full collection, add its wall and CPU time to `samples`."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    samples.add(time.perf_counter() - wall, time.process_time() - cpu)
    return result


def clear_word_caches() -> None:
    """Empty the matcher's per-word caches (folding, script, stem): a fresh process's state."""
    for cached in (morphology.word_key, translit.fold_word, translit.script_of):
        clear = getattr(cached, "cache_clear", None)
        if clear is not None:
            clear()


# --------------------------------------------------------------------------- corpus and parsing


@dataclass(frozen=True, slots=True)
class Document:
    """One generated feed document and what a poll would know about it."""

    index: int
    language: str
    scope: str
    url: str
    body: bytes


def build_documents(feeds: int, entries: int, seed: int) -> list[Document]:
    """Render the poll benchmark's corpus in memory (not timed)."""
    corpus = Corpus(feeds, entries, seed=seed)
    # Half the feeds global, half Belarus-scoped: global items also run the context rules.
    return [
        Document(
            spec.index,
            spec.language,
            "global" if spec.index % 2 else "belarus",
            f"http://127.0.0.1/feeds/{spec.index}.xml",
            corpus.render(spec.index),
        )
        for spec in corpus.specs
    ]


def feedparser_default(docs: Sequence[Document]) -> int:
    """feedparser with default options, as bench.poll.baseline calls it; the entry count."""
    total = 0
    for doc in docs:
        headers = {"content-location": doc.url, "content-type": "application/xml; charset=utf-8"}
        total += len(feedparser.parse(io.BytesIO(doc.body), response_headers=headers).entries)
    return total


def own_parse(docs: Sequence[Document], now: datetime) -> list[MatchInput]:
    """`bot.ingest.parse.parse_feed` on every document; its entries as matcher inputs."""
    items: list[MatchInput] = []
    for doc in docs:
        headers = {"content-type": "application/xml; charset=utf-8", "content-location": doc.url}
        parsed = parse_feed(doc.body, url=doc.url, headers=headers, now=now, language=doc.language)
        items.extend(
            MatchInput(e.key, e.title, e.summary, language=e.language, scope=doc.scope)
            for e in parsed.entries
        )
    return items


def match_all(matcher: Matcher, items: Sequence[MatchInput]) -> list[Verdict]:
    """The verdict of every item, sequentially."""
    return [matcher.match(item) for item in items]


def match_passes(matcher: Matcher, items: Sequence[MatchInput], passes: int) -> int:
    """Match every item `passes` times; the number of relevant verdicts."""
    return sum(matcher.match(item).relevant for _ in range(passes) for item in items)


def scan_all(matcher: Matcher, items: Sequence[MatchInput]) -> int:
    """Only the splitting and atom-table look-ups of every item; the number of atom hits."""
    return sum(len(matcher.scan(item.title, item.summary)[0].hits) for item in items)


def tokenize_all(items: Sequence[MatchInput]) -> int:
    """Only the tokenising (normalise, split, fold, stem) of every item; the token count."""
    return sum(len(tokenize(item.title)) + len(tokenize(item.summary)) for item in items)


# --------------------------------------------------------------------------- extra rules

# Concepts as (English, Russian, Belarusian[, Łacinka]) spellings. The common ones occur in the
# generated corpus (its word lists are bench/poll/words.py), whose long summaries hold most of
# that vocabulary; the rare ones do not. The first concept of a rule (and of its second branch)
# is rare with probability RARE_FIRST, so that a rule holds on few items (about 1 in 1,700 on
# the default corpus), not on every long summary, while most rules still pass the matcher's
# atom pre-filter (through a common word).
COMMON: tuple[tuple[str, ...], ...] = (
    ("sanctions", "санкции", "санкцыі", "sankcyi"),
    ("potash", "калий", "калій"),
    ("embassy", "посольство", "амбасада"),
    ("border", "граница", "мяжа"),
    ("prisoners", "заключённые", "палітвязні", "palitviazni"),
    ("release", "освобождение", "вызваленне", "vyzvalennie"),
    ("visa", "виза", "віза"),
    ("railway", "железная дорога", "чыгунка"),
    ("airline", "авиакомпания", "авіякампанія"),
    ("election", "выборы", "выбары"),
    ("opposition", "оппозиция", "апазіцыя"),
    ("court", "суд", "суд"),
    ("verdict", "приговор", "прысуд"),
    ("journalist", "журналист", "журналіст"),
    ("inflation", "инфляция", "інфляцыя"),
    ("pensions", "пенсии", "пенсіі"),
    ("harvest", "урожай", "ураджай"),
    ("transit", "транзит", "транзіт"),
    ("delegation", "делегация", "дэлегацыя"),
    ("dialogue", "диалог", "дыялог"),
    ("envoy", "посланник", "пасланнік"),
    ("exports", "экспорт", "экспарт"),
    ("fertiliser", "удобрения", "угнаенні"),
    ("budget", "бюджет", "бюджэт"),
    ("trade union", "профсоюз", "прафсаюз"),
    ("Belavia", "Белавиа", "Белавія"),
    ("Belaruskali", "Беларуськалий", "Беларуськалій"),
    ("Minsk", "Минск", "Мінск", "Minsk"),
    ("Vilnius", "Вильнюс", "Вільня", "Vilnia"),
    ("Lithuania", "Литва", "Літва", "Litva"),
    ("Poland", "Польша", "Польшча", "Polšča"),
    ("Washington", "Вашингтон", "Вашынгтон", "Vašynhton"),
    ("OSCE", "ОБСЕ", "АБСЕ"),
    ("National Bank", "Нацбанк", "Нацбанк"),
    ("State Department", "Госдеп", "Дзярждэп"),
)
RARE: tuple[tuple[str, ...], ...] = (
    ("hockey", "хоккей", "хакей"),
    ("nuclear plant", "атомная станция", "атамная станцыя"),
    ("Astravets", "Островец", "Астравец", "Astraviec"),
    ("drone", "беспилотник", "беспілотнік"),
    ("weather balloon", "воздушный шар", "паветраны шар"),
    ("smuggling", "контрабанда", "кантрабанда"),
    ("cigarettes", "сигареты", "цыгарэты"),
    ("mobilisation", "мобилизация", "мабілізацыя"),
    ("military exercises", "военные учения", "вайсковыя вучэнні"),
    ("Wagner", "Вагнер", "Вагнер"),
    ("Naftan", "Нафтан", "Нафтан"),
    ("oil", "нефть", "нафта"),
    ("pipeline", "трубопровод", "трубаправод"),
    ("extradition", "экстрадиция", "экстрадыцыя"),
    ("asylum", "убежище", "прытулак"),
    ("migrants", "мигранты", "мігранты"),
    ("passport", "паспорт", "пашпарт"),
    ("censorship", "цензура", "цэнзура"),
    ("extremist materials", "экстремистские материалы", "экстрэмісцкія матэрыялы"),
    ("hunger strike", "голодовка", "галадоўка"),
    ("pardon", "помилование", "памілаванне", "pamilavannie"),
    ("amnesty", "амнистия", "амністыя"),
    ("Tsikhanouskaya", "Тихановская", "Ціханоўская", "Cichanoŭskaja"),
    ("Babaryka", "Бабарико", "Бабарыка"),
    ("Kalesnikava", "Колесникова", "Калеснікава"),
    ("Bialiatski", "Беляцкий", "Бяляцкі", "Bialacki"),
    ("Kremlin", "Кремль", "Крэмль"),
    ("Union State", "Союзное государство", "Саюзная дзяржава"),
    ("Iskander", "Искандер", "Іскандэр"),
    ("airspace", "воздушное пространство", "паветраная прастора"),
    ("flood", "наводнение", "паводка"),
    ("Chernobyl", "Чернобыль", "Чарнобыль"),
    ("football", "футбол", "футбол"),
    ("Olympics", "Олимпиада", "Алімпіяда"),
    ("concert", "концерт", "канцэрт"),
    ("family", "семья", "сям'я"),
    ("weather", "погода", "надвор'е"),
)
CONCEPTS = COMMON + RARE
RARE_FIRST = 0.9
NEAR_DISTANCES = (3, 5, 5, 8, 10, 15)


def _form(rng: random.Random, spelling: str) -> str:
    """One spelling as rule text: a word, sometimes a prefix wildcard, or a "phrase"."""
    if " " in spelling:
        quote = rng.choice(('"{}"', "«{}»", '"{}"'))
        return quote.format(spelling)
    if len(spelling) >= 6 and rng.random() < 0.35:
        return spelling[: max(4, len(spelling) - 3)] + "*"
    return spelling


def _group(rng: random.Random, concept: Sequence[str], *, single: bool = False) -> str:
    """A concept in all its languages (an OR group), or in one of them."""
    if single or rng.random() < 0.35:
        return _form(rng, rng.choice(concept))
    forms = list(dict.fromkeys(_form(rng, s) for s in concept))
    return forms[0] if len(forms) == 1 else "(" + " OR ".join(forms) + ")"


def _word(rng: random.Random, concept: Sequence[str]) -> str:
    """One single-word spelling of a concept (for NOT), a phrase if it has no single word."""
    words = [s for s in concept if " " not in s]
    return rng.choice(words) if words else f'"{concept[0]}"'


def extra_rule(rng: random.Random, aliases: Sequence[str]) -> str:
    """One generated rule: terms, prefixes, phrases, NEAR, NOT, fields and (if any) aliases."""
    a, c = (rng.choice(RARE if rng.random() < RARE_FIRST else COMMON) for _ in range(2))
    b, d = rng.sample([x for x in CONCEPTS if x is not a and x is not c], 2)
    shape = rng.choices(
        ("and", "near", "not", "title", "phrases", "summary-near", "or-of-ands", "alias"),
        weights=(25, 20, 15, 10, 10, 5, 10, 5),
    )[0]
    near = rng.choice(NEAR_DISTANCES)
    if shape == "alias" and not aliases:
        shape = "and"
    if shape == "and":
        return f"{_group(rng, a)} {_group(rng, b)}"
    if shape == "near":
        return f"{_group(rng, a)} NEAR/{near} {_group(rng, b)}"
    if shape == "not":
        return f"{_group(rng, a)} AND {_group(rng, b)} -{_word(rng, c)}"
    if shape == "title":
        return f"title:{_group(rng, a)} {_group(rng, b)}"
    if shape == "phrases":
        return " OR ".join(f'"{x} {y}"' for x, y in zip(a, b, strict=False))
    if shape == "summary-near":
        return f"summary:({_group(rng, a)} NEAR/{near} {_group(rng, b)}) NOT {_group(rng, c)}"
    if shape == "or-of-ands":
        first = f"({_group(rng, a)} {_group(rng, b)})"
        return f"{first} OR ({_group(rng, c)} NEAR {_group(rng, d)})"
    alias = rng.choice(aliases)
    return f"@{alias} NEAR/10 {_group(rng, a)} -{_word(rng, b)}"


def extra_topics(count: int, seed: int, aliases: Sequence[str]) -> list[TopicSpec]:
    """`count` generated rules in new topics of 2-6 rules each (deterministic for a seed)."""
    rng = random.Random(f"{seed}/extra-rules")
    names = sorted(aliases)
    topics: list[TopicSpec] = []
    made = 0
    while made < count:
        size = min(rng.randint(2, 6), count - made)
        number = len(topics) + 1
        topics.append(
            TopicSpec(
                id=f"bench-extra-{number:04d}",
                titles=TopicTitles(
                    en=f"Extra {number}", ru=f"Доп. {number}", be=f"Дадатковая {number}"
                ),
                urgent=rng.random() < 0.05,
                rules=[extra_rule(rng, names) for _ in range(size)],
            )
        )
        made += size
    return topics


# --------------------------------------------------------------------------- measurements


def code_state() -> dict[str, Any]:
    """The commit measured and whether bot/ had uncommitted changes (git, read-only)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout

    diff = git("diff", "HEAD", "--", "bot")
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip() or None,
        "bot_modified": sorted(git("diff", "HEAD", "--name-only", "--", "bot").split()),
        "bot_untracked": sorted(
            git("ls-files", "--others", "--exclude-standard", "--", "bot").split()
        ),
        "bot_diff_sha256_12": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else None,
    }


def catalog_state(catalog: Catalog, matcher: Matcher) -> dict[str, Any]:
    """What the measured catalog holds."""
    return {
        "sha256_12": hashlib.sha256(CATALOG.read_bytes()).hexdigest()[:12],
        "topics": len(catalog.topics),
        "rules": sum(len(t.rules) for t in catalog.topics),
        "aliases": len(catalog.aliases),
        "alias_spellings": sum(len(v) for v in catalog.aliases.values()),
        "context_rules": len(catalog.context),
        "atoms": matcher.atom_count,
    }


def verdict_stats(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """How often items matched: the work after the atom look-up depends on it."""
    relevant = [v for v in verdicts if v.relevant]
    return {
        "items": len(verdicts),
        "relevant": len(relevant),
        "relevant_share": len(relevant) / len(verdicts) if verdicts else 0.0,
        "matched_without_context": sum(1 for v in verdicts if v.without_context),
        "topics_per_relevant_item": (
            statistics.mean(len(v.topics) for v in relevant) if relevant else 0.0
        ),
    }


def compile_time(build: Callable[[], Matcher], repeat: int) -> Samples:
    """One-off compile time: word caches emptied first, as in a fresh process."""
    samples = Samples()
    for _ in range(repeat):
        clear_word_caches()
        timed(samples, build)
    return samples


def read_dev_set() -> list[MatchInput]:
    """The labelled dev set as matcher inputs."""
    items = []
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items.append(
                MatchInput(
                    str(row["id"]),
                    str(row["title"]),
                    str(row.get("summary") or ""),
                    language=str(row["language"]),
                    scope=str(row.get("scope") or "global"),
                )
            )
    return items


def dev_throughput(matchers: dict[str, Matcher], items: Sequence[MatchInput], repeat: int) -> Any:
    """Per catalog: a first pass with empty word caches, then DEV_PASSES warm passes."""
    out: dict[str, Any] = {}
    for name, matcher in matchers.items():
        cold, warm = Samples(), Samples()
        for _ in range(repeat):
            clear_word_caches()
            timed(cold, functools.partial(match_all, matcher, items))
            timed(warm, functools.partial(match_passes, matcher, items, DEV_PASSES))
        out[name] = {
            "items": len(items),
            "cold": cold.summary(),
            "warm": warm.summary(),
            "cold_items_per_s": len(items) / cold.cpu_median,
            "warm_items_per_s": len(items) * DEV_PASSES / warm.cpu_median,
        }
    return out


def profile_matching(matcher: Matcher, items: Sequence[MatchInput]) -> dict[str, Any]:
    """cProfile of one matching pass: top functions by own time, and key cumulative times."""
    profiler = cProfile.Profile()
    profiler.enable()
    match_all(matcher, items)
    profiler.disable()
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values())

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        if path == "~":
            return func
        short = os.path.relpath(path, REPO) if path.startswith(str(REPO)) else Path(path).name
        return f"{short}:{line}({func})"

    top = sorted(table.items(), key=lambda kv: kv[1][2], reverse=True)[:PROFILE_ROWS]
    cumulative = {
        name(key): row[3]
        for key, row in table.items()
        if key[2]
        in {
            "match",
            "scan",
            "_scan_field",
            "split_words",
            "candidates",
            "test",
            "evaluate",
            "_verdict",
            "snippet",
        }
        and "bot/matching" in key[0]
    }
    return {
        "total_own_s": total,
        "top_own_time": [
            {"function": name(key), "calls": row[1], "own_s": row[2], "cumulative_s": row[3]}
            for key, row in top
        ],
        "cumulative_s": dict(sorted(cumulative.items(), key=lambda kv: -kv[1])),
    }


def leaves(node: ast.Node, aliases: dict[str, list[ast.Node]]) -> int:
    """Word, prefix and phrase nodes a rule compiles to, aliases expanded (each use again)."""
    if isinstance(node, ast.AliasRef):
        return sum(leaves(n, aliases) for n in aliases[node.name])
    if isinstance(node, ast.And | ast.Or):
        return sum(leaves(n, aliases) for n in node.items)
    if isinstance(node, ast.Not):
        return leaves(node.item, aliases)
    if isinstance(node, ast.Near):
        return leaves(node.left, aliases) + leaves(node.right, aliases)
    return 1


def rule_costs(
    matcher: Matcher, topics: Sequence[TopicSpec], aliases: Any, items: Sequence[MatchInput]
) -> dict[str, Any]:
    """Time every rule the way Matcher.match runs it (unprofiled): test, then evaluate if held.

    Also the split of a match into the look-up (scan), the rule loop and the rest (verdicts).
    """
    compiled = matcher._rules  # read-only: time per rule
    texts = [(t.id, i, text) for t in topics for i, text in enumerate(t.rules)]
    if len(texts) != len(compiled):
        raise RuntimeError("compiled rules do not line up with the catalog's rules")
    parsed_aliases, _ = parse_aliases(aliases)
    names = parsed_aliases.keys()
    size = [leaves(ast.parse_rule(text, aliases=names), parsed_aliases) for _, _, text in texts]
    gc.collect()
    start = time.perf_counter()
    scanned = [matcher.scan(item.title, item.summary)[0] for item in items]
    scan_s = time.perf_counter() - start
    spent = [0.0] * len(compiled)
    tested = [0] * len(compiled)
    held = [0] * len(compiled)
    clock = time.perf_counter
    start = clock()
    for tokens in scanned:
        for k in matcher.candidates(tokens):  # the atom index
            rule = compiled[k]
            began = clock()
            if rule.test(tokens):
                rule.evaluate(tokens)
                held[k] += 1
            spent[k] += clock() - began
            tested[k] += 1
    loop_s = clock() - start
    order = sorted(range(len(compiled)), key=lambda k: spent[k], reverse=True)
    total = sum(spent)
    return {
        "scan_s": scan_s,
        "rule_loop_s": loop_s,
        "rule_evaluation_s": total,
        "rules": len(compiled),
        "evaluations_per_item": sum(tested) / len(items),
        "held_per_item": sum(held) / len(items),
        "leaves_evaluated_per_item": sum(e * n for e, n in zip(tested, size, strict=True))
        / len(items),
        "leaves_total": sum(size),
        "top": [
            {
                "topic": texts[k][0],
                "index": texts[k][1],
                "rule": texts[k][2],
                "leaves": size[k],
                "atoms": len(compiled[k].atoms),
                "evaluated": tested[k],
                "held": held[k],
                "seconds": spent[k],
                "share": spent[k] / total if total else 0.0,
            }
            for k in order[:COSTLY_RULES]
        ],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement; the result record."""
    load_start = os.getloadavg()
    started = datetime.now(UTC)
    print(f"rendering {args.feeds} feeds x {args.entries} entries ...", flush=True)
    docs = build_documents(args.feeds, args.entries, args.seed)
    corpus_bytes = sum(len(d.body) for d in docs)

    code = code_state()
    load = Samples()
    catalog = timed(load, lambda: load_catalog(CATALOG))
    topics = extra_topics(args.extra_rules, args.seed, list(catalog.aliases))
    compile_shipped = compile_time(lambda: Matcher.from_catalog(catalog), args.repeat)
    everything = [*catalog.topics, *topics]
    compile_extra = compile_time(
        lambda: Matcher(everything, catalog.context, catalog.aliases), args.repeat
    )
    matchers = {
        "shipped": Matcher.from_catalog(catalog),
        "extra": Matcher(everything, catalog.context, catalog.aliases),
    }
    state = catalog_state(catalog, matchers["shipped"])
    print(f"catalog: {state}; with extra rules: {matchers['extra'].atom_count} atoms", flush=True)

    now = DEFAULT_ANCHOR + timedelta(days=1)
    items = own_parse(docs, now)
    first = {name: Samples() for name in matchers}  # a first pass on empty word caches
    verdicts: dict[str, list[Verdict]] = {}
    for name, matcher in matchers.items():
        clear_word_caches()
        verdicts[name] = timed(first[name], functools.partial(match_all, matcher, items))

    fp, own, tok = Samples(), Samples(), Samples()
    match = {name: Samples() for name in matchers}
    scan = {name: Samples() for name in matchers}
    fp_entries = 0
    for rep in range(args.repeat):
        fp_entries = timed(fp, lambda: feedparser_default(docs))
        items = timed(own, lambda: own_parse(docs, now))
        timed(tok, functools.partial(tokenize_all, items))
        for name, matcher in matchers.items():
            timed(scan[name], functools.partial(scan_all, matcher, items))
            timed(match[name], functools.partial(match_all, matcher, items))
        print(
            f"repeat {rep + 1}/{args.repeat}: feedparser {fp.cpu[-1]:.2f} s, parse_feed"
            f" {own.cpu[-1]:.2f} s, match shipped {match['shipped'].cpu[-1]:.3f} s,"
            f" match +extra {match['extra'].cpu[-1]:.3f} s (CPU)",
            flush=True,
        )

    print("dev set ...", flush=True)
    dev = dev_throughput(matchers, read_dev_set(), args.repeat)
    print("profiling ...", flush=True)
    profile = {name: profile_matching(m, items) for name, m in matchers.items()}
    costs = rule_costs(matchers["shipped"], catalog.topics, catalog.aliases, items)

    configs: dict[str, Any] = {}
    for name, matcher in matchers.items():
        m_cpu, m_wall = match[name].cpu_median, match[name].wall_median
        configs[name] = {
            "atoms": matcher.atom_count,
            "rules": len(matcher._rules),
            "match": match[name].summary(),
            "scan": scan[name].summary(),
            "first_pass_cold_caches": first[name].summary(),
            "items_per_s_cpu": len(items) / m_cpu,
            "items_per_s_wall": len(items) / m_wall,
            "us_per_item_cpu": m_cpu / len(items) * 1e6,
            "ratio_to_feedparser_default_cpu": m_cpu / fp.cpu_median,
            "ratio_to_feedparser_default_wall": m_wall / fp.wall_median,
            "ratio_to_parse_feed_cpu": m_cpu / own.cpu_median,
            "ratio_to_parse_feed_wall": m_wall / own.wall_median,
            "verdicts": verdict_stats(verdicts[name]),
        }
    configs["shipped"]["target"] = TARGET_SHIPPED
    configs["extra"]["target"] = TARGET_EXTRA
    for cfg in configs.values():
        cfg["pass"] = cfg["ratio_to_feedparser_default_cpu"] <= cfg["target"]
    return {
        "benchmark": "match-speed",
        "started": started.isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "machine": {
            **machine(Path(sys.executable)),
            "feedparser": feedparser.__version__,
            "load_average_start": load_start,
            "load_average_end": os.getloadavg(),
        },
        "sizes": {
            "feeds": args.feeds,
            "entries_per_feed": args.entries,
            "corpus_mb": corpus_bytes / 1e6,
            "items": len(items),
            "feedparser_entries": fp_entries,
            "title_chars_mean": statistics.mean(len(i.title) for i in items),
            "summary_chars_mean": statistics.mean(len(i.summary) for i in items),
            "extra_rules": args.extra_rules,
            "extra_topics": len(topics),
            "repeat": args.repeat,
            "seed": args.seed,
        },
        "catalog": state,
        "code": code,
        "catalog_load": load.summary(),
        "compile": {"shipped": compile_shipped.summary(), "extra": compile_extra.summary()},
        "feedparser_default": fp.summary(),
        "parse_feed": own.summary(),
        "tokenize_only": tok.summary(),
        "configs": configs,
        "dev_set": dev,
        "profile": profile,
        "rule_costs_shipped": costs,
    }


# --------------------------------------------------------------------------- report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def _rows(rows: Iterable[Sequence[object]]) -> list[str]:
    return ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def markdown(r: dict[str, Any]) -> str:
    """The report."""
    m, s, cat = r["machine"], r["sizes"], r["catalog"]
    fp, own, tok = r["feedparser_default"], r["parse_feed"], r["tokenize_only"]
    shipped, extra = r["configs"]["shipped"], r["configs"]["extra"]
    lines = [
        f"Matching speed, {r['started']}: {s['feeds']} feeds x {s['entries_per_feed']} entries"
        f" ({s['corpus_mb']:.1f} MB, {s['items']} items; titles {s['title_chars_mean']:.0f}"
        f" and plain-text summaries {s['summary_chars_mean']:.0f} characters on average),"
        f" {s['repeat']} repetitions, medians reported.",
        "",
        f"Machine: nproc {m['nproc']}, {m['cpu_model']}, {m['memory_gib']} GiB, Linux"
        f" {m['kernel']}, Python {m['python']}, feedparser {m['feedparser']}; load average"
        f" {' '.join(f'{x:.2f}' for x in m['load_average_start'])} at the start,"
        f" {' '.join(f'{x:.2f}' for x in m['load_average_end'])} at the end. One process.",
        "",
        f"Catalog measured: feeds.yaml sha256 {cat['sha256_12']}: {cat['topics']} topics,"
        f" {cat['rules']} rules, {cat['aliases']} aliases ({cat['alias_spellings']} spellings),"
        f" {cat['context_rules']} context rules, {cat['atoms']} atoms. Extra:"
        f" {s['extra_rules']} generated rules in {s['extra_topics']} topics"
        f" ({extra['atoms']} atoms in all).",
        "",
        f"Code measured: commit {r['code']['commit']}"
        + (
            f" with uncommitted changes in {', '.join(r['code']['bot_modified'])} (diff sha256"
            f" {r['code']['bot_diff_sha256_12']})"
            if r["code"]["bot_modified"]
            else ", bot/ unmodified"
        )
        + ".",
        "",
        "| step (same items) | CPU s median | wall s median | wall min-max | items/s (CPU)"
        " | / feedparser default | / parse_feed | target | result |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def step(label: str, t: dict[str, Any], target: str = "", result: str = "") -> list[object]:
        return [
            label,
            f"{t['cpu_median_s']:.3f}",
            f"{t['wall_median_s']:.3f}",
            f"{t['wall_min_s']:.2f}-{t['wall_max_s']:.2f}",
            f"{s['items'] / t['cpu_median_s']:,.0f}",
            _pct(t["cpu_median_s"] / fp["cpu_median_s"]),
            _pct(t["cpu_median_s"] / own["cpu_median_s"]),
            target,
            result,
        ]

    rows = [
        step("feedparser.parse, default options (baseline)", fp),
        step("bot.ingest.parse.parse_feed", own),
        step("tokenize() title + summary only (Token objects; not used by match)", tok),
        step("matcher.scan only (shipped catalog)", shipped["scan"]),
        step("matcher.scan only (+ extra rules)", extra["scan"]),
        step(
            "**matching, shipped catalog**",
            shipped["match"],
            f"<= {_pct(shipped['target'])}",
            "PASS" if shipped["pass"] else "FAIL",
        ),
        step(
            f"**matching, shipped + {s['extra_rules']} rules**",
            extra["match"],
            f"<= {_pct(extra['target'])}",
            "PASS" if extra["pass"] else "FAIL",
        ),
    ]
    lines += _rows(rows)
    lines += [
        "",
        "Ratios use the median CPU times (process_time of this single-threaded process, which"
        " the other load on the machine affects less than wall time); with wall medians they are"
        f" {_pct(shipped['ratio_to_feedparser_default_wall'])} and"
        f" {_pct(extra['ratio_to_feedparser_default_wall'])} of feedparser,"
        f" {_pct(shipped['ratio_to_parse_feed_wall'])} and"
        f" {_pct(extra['ratio_to_parse_feed_wall'])} of parse_feed.",
        "",
        "| catalog | µs/item (CPU) | first pass, empty word caches, CPU s | relevant items |"
        " topics per relevant item | global items matched but out of context |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label, cfg in (("shipped", shipped), (f"+ {s['extra_rules']} rules", extra)):
        v = cfg["verdicts"]
        lines += _rows(
            [
                [
                    label,
                    f"{cfg['us_per_item_cpu']:.0f}",
                    f"{cfg['first_pass_cold_caches']['cpu_median_s']:.3f}",
                    f"{v['relevant']} ({_pct(v['relevant_share'])})",
                    f"{v['topics_per_relevant_item']:.2f}",
                    v["matched_without_context"],
                ]
            ]
        )
    comp, load = r["compile"], r["catalog_load"]
    lines += [
        "",
        "| one-off cost | CPU ms median | wall ms median |",
        "|---|--:|--:|",
        *_rows(
            [
                [
                    "load_catalog(feeds.yaml) (YAML + validation)",
                    _ms(load["cpu_median_s"]),
                    _ms(load["wall_median_s"]),
                ],
                [
                    "compile, shipped catalog",
                    _ms(comp["shipped"]["cpu_median_s"]),
                    _ms(comp["shipped"]["wall_median_s"]),
                ],
                [
                    f"compile, shipped + {s['extra_rules']} rules",
                    _ms(comp["extra"]["cpu_median_s"]),
                    _ms(comp["extra"]["wall_median_s"]),
                ],
            ]
        ),
        "",
        "Compile times are with the matcher's word caches emptied first (as in a fresh"
        " process); the catalog load was timed once.",
        "",
        f"Dev set (`tests/data/matching/dev.jsonl`, {r['dev_set']['shipped']['items']} items,"
        " real headlines and summaries):",
        "",
        "| catalog | items/s, first pass with empty word caches | items/s, warm |",
        "|---|--:|--:|",
    ]
    for label, name in (("shipped", "shipped"), (f"+ {s['extra_rules']} rules", "extra")):
        d = r["dev_set"][name]
        lines += _rows([[label, f"{d['cold_items_per_s']:,.0f}", f"{d['warm_items_per_s']:,.0f}"]])
    prof = r["profile"]["extra"]
    lines += [
        "",
        f"Profile of one matching pass with shipped + {s['extra_rules']} rules (cProfile, which"
        f" inflates the times; {prof['total_own_s']:.2f} s profiled), top functions by own time:",
        "",
        "| function | calls | own s | share | cumulative s |",
        "|---|--:|--:|--:|--:|",
        *_rows(
            [
                row["function"],
                f"{row['calls']:,}",
                f"{row['own_s']:.3f}",
                _pct(row["own_s"] / prof["total_own_s"]),
                f"{row['cumulative_s']:.3f}",
            ]
            for row in prof["top_own_time"]
        ),
        "",
        "Cumulative: "
        + ", ".join(f"`{k}` {v:.3f} s" for k, v in list(prof["cumulative_s"].items())[:8])
        + ".",
    ]
    lines += cost_section(r["rule_costs_shipped"], r["profile"]["shipped"], s["items"])
    return "\n".join(lines) + "\n"


def cost_section(c: dict[str, Any], prof: dict[str, Any], items: int) -> list[str]:
    """Where a match with the shipped catalog spends its time, and the costliest rules."""
    loop, scan = c["rule_loop_s"], c["scan_s"]
    lines = [
        "",
        "Shipped catalog, one unprofiled pass timed per stage (all items scanned first and"
        f" kept): the look-up (`Matcher.scan`: split and word memo) {scan:.3f} s, the rule loop"
        f" {loop:.3f} s"
        f" ({c['rules']} rules; the atom index leaves {c['evaluations_per_item']:.1f}"
        " candidates per item, which hold"
        f" {c['leaves_evaluated_per_item']:,.0f} word/prefix/phrase spellings, aliases expanded,"
        f" of {c['leaves_total']:,} in all rules; {c['held_per_item']:.2f} of them hold and are"
        " evaluated in full). The profile of a full pass:",
        "",
        "| function | calls per item | own s | share |",
        "|---|--:|--:|--:|",
        *_rows(
            [
                row["function"],
                f"{row['calls'] / items:,.1f}",
                f"{row['own_s']:.3f}",
                _pct(row["own_s"] / prof["total_own_s"]),
            ]
            for row in prof["top_own_time"][:10]
        ),
        "",
        f"Costliest shipped rules (time of `rule.test`, and of `rule.evaluate` where it held,"
        f" over all {items} items; spellings = words, prefixes and phrases in the rule, aliases"
        " expanded; atoms = those in the index):",
        "",
        "| rule | spellings | atoms | tested | held | s | share of rule time |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in c["top"]:
        text = row["rule"] if len(row["rule"]) <= 70 else row["rule"][:67] + "..."
        text = text.replace("|", "\\|")
        lines += _rows(
            [
                [
                    f"{row['topic']}[{row['index']}] `{text}`",
                    f"{row['leaves']:,}",
                    f"{row['atoms']:,}",
                    row["evaluated"],
                    row["held"],
                    f"{row['seconds']:.3f}",
                    _pct(row["share"]),
                ]
            ]
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=DEFAULTS["feeds"])
    parser.add_argument("--entries", type=int, default=DEFAULTS["entries"])
    parser.add_argument("--extra-rules", type=int, default=DEFAULTS["extra_rules"])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions; medians reported")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--results", type=Path, default=None, help="folder for speed.md/json")
    args = parser.parse_args(argv)
    if min(args.feeds, args.entries, args.repeat) < 1 or args.extra_rules < 0:
        parser.error("feeds, entries and repeat must be positive, extra-rules not negative")
    sizes = {"feeds": args.feeds, "entries": args.entries, "extra_rules": args.extra_rules}
    folder = args.results or (
        RESULTS if sizes == DEFAULTS and args.seed == DEFAULT_SEED else SCRATCH_RESULTS
    )
    result = run(args)
    report = markdown(result)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "speed.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (folder / "speed.md").write_text(report)
    print(report)
    print(f"-> {folder}/speed.md, speed.json")


if __name__ == "__main__":
    main()
