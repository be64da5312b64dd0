"""OPML 2.0 in and out of the feed catalog: a size-capped parser that refuses DTDs and entities."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import BinaryIO, NoReturn, get_args
from urllib.parse import urlsplit
from xml.parsers import expat

from pydantic import ValidationError

from bot.config.catalog import LANGUAGES, FeedSpec, format_duration
from bot.config.problems import wording
from bot.errors import ConfigError, ParseError
from bot.ingest.urlnorm import normalize_link
from bot.ingest.xmlbody import check_prolog, unwrap_wide
from bot.matching.translit import fold_word, latin_base, script_of

OPML_MAX_BYTES = 2 * 1024 * 1024  # thousands of feeds; a bigger file is a mistake or an attack
MAX_OUTLINES = 5000
MAX_DEPTH = 32
# Our own attributes, so an export read back gives the same feeds (OPML allows extra ones).
BRIEFBOT_NS = "urn:briefbot:opml:1"
PUBLISHERS: tuple[str, ...] = get_args(FeedSpec.model_fields["publisher"].annotation)
DEFAULT_PUBLISHER, DEFAULT_LANGUAGE = "independent-media", "en"
DEFAULT_SCOPE, DEFAULT_INTERVAL = "global", "1h"
SLUG_LENGTH = 48
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Outline:
    """One <outline> element: its line, its 1-based position among outlines, its attributes."""

    line: int
    number: int
    attrs: dict[str, str]

    def where(self, source: str) -> str:
        """`file:line: outline N ('title')` for messages."""
        name = self.attrs.get("title") or self.attrs.get("text") or self.attrs.get("xmlurl", "")
        shown = repr(name) if len(name) <= 60 else repr(name[:57] + "...")
        return f"{source}:{self.line}: outline {self.number} ({shown})"


@dataclass
class OpmlImport:
    """The feeds an OPML file adds, what was skipped (notes) and what was refused (problems)."""

    feeds: list[FeedSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_opml(
    path: Path | None, *, stdin: BinaryIO | None = None, max_bytes: int = OPML_MAX_BYTES
) -> bytes:
    """The bytes of `path` (or of stdin when None), refused past `max_bytes` before reading."""
    source = "<stdin>" if path is None else str(path)
    try:
        if path is None:
            assert stdin is not None
            data = stdin.read(max_bytes + 1)
        else:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError([f"{source}: not a regular file"])
            if info.st_size > max_bytes:
                raise ConfigError(
                    [f"{source}: {info.st_size} bytes is over the {max_bytes}-byte limit"]
                )
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read the file ({exc.strerror or exc})"]) from None
    if len(data) > max_bytes:
        raise ConfigError([f"{source}: over the {max_bytes}-byte limit"])
    return data


class _RefusedError(Exception):
    """The document uses something an OPML file never needs."""


def _refuse(message: str) -> NoReturn:
    raise _RefusedError(message)


def parse_outlines(data: bytes, *, source: str = "OPML") -> list[Outline]:
    """Every <outline> under <body>, folders included; ConfigError for unsafe or non-OPML input."""
    body = unwrap_wide(data)
    # A BOM-marked or UTF-16/32 file now is UTF-8 whatever its declaration says: tell expat.
    transcoded = body != data.lstrip(b" \t\r\n")
    try:
        check_prolog(body)
    except ParseError as exc:
        detail = (exc.detail or exc.reason).replace("the body", "the file")
        raise ConfigError([f"{source}: {detail}"]) from None
    outlines: list[Outline] = []
    stack: list[str] = []
    parser = expat.ParserCreate("UTF-8" if transcoded else None, namespace_separator=" ")
    # Belt and braces after check_prolog: no DTD, no entity, nothing external, ever.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = lambda *_: _refuse("DOCTYPE declarations are not allowed")
    parser.EntityDeclHandler = lambda *_: _refuse("entity declarations are not allowed")
    parser.ExternalEntityRefHandler = lambda *_: _refuse("external entities are not allowed")

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        if not stack and local != "opml":
            _refuse(f"not an OPML document (the root element is <{local}>)")
        if len(stack) >= MAX_DEPTH:
            _refuse(f"outlines nested deeper than {MAX_DEPTH} levels")
        stack.append(local)
        if local == "outline" and "body" in stack:
            if len(outlines) >= MAX_OUTLINES:
                _refuse(f"more than {MAX_OUTLINES} outlines")
            outlines.append(Outline(parser.CurrentLineNumber, len(outlines) + 1, _attrs(attrs)))

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda _name: stack.pop()
    try:
        parser.Parse(body, True)
    except _RefusedError as exc:
        raise ConfigError([f"{source}:{parser.CurrentLineNumber}: {exc}"]) from None
    except expat.ExpatError as exc:
        message = expat.errors.messages.get(exc.code, str(exc))
        raise ConfigError([f"{source}:{exc.lineno}: not well-formed XML ({message})"]) from None
    return outlines


def _attrs(raw: dict[str, str]) -> dict[str, str]:
    """Attribute names lower-cased (exporters disagree on xmlUrl's case); ours as `briefbot:x`."""
    named: dict[str, str] = {}
    for key, value in raw.items():
        space, _, local = key.rpartition(" ")
        if space == BRIEFBOT_NS:
            named[f"briefbot:{local}"] = value
        elif not space:
            named[local.lower()] = value
    return named


def slug_from(title: str, url: str) -> str:
    """An id from the title (any script, transliterated), else from the host name."""
    words = []
    for word in _SPACE.split(title):
        latin = latin_base(word) if script_of(word) != "cyrl" else fold_word(word)
        words.append(_NOT_SLUG.sub("-", latin))
    slug = "-".join(words).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)
    if len(slug) < 2:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        slug = _NOT_SLUG.sub("-", host.lower()).strip("-")
    if len(slug) > SLUG_LENGTH:
        slug = slug[:SLUG_LENGTH].rsplit("-", 1)[0]
    return slug if len(slug) >= 2 else "feed"


