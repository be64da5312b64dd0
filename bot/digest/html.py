"""Small, strict helpers for building Telegram HTML from untrusted plain text.

Telegram rejects a whole message ("can't parse entities") for one stray ``<`` or ``&``, so
every piece of feed text goes through `clean`, then `truncate` (on plain text, so a cut can
never land inside an entity or a tag), then `escape`. Only our own code writes tags.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

ELLIPSIS = "…"
# Longer hrefs are almost always tracking junk, and they eat into the raw-size budget.
MAX_HREF = 2048

# C0/C1 controls: they separated words (tab, newline), so they become spaces.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
# Invisible formatting: bidi embeddings, overrides and isolates (they can make "gov.by"
# display over other text), LRM/RLM/ALM, zero-width space (used to dodge keyword matches),
# BOM, and lone surrogates (Telegram and UTF-8 encoders choke on them). Dropped outright.
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_ANCHOR = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_TAG = re.compile(r"<[^<>]*>")


def clean(text: str) -> str:
    """Feed text without control or direction-changing characters, whitespace collapsed."""
    return " ".join(_CONTROLS.sub(" ", _INVISIBLE.sub("", text)).split())


def escape(text: str) -> str:
    """Escape plain text for a Telegram HTML text node."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(text: str) -> str:
    """Escape plain text for a double-quoted Telegram HTML attribute value."""
    return escape(text).replace('"', "&quot;")


def truncate(text: str, limit: int) -> str:
    """Cut plain text to at most `limit` characters on a word boundary, ending with "…"."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    head = text[: limit - 1]
    space = head.rfind(" ")
    # A single very long word (a URL, an agglutinated name) is cut mid-word rather than
    # dropped entirely, so the reader still sees how it starts.
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:.-–—") + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link Telegram can open, else None."""
    if not url or len(url) > MAX_HREF or _INVISIBLE.search(url) or _CONTROLS.search(url):
        return None
    if any(char.isspace() for char in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # malformed IPv6 brackets or port
        return None
    # javascript:, file:, tg:, data: and relative links are never made clickable.
    if parts.scheme.lower() not in {"http", "https"} or not host:
        return None
    return url


def link_domain(url: str | None) -> str | None:
    """The host a safe link really points to, without "www.", for showing next to the link."""
    safe = safe_url(url)
    if safe is None:
        return None
    host = urlsplit(safe).hostname or ""
    return host.removeprefix("www.") or None


def link(url: str | None, text: str) -> str:
    """An <a href> around escaped text for an http(s) URL; escaped text alone otherwise."""
    safe = safe_url(url)
    if safe is None:
        return escape(text)
    return f'<a href="{escape_attr(safe)}">{escape(text)}</a>'


def html_to_plain(html: str) -> str:
    """Our own generated HTML as plain text, link targets kept visible after their text."""

    def anchor(match: re.Match[str]) -> str:
        href, inner = match.group(1), match.group(2)
        # Both parts are still escaped here; the final unescape decodes them once.
        if unescape(_TAG.sub("", inner)) == unescape(href):
            return inner
        return f"{inner} ({href})"

    return unescape(_TAG.sub("", _ANCHOR.sub(anchor, html)))


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's message limits."""
    # Every code point above U+FFFF takes two units (a surrogate pair).
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def telegram_length(html: str) -> int:
    """Visible length of our own Telegram HTML after entity parsing, in UTF-16 code units."""
    return utf16_length(unescape(_TAG.sub("", html)))
