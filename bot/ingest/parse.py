"""Feed body -> ParsedFeed: plain-text entries with safe links, UTC dates and stable keys.

Pure and synchronous; the poller runs it in worker processes (bot.ingest.parsepool).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import feedparser.api

from bot.errors import ParseError
from bot.ingest import saxdriver
from bot.ingest.htmltext import clean_text, html_to_text, truncate
from bot.ingest.types import Entry, ParsedFeed
from bot.ingest.urlnorm import is_http_url, normalize_link
from bot.ingest.xmlbody import check_prolog, to_utf8, unwrap_wide

_ITEM_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# feedparser's entries are FeedParserDicts whose .get() runs alias logic on every lookup;
# plain dict.get reads the stored keys directly, several times faster per entry.
_get = dict.get
# feedparser asks xml.sax for the first reader it can build from this list (by default a
# libxml2 binding, absent here, then expat); ours is expat minus the elements never read.
feedparser.api.PREFERRED_XML_PARSERS = [saxdriver.__name__]
_MAX_GUID = 512  # longer ids are hashed: a key is indexed and compared on every poll
_FALLBACK_TITLE = 200  # a title made from the summary when the entry has none


@dataclasses.dataclass(frozen=True, slots=True)
class _Context:
    base: str  # the document's URL, for links feedparser left relative
    now: datetime
    language: str
    max_title: int
    max_summary: int


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    now: datetime,
    language: str,
    max_entries: int = 500,
    max_title: int = 1000,
    max_summary: int = 4000,
) -> ParsedFeed:
    """Parse one fetched feed body; raises ParseError with a short `reason` code."""
    if now.tzinfo is None or max_entries < 1:
        raise ValueError("now must be timezone-aware and max_entries positive")
    data, encoding = _prepare(body, headers=headers, language=language)
    data, truncated = _cap_items(data, max_entries)
    base = _header(headers, "content-location") or url
    base = base if is_http_url(base) else ""
    result = _run_feedparser(data, headers=headers)
    bozo = _bozo_note(result)
    if not result.get("version") and not result.entries:
        raise ParseError("not_a_feed", bozo or "no RSS or Atom root element")
    feed = result.feed
    raw_entries = result.entries
    if len(raw_entries) > max_entries:
        raw_entries, truncated = raw_entries[:max_entries], True
    default_language = _language(_get(feed, "language")) or language
    ctx = _Context(base, now.astimezone(UTC), default_language, max_title, max_summary)
    built = (_entry(raw, ctx) for raw in raw_entries)
    entries = _distinct_keys(entry for entry in built if entry is not None)
    return ParsedFeed(
        title=_text(
            _get(feed, "title_detail"), _get(feed, "title", ""), max_title, multiline=False
        ),
        link=_link(feed, base),
        entries=entries,
        bozo=bozo,
        encoding=encoding,
        truncated=truncated,
    )


def _prepare(body: bytes, *, headers: Mapping[str, str], language: str) -> tuple[bytes, str]:
    """Checks that need no parser, then the body as UTF-8 and its original encoding."""
    if not body or body.isspace():
        raise ParseError("empty_body", "the response body is empty")
    data = unwrap_wide(body)
    check_prolog(data)  # before any XML parser sees an entity declaration
    return to_utf8(data, headers=headers, language=language)


def _cap_items(data: bytes, max_entries: int) -> tuple[bytes, bool]:
    """Cut a document after `max_entries` items, keeping its closing tags, before parsing.

    feedparser would otherwise build all 100,000 entries of a hostile feed just for us to
    drop them; the cut keeps the XML well-formed so the fast strict parser still applies.
    """
    ends = _ITEM_CLOSE.finditer(data)
    cut = -1
    for count, match in enumerate(ends, start=1):
        if count == max_entries:
            cut = match.end()
        elif count > max_entries:
            break
    else:
        return data, False
    last = cut
    pos = len(data)
    while (pos := data.rfind(b"</", cut, pos)) > cut:
        close = _ITEM_CLOSE.match(data, pos)
        if close:
            last = close.end()
            break
    return data[:cut] + data[last:], True


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _run_feedparser(data: bytes, *, headers: Mapping[str, str]) -> Any:
    # The body is UTF-8 now; the real charset was decided above, so tell feedparser exactly.
    fp_headers = {"content-type": "application/xml; charset=utf-8"}
    # No content-location on purpose: with a base URL feedparser runs urljoin on every
    # element (a third of its time); the few relative links are resolved in _link instead.
    language = _header(headers, "content-language")
    if language:
        fp_headers["content-language"] = language
    try:
        return feedparser.parse(
            io.BytesIO(data),  # never a string: feedparser would fetch URLs or open files
            response_headers=fp_headers,
            sanitize_html=False,  # we reduce HTML to plain text ourselves, far cheaper
            resolve_relative_uris=False,
        )
    except MemoryError:
        raise
    except Exception as exc:  # a feedparser bug on odd input must not look like a crash
        raise ParseError("parse_failed", f"{type(exc).__name__}: {exc}"[:200]) from exc


def _bozo_note(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    return clean_text(f"{type(exc).__name__}: {exc}")[:200] if exc else "malformed XML"


def _entry(raw: Any, ctx: _Context) -> Entry | None:
    """One cleaned entry, or None when it has nothing to show (no title, text or link)."""
    title = _text(_get(raw, "title_detail"), _get(raw, "title", ""), ctx.max_title,
                  multiline=False)  # fmt: skip
    summary = _summary(raw, ctx.max_summary)
    link = _link(raw, ctx.base)
    if not (title or summary or link):
        return None
    if not title and summary:
        title = truncate(" ".join(summary.split()), min(ctx.max_title, _FALLBACK_TITLE))
    content_hash = _content_hash(title, summary)
    guid = _guid(_get(raw, "id"))
    if guid:
        # Most feeds use the article URL as guid: same string, normalised once.
        key = link if guid == _get(raw, "link") and link else normalize_link(guid) or guid
    else:
        key = link or f"h:{content_hash}"
    return Entry(
        key=key,
        guid=guid,
        url=link,
        title=title,
        summary=summary,
        published_at=_published(raw, ctx.now),
        language=_entry_language(raw) or ctx.language,
        content_hash=content_hash,
    )


def _text(detail: Any, value: str, limit: int, *, multiline: bool) -> str:
    """Plain text of a feedparser text construct, capped to `limit` characters."""
    kind = _get(detail, "type", "text/plain") if detail else "text/plain"
    # Whitespace collapses, so a few times the limit of input is plenty to fill the output.
    if "html" in kind:
        text = html_to_text(value, multiline=multiline, max_input=limit * 8 + 1024)
    else:
        text = clean_text(value[: limit * 4 + 1024], multiline=multiline)
    return truncate(text, limit)


def _summary(raw: Any, limit: int) -> str:
    detail, value = _get(raw, "summary_detail"), _get(raw, "summary") or ""
    if not detail or not value:
        # Atom entries with only <content> get a `summary` copy but no summary_detail.
        contents = _get(raw, "content") or ()
        if contents:
            detail, value = contents[0], _get(contents[0], "value", "")
    return _text(detail, value, limit, multiline=True) if value else ""


def _content_hash(title: str, summary: str) -> str:
    normalised = f"{' '.join(title.split())}\n{' '.join(summary.split())}".casefold()
    return hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()


def _link(raw: Any, base: str) -> str | None:
    """The first http(s) alternate link, normalised; javascript:, data:, tg: etc. are dropped."""
    links: Iterable[Any] = _get(raw, "links") or ()
    candidates = [_get(raw, "link")]
    candidates += [_get(ln, "href") for ln in links if _get(ln, "rel", "alternate") == "alternate"]
    for candidate in candidates:
        if not candidate or not isinstance(candidate, str):
            continue
        absolute = (
            urljoin(base, candidate) if base and not _HAS_SCHEME.match(candidate) else candidate
        )
        normalised = normalize_link(absolute)  # None unless http(s) with a host
        if normalised:
            return normalised
    return None


def _guid(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    guid = value.strip()
    if len(guid) > _MAX_GUID:
        return "sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()
    return guid


def _published(raw: Any, now: datetime) -> datetime:
    """Aware UTC publication time; missing or unreadable -> now, future -> now."""
    parsed = (
        _get(raw, "published_parsed") or _get(raw, "updated_parsed") or _get(raw, "created_parsed")
    )
    if not parsed:
        return now
    try:
        year, month, day, hour, minute, second = parsed[:6]
        value = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return now
    return min(value, now)


def _language(value: Any) -> str | None:
    """Primary subtag of a language code ("en-GB" -> "en"), or None if it is not one."""
    if not isinstance(value, str):
        return None
    code: str = value.strip()
    if not _LANGUAGE.fullmatch(code):
        return None
    return code.replace("_", "-").split("-", 1)[0].lower()


def _entry_language(raw: Any) -> str | None:
    for detail in (raw, _get(raw, "title_detail"), _get(raw, "summary_detail")):
        found = _language(_get(detail, "language")) if detail else None
        if found:
            return found
    return None


def _distinct_keys(entries: Iterable[Entry]) -> list[Entry]:
    """Give entries that share a key but differ in content distinct keys; drop exact repeats.

    Every member of a clashing group gets a suffix, so which one a feed lists first never
    decides which item is wrongly treated as already seen.
    """
    entries = list(entries)
    variants: dict[str, set[str]] = {}
    for entry in entries:
        variants.setdefault(entry.key, set()).add(entry.content_hash)
    distinct: list[Entry] = []
    seen: set[str] = set()
    for entry in entries:
        key = entry.key
        if len(variants[key]) > 1:
            key = f"{key}#{entry.content_hash[:16]}"
        if key in seen:
            continue
        seen.add(key)
        distinct.append(entry if key == entry.key else dataclasses.replace(entry, key=key))
    return distinct