def _language(outline: Outline, source: str, notes: list[str]) -> str:
    raw = outline.attrs.get("language", "").strip()
    if not raw:
        return DEFAULT_LANGUAGE
    primary = re.split(r"[-_]", raw, maxsplit=1)[0].lower()
    if primary in LANGUAGES:
        return primary
    notes.append(f"{outline.where(source)}: language {raw!r} unknown; using {DEFAULT_LANGUAGE}")
    return DEFAULT_LANGUAGE


def _publisher(outline: Outline) -> str:
    for part in outline.attrs.get("category", "").split(","):
        name = part.strip().strip("/").lower()
        if name in PUBLISHERS:
            return name
    return DEFAULT_PUBLISHER


def _raw_entry(outline: Outline, source: str, notes: list[str]) -> dict[str, object]:
    """FeedSpec fields for a feed outline, with the documented defaults."""
    attrs = outline.attrs
    url = attrs["xmlurl"].strip()
    title = _SPACE.sub(" ", attrs.get("title") or attrs.get("text") or "").strip()[:300]
    title = title or (urlsplit(url).hostname or url)[:300]
    entry: dict[str, object] = {
        "id": attrs.get("briefbot:id") or slug_from(title, url),
        "url": url,
        "title": title,
        "publisher": _publisher(outline),
        "language": _language(outline, source, notes),
        "scope": attrs.get("briefbot:scope", DEFAULT_SCOPE),
        "interval": attrs.get("briefbot:interval", DEFAULT_INTERVAL),
    }
    if "briefbot:enabled" in attrs:
        flag = attrs["briefbot:enabled"].strip().lower()
        entry["enabled"] = {"true": True, "false": False}.get(flag, flag)
    if attrs.get("briefbot:notes"):
        entry["notes"] = attrs["briefbot:notes"]
    return entry


def _unique_id(wanted: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    base = wanted[:60].rstrip("-")
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def import_feeds(
    outlines: Iterable[Outline],
    *,
    source: str = "OPML",
    existing: Sequence[FeedSpec] = (),
    allow_private: bool = False,
) -> OpmlImport:
    """Feed entries for the outlines with an xmlUrl, checked like feeds.yaml entries."""
    result = OpmlImport()
    known = {normalize_link(feed.url): f"feed {feed.id} in the catalog" for feed in existing}
    taken = {feed.id for feed in existing}
    for outline in outlines:
        if not outline.attrs.get("xmlurl", "").strip():
            continue  # a folder or a plain link: its children (if any) are flattened
        where = outline.where(source)
        try:
            spec = FeedSpec.model_validate(
                _raw_entry(outline, source, result.notes), context={"allow_private": allow_private}
            )
        except ValidationError as exc:
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"]) or "entry"
                result.problems.append(f"{where}: {name}: {wording(error, FeedSpec.model_fields)}")
            continue
        key = normalize_link(spec.url)
        if key in known:
            result.notes.append(f"{where}: skipped, same URL as {known[key]}")
            continue
        known[key] = f"outline {outline.number} (line {outline.line})"
        unique = _unique_id(spec.id, taken)
        if unique != spec.id and "briefbot:id" in outline.attrs:
            result.notes.append(f"{where}: id {spec.id} is taken; using {unique}")
        taken.add(unique)
        result.feeds.append(spec.model_copy(update={"id": unique}))
    return result


def parse_opml(
    data: bytes,
    *,
    source: str = "OPML",
    existing: Sequence[FeedSpec] = (),
    allow_private: bool = False,
) -> OpmlImport:
    """Parse an OPML document and turn its feed outlines into catalog entries."""
    outlines = parse_outlines(data, source=source)
    return import_feeds(outlines, source=source, existing=existing, allow_private=allow_private)


def write_opml(feeds: Iterable[FeedSpec], *, now: datetime, title: str = "briefbot feeds") -> str:
    """The feeds as an OPML 2.0 document (UTF-8 text), one outline each."""
    root = ET.Element("opml", {"version": "2.0", "xmlns:briefbot": BRIEFBOT_NS})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {
            "type": "rss",
            "text": feed.title,
            "title": feed.title,
            "xmlUrl": feed.url,
            "language": feed.language,
            "category": feed.publisher,
            "briefbot:id": feed.id,
            "briefbot:scope": feed.scope,
            "briefbot:interval": format_duration(feed.interval_seconds),
        }
        if not feed.enabled:
            attrs["briefbot:enabled"] = "false"
        if feed.notes:
            attrs["briefbot:notes"] = feed.notes
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
