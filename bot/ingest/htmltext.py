"""Feed HTML fragments and text fields -> clean, readable plain text (never markup).

A small tokenizer (stdlib `re` and `html.unescape`) instead of `html.parser.HTMLParser`:
this runs on every entry, and HTMLParser parses every attribute of every tag only for us
to throw them away; a first HTMLParser version was 4-7 times slower on the real feeds in
../shared/fixtures. The tokenizer follows the HTML rules that matter for text: tags end at
the first unquoted ">", comments at "-->", script/style content is raw text up to its end
tag, and markup cut off at the end of the fragment is dropped rather than shown.
"""

from __future__ import annotations

import re
from html import unescape

# Invisible or display-altering code points: C0/C1 controls (tab and newlines are handled as
# whitespace), soft hyphen, zero-width space/word joiners used to dodge keyword matching, bidi
# embeddings/overrides/isolates (they can make "gov.by" display over other text), BOM,
# interlinear annotations, non-characters, lone surrogates (they break UTF-8 encoding later)
# and Unicode tag characters (invisible "ASCII smuggling"). ZWJ/ZWNJ and LRM/RLM stay: emoji
# sequences and several scripts need them, and they cannot reorder text.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u200b\u2060-\u2064\u202a-\u202e"
    "\u2066-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff\U000e0000-\U000e007f]"
)
# A start or end tag; quoted attribute values may hold ">" but never cross a "<", and the
# possessive quantifiers keep a broken tag from backtracking (linear time on any input).
_TAG = re.compile(r"""<(/?)([A-Za-z][^\s/>]*+)(?:[^<>"']++|"[^"<]*+"|'[^'<]*+')*+>""")
_MARKUP_START = re.compile(r"<[A-Za-z/!?]")

# Elements whose content is not prose (code, styling, fallbacks, embedded documents).
_SKIP = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "math"})
_SKIP_END = {name: re.compile(rf"</{name}\b[^>]*>", re.IGNORECASE) for name in _SKIP}
# Elements that start a new line when rendered.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl",
        "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
        "tr", "ul",
    }
)  # fmt: skip
# Inline elements that still separate words visually.
_SPACED = frozenset({"td", "th", "img", "wbr"})
_INLINE = frozenset(
    {
        "a", "abbr", "b", "big", "center", "cite", "code", "del", "em", "font", "i", "ins",
        "mark", "picture", "q", "s", "small", "source", "span", "strike", "strong", "sub",
        "sup", "u", "video", "audio",
    }
)  # fmt: skip
_KNOWN = _SKIP | _BLOCK | _SPACED | _INLINE


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Plain text with invisible/spoofing characters removed and whitespace collapsed."""
    text = _INVISIBLE.sub("", text)
    # str.split() is the fastest whitespace collapse (regexes were 5x slower); its notion of
    # whitespace includes NBSP and the Unicode line/paragraph separators.
    if not multiline:
        return " ".join(text.split())
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(fragment: str, *, multiline: bool = True, max_input: int | None = None) -> str:
    """Readable plain text of an HTML fragment: tags, scripts and link targets dropped."""
    if max_input is not None and len(fragment) > max_input:
        # The caller caps the output anyway; parsing megabytes to keep 4,000 characters is waste.
        fragment = fragment[:max_input]
    text = _decode(fragment)
    if "<" in text and any(m.group(2).lower() in _KNOWN for m in _TAG.finditer(text)):
        # Escaped twice by the publisher's CMS ("&amp;lt;p&amp;gt;"): one more level.
        text = _decode(text)
    return clean_text(text, multiline=multiline)


def _decode(fragment: str) -> str:
    # A newline in HTML source is only a space; line breaks come from block elements.
    text = _strip_tags(fragment) if "<" in fragment else fragment.replace("\n", " ")
    return unescape(text) if "&" in text else text


def _strip_tags(fragment: str) -> str:
    """The text between tags (entities still escaped), with block elements as newlines."""
    parts: list[str] = []
    pos, end = 0, len(fragment)
    while pos < end:
        lt = fragment.find("<", pos)
        if lt < 0:
            parts.append(fragment[pos:].replace("\n", " "))
            break
        parts.append(fragment[pos:lt].replace("\n", " "))
        tag = _TAG.match(fragment, lt)
        if tag is not None:
            pos = tag.end()
            name = tag.group(2).lower()
            if name in _BLOCK:
                parts.append("\n")
            elif name in _SPACED:
                parts.append(" ")
            elif name in _SKIP and not tag.group(1) and not tag.group(0).endswith("/>"):
                close = _SKIP_END[name].search(fragment, pos)
                pos = close.end() if close else end
            elif "@" in name and not tag.group(1):
                # "<user@mail.com>" is an address written in angle brackets, not a tag.
                parts.append(f" {tag.group(2)} ")
        elif fragment.startswith("<!--", lt):
            close_at = fragment.find("-->", lt + 4)
            pos = close_at + 3 if close_at >= 0 else end
        elif _MARKUP_START.match(fragment, lt):
            # A declaration, or a tag broken by a stray "<" or cut off at the end: drop it.
            close_at = fragment.find(">", lt + 1)
            pos = close_at + 1 if close_at >= 0 else end
        else:  # "a < b": a literal less-than sign
            parts.append("<")
            pos = lt + 1
    return "".join(parts)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary and ended with "…" when shortened."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    # Keep a hard cut when the only boundary is far back (one giant "word", e.g. a URL).
    if space > (limit - 1) // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"
