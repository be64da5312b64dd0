"""Precision, recall and F1 of the shipped catalog on the labelled dev set (`make eval`)."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.config.catalog import load_catalog
from bot.matching.matcher import Matcher, MatchInput, Verdict

REPO = Path(__file__).resolve().parents[2]
DEV_SET = REPO / "tests/data/matching/dev.jsonl"


@dataclass
class Counts:
    """True positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: set[str], truth: set[str]) -> None:
        """Count one item's labels."""
        self.tp += len(predicted & truth)
        self.fp += len(predicted - truth)
        self.fn += len(truth - predicted)

    @property
    def precision(self) -> float:
        """tp / (tp + fp), 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn), 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def group_of(row: dict[str, object]) -> str:
    """en, ru, be (Cyrillic) or be-latn."""
    language = str(row["language"])
    return f"{language}-latn" if row.get("script") == "latn" else language


def evaluate(
    matcher: Matcher, rows: list[dict[str, object]]
) -> tuple[dict[str, dict[str, Counts]], list[str]]:
    """Counts per metric and language group, plus a line per mistake."""
    table: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    mistakes: list[str] = []
    for row in rows:
        verdict: Verdict = matcher.match(
            MatchInput(
                id=str(row["id"]),
                title=str(row["title"]),
                summary=str(row.get("summary") or ""),
                language=str(row["language"]),
                scope=str(row.get("scope") or "global"),
            )
        )
        truth_rel = {"relevant"} if row["relevant"] else set()
        pred_rel = {"relevant"} if verdict.relevant else set()
        truth_recs = set(row["recommendations"])  # type: ignore[call-overload]
        truth_themes = set(row["themes"])  # type: ignore[call-overload]
        for group in (group_of(row), str(row["language"]), "all"):
            table["relevance"][group].add(pred_rel, truth_rel)
            table["recommendations"][group].add(set(verdict.recommendations), truth_recs)
            table["themes"][group].add(set(verdict.themes), truth_themes)
        if pred_rel != truth_rel or set(verdict.recommendations) != truth_recs:
            mistakes.append(
                f"{row['id']}: relevant {verdict.relevant} (truth {row['relevant']}), "
                f"recs {sorted(verdict.recommendations)} (truth {sorted(truth_recs)}): "
                f"{row['title']}"
            )
    return table, mistakes


def report(table: dict[str, dict[str, Counts]]) -> str:
    """A markdown table: P/R/F1 per metric and language group."""
    groups = ["en", "ru", "be", "be-latn", "all"]
    lines = ["| metric | group | precision | recall | F1 |", "| --- | --- | --- | --- | --- |"]
    for metric in ("relevance", "recommendations", "themes"):
        for group in groups:
            c = table[metric][group]
            lines.append(
                f"| {metric} | {group} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    """Print the report (and the mistakes with --mistakes)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", type=Path, default=REPO / "feeds.yaml")
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--mistakes", action="store_true", help="list every wrong item")
    args = parser.parse_args()
    matcher = Matcher.from_catalog(load_catalog(args.catalog))
    rows = [
        json.loads(line)
        for line in args.dev.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    table, mistakes = evaluate(matcher, rows)
    print(f"dev set: {len(rows)} items, catalog: {args.catalog.name}, atoms: {matcher.atom_count}")
    print(report(table))
    if args.mistakes:
        print("\n".join(mistakes))


if __name__ == "__main__":
    main()
