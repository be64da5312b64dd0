"""Raw feed body checks before feedparser sees it: prolog safety, non-feeds, real encoding."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Mapping
from itertools import islice

import charset_normalizer
from charset_normalizer.md import mess_ratio

from bot.errors import ParseError

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# "<" in the wide encodings, for documents without a BOM (XML spec, appendix F).
_WIDE_MARKERS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_WS = b" \t\r\n"
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)\b")
_FP_HEAD_END = re.compile(rb"<\w")  # where feedparser's own prolog handling stops
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_HTML_ROOT = re.compile(rb"<html\b", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_DOC_LANGUAGE = re.compile(
    rb"""<(?:dc:)?language>\s*([A-Za-z]{2,3})\b|xml:lang\s*=\s*["']([A-Za-z]{2,3})\b"""
)
# Byte runs holding non-ASCII bytes: the only part of a document where encodings differ.
_WORDS = re.compile(rb"[A-Za-z]*[\x80-\xff][A-Za-z\x80-\xff]*")

_CYRILLIC = ("cp1251", "koi8_r", "iso8859_5")
_WESTERN = ("cp1252", "latin_1")
_CENTRAL = ("cp1250", "iso8859_2")
_BALTIC = ("cp1257", "iso8859_13")
_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("ru", "be", "uk", "bg", "sr", "mk", "kk"), _CYRILLIC),
    **dict.fromkeys(("pl", "cs", "sk", "hu", "sl", "hr", "ro"), _CENTRAL),
    **dict.fromkeys(("lt", "lv", "et"), _BALTIC),
    "el": ("cp1253", "iso8859_7"),
    "tr": ("cp1254", "iso8859_9"),
}
# Without a language hint: Latin encodings tie with each other (and Cyrillic ones never tie
# with Latin ones), so the order below only decides between same-script neighbours.
_FALLBACK = (*_WESTERN, *_CYRILLIC, *_CENTRAL, *_BALTIC, "cp1253", "cp1254")
_CLEAN = 0.1  # mess ratio of correctly decoded text in every sample we measured: 0.00-0.01
_TOLERATED = 0.3  # a declared encoding is trusted up to here when nothing decodes better
_SAMPLE_WORDS = 3000
_DETECT_BYTES = 256 * 1024  # charset-normalizer samples anyway; bound its input
_TIE = 0.02  # scores closer than this are equal; the earlier (preferred) encoding wins
# A Latin-1 symbol between two letters ("ó³æ": Polish read as windows-1252) is what mojibake
# between Latin code pages looks like; the apostrophe and the middle dot are left out.
_INNER_SYMBOL = re.compile(
    r"(?<=[^\W\d_])[\u00a1-\u00b6\u00b8-\u00bf\u00d7\u00f7\u02c6\u02dc\u2013-\u2018\u201a-\u2122]"
    r"(?=[^\W\d_])"
)


def unwrap_wide(body: bytes) -> bytes:
    """UTF-16/32 (or BOM-prefixed UTF-8) bodies as UTF-8 bytes without BOM or leading space."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return _transcode(body[len(bom) :], name).lstrip(_WS)
    for marker, name in _WIDE_MARKERS:
        if body.startswith(marker):
            return _transcode(body, name).lstrip(_WS)
    return body.lstrip(_WS)


def _transcode(body: bytes, encoding: str) -> bytes:
    if encoding == "utf-8":
        return body
    try:
        return body.decode(encoding).encode("utf-8")
    except UnicodeError as exc:
        raise ParseError(
            "encoding_unknown", f"invalid {encoding} with a {encoding} marker"
        ) from exc


def check_prolog(data: bytes) -> None:
    """Refuse entity declarations and DOCTYPE subsets, HTML pages, JSON and other non-XML."""
    if not data.startswith(b"<"):
        if data[:1] in (b"{", b"["):
            raise ParseError("not_a_feed", "the body is JSON, not RSS or Atom")
        if not _FEED_ROOT.search(data, 0, 1024):
            raise ParseError("not_a_feed", "the body is not XML")
    end = _prolog_end(data)
    first = _FP_HEAD_END.search(data)
    # Check up to the later of expat's prolog end and feedparser's, so neither can be
    # steered past a declaration (e.g. "<!-- <x -->" hides what follows from feedparser).
    head = data[: max(end, first.start() if first else len(data))]
    if _ENTITY.search(head):
        raise ParseError("xml_entities_forbidden", "the document declares XML entities")
    for match in _DOCTYPE.finditer(head):
        close = head.find(b">", match.end())
        decl = head[match.end() : close if close >= 0 else len(head)]
        if b"[" in decl:
            raise ParseError("xml_entities_forbidden", "the DOCTYPE has an internal subset")
        if decl.strip()[:4].lower() == b"html":
            raise ParseError("not_a_feed", "the body is an HTML page")
    if _HTML_ROOT.match(data, end):
        raise ParseError("not_a_feed", "the body is an HTML page")


def _prolog_end(data: bytes) -> int:
    """Offset of the first element start tag, skipping PIs, comments and declarations."""
    pos = 0
    while True:
        start = data.find(b"<", pos)
        if start < 0:
            return len(data)
        if data.startswith(b"<?", start):
            close, step = data.find(b"?>", start + 2), 2
        elif data.startswith(b"<!--", start):
            close, step = data.find(b"-->", start + 4), 3
        elif data.startswith(b"<!", start):
            close, step = data.find(b">", start + 2), 1
        else:
            return start
        if close < 0:
            return len(data)
        pos = close + step


def to_utf8(data: bytes, *, headers: Mapping[str, str], language: str) -> tuple[bytes, str]:
    """The body as UTF-8 and the encoding it really was in; mojibake is never returned."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # valid UTF-8 wins over any declaration: a mislabelled UTF-8 feed is common
        return data, "utf-8"
    words = b" ".join(m.group() for m in islice(_WORDS.finditer(data), _SAMPLE_WORDS))
    encoding = _decide(data, words, _declared(data, headers), _preferred(data, language))
    if encoding is None:
        raise ParseError("encoding_unknown", "the character encoding could not be determined")
    try:
        return data.decode(encoding).encode("utf-8"), encoding
    except UnicodeDecodeError as exc:  # the sample decoded but a later byte does not
        raise ParseError("encoding_unknown", f"the body is not valid {encoding}") from exc


