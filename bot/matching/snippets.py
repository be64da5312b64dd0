"""Short excerpts around a matched word, for the "why" of a verdict."""

from __future__ import annotations

CONTEXT_CHARS = 40


def snippet(text: str, start: int, end: int, *, context: int = CONTEXT_CHARS) -> str:
    """About `context` characters either side of text[start:end], cut at spaces, with ellipses."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    excerpt = " ".join(text[left:right].split())
    return f"{'…' if left > 0 else ''}{excerpt}{'…' if right < len(text) else ''}"
