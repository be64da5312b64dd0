"""The catalog's topics as a reader sees them, in one language."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config.catalog import TopicSpec
from bot.digest.model import TopicText
from bot.i18n import normalize_language


def topic_texts(topics: Sequence[TopicSpec], language: str) -> tuple[TopicText, ...]:
    """Titles (and recommendation statements) of every topic, in catalog order."""
    lang = normalize_language(language)
    return tuple(
        TopicText(
            topic_id=t.id,
            recommendation=t.recommendation,
            title=getattr(t.titles, lang),
            statement=getattr(t.statement, lang) if t.statement else None,
        )
        for t in topics
    )
