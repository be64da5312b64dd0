"""Subscribers' own /keywords rules: compiled once per distinct text, checked on new items."""

from __future__ import annotations

import logging

from bot.matching.compiled import Evaluator
from bot.matching.matcher import Matcher
from bot.matching.rules import RuleSyntaxError

log = logging.getLogger(__name__)


class PersonalRules:
    """The distinct personal rules of active chats, compiled against the catalog's aliases."""

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher
        self._compiled: dict[str, Evaluator] = {}

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def refresh(self, texts: set[str]) -> None:
        """Use exactly these rules: compile new ones, forget the ones nobody uses."""
        for text in texts - self._compiled.keys():
            try:
                self._compiled[text] = self._matcher.compile_query(text)
            except RuleSyntaxError:
                # Validated when set; a catalog alias removed since can break one. Skip it.
                log.warning("a personal rule no longer compiles; it is skipped")
        for text in self._compiled.keys() - texts:
            del self._compiled[text]

    def matching(self, title: str, summary: str) -> frozenset[str]:
        """The personal rules (their texts) that this item satisfies."""
        if not self._compiled:
            return frozenset()
        tokens, _ = self._matcher.scan(title, summary)
        return frozenset(text for text, evaluate in self._compiled.items() if evaluate(tokens)[0])
