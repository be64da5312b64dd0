"""Checks the rule strings of feeds.yaml (topics, context, aliases) and reports them by line."""

from __future__ import annotations

from typing import Any

from bot.config.problems import Report
from bot.matching.rules import RuleSyntaxError, parse_rule, parse_spelling


def _message(exc: RuleSyntaxError) -> str:
    # A YAML line shows the whole rule; the column tells staff where the problem starts.
    return f"{exc.message} (column {exc.position + 1} of the rule)"


def _check_aliases(report: Report, raw: Any) -> set[str]:
    names: set[str] = set()
    if not isinstance(raw, dict):
        return names
    for name, spellings in raw.items():
        names.add(str(name))
        for index, spelling in enumerate(spellings if isinstance(spellings, list) else []):
            if isinstance(spelling, str):
                try:
                    parse_spelling(spelling)
                except RuleSyntaxError as exc:
                    report.add(("aliases", name, index), _message(exc))
    return names


def _bad_rules(report: Report, path: tuple[Any, ...], rules: Any, aliases: set[str]) -> set[str]:
    bad: set[str] = set()
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, str):
            continue
        try:
            parse_rule(rule, aliases=aliases)
        except RuleSyntaxError as exc:
            report.add((*path, index), _message(exc))
            bad.add(rule)
    return bad


def check_rules(report: Report) -> dict[str, set[str]]:
    """Report every rule that does not parse; returns the bad rules per topic id ("" = context)."""
    tree = report.tree.value
    aliases = _check_aliases(report, tree.get("aliases"))
    bad = {"": _bad_rules(report, ("context",), tree.get("context"), aliases)}
    topics = tree.get("topics")
    for index, topic in enumerate(topics if isinstance(topics, list) else []):
        if isinstance(topic, dict):
            found = _bad_rules(report, ("topics", index, "rules"), topic.get("rules"), aliases)
            bad[str(topic.get("id"))] = found
    return bad