def _declared(data: bytes, headers: Mapping[str, str]) -> list[str]:
    names: list[str] = []
    match = _XML_ENCODING.match(data)
    if match:
        names.append(match.group(1).decode("ascii"))
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            names.append(value.strip().strip("\"'"))
    return [name for name in (_codec(n) for n in names) if name]


def _codec(name: str) -> str | None:
    """Python codec name, or None for unknown names and the ASCII/UTF-8 family (already tried)."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    if canonical in ("utf-8", "ascii") or canonical.startswith(("utf-16", "utf-32")):
        return None
    # Browsers read "ISO-8859-1" as windows-1252, and so do the servers that mislabel it.
    return "cp1252" if canonical == "iso8859-1" else canonical


def _preferred(data: bytes, language: str) -> list[str]:
    hints = [language]
    match = _DOC_LANGUAGE.search(data, 0, 16 * 1024)
    if match:
        hints.insert(0, (match.group(1) or match.group(2)).decode("ascii"))
    order: list[str] = []
    for hint in hints:
        order.extend(_BY_LANGUAGE.get(hint.lower()[:2], _WESTERN))
    order.extend(_FALLBACK)
    return list(dict.fromkeys(order))


def _decide(data: bytes, words: bytes, declared: list[str], preferred: list[str]) -> str | None:
    """The declared encoding if its text reads cleanly, else the cleanest candidate."""
    fallback: tuple[float, str] | None = None
    for name in declared:
        ratio = _mess(data, words, name)
        if ratio <= _CLEAN:
            return name
        if ratio <= _TOLERATED and fallback is None:
            fallback = (ratio, name)
    best = _cleanest(words, preferred)
    if best is not None and (fallback is None or best[0] < fallback[0]):
        return best[1]
    if fallback is not None:
        return fallback[1]
    # Outside the scripts we expect (e.g. CJK): let charset-normalizer try all it knows.
    guess = charset_normalizer.from_bytes(data[:_DETECT_BYTES]).best()
    return guess.encoding if guess is not None and guess.chaos <= _CLEAN else None


def _mess(data: bytes, words: bytes, name: str) -> float:
    try:
        text = data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return float("inf")
    if len(text) != len(data):  # a multi-byte encoding that decoded strictly: trust it
        return 0.0
    return _score(words.decode(name))


def _score(text: str) -> float:
    """0 for text that reads cleanly; grows with mojibake (mess ratio plus stray symbols)."""
    inner = len(_INNER_SYMBOL.findall(text))
    non_ascii = (len(text) - len(text.encode("ascii", "ignore"))) or 1
    return float(mess_ratio(text, maximum_threshold=1.0)) + inner / non_ascii


def _cleanest(words: bytes, candidates: Iterable[str]) -> tuple[float, str] | None:
    best: tuple[float, str] | None = None
    for name in candidates:
        try:
            text = words.decode(name)
        except UnicodeDecodeError:
            continue
        ratio = _score(text)
        if ratio <= _CLEAN and (best is None or ratio < best[0] - _TIE):
            best = (ratio, name)
    return best
