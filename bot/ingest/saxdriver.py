"""The SAX reader feedparser uses here: expat, minus the elements briefbot never reads.

feedparser builds a Python dictionary for every element it sees, and the biggest part of a
typical news feed is what briefbot throws away: the full article in `content:encoded` (the
entry's description is what gets stored), categories, authors and enclosures. This reader
still parses every byte with expat, so well-formedness errors and the loose-parser fallback
are exactly as before; it only stops those elements' events from reaching feedparser.
feedparser takes the reader from its `PREFERRED_XML_PARSERS` list (bot.ingest.parse puts
this module there), through the standard `xml.sax.make_parser` driver protocol: a module
with `create_parser`.

Skipping does not change what parse_feed returns. Full text (`content:encoded`, Atom
`content`) is dropped only after the same entry had a description or summary with text,
which is the entry's summary either way (feedparser never lets later content replace it), and
it is hollowed rather than hidden: feedparser still sees an empty content element, so its
rules for an entry that has content still apply. Two differences are for the better: markup
nested in a hidden element (an `<item>` in unescaped article HTML) can no longer confuse
feedparser about the current entry, and author addresses no longer reach feedparser's e-mail
regex, which backtracks for minutes on crafted input (feedparser issue 562).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.expatreader import ExpatParser

_RSS1 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_ATOM = "http://www.w3.org/2005/Atom"
_DC = "http://purl.org/dc/elements/1.1/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"

# (namespace, local name) of elements whose data parse_feed never reads: feedparser turns
# them into tags and author fields only.
_UNUSED = frozenset(
    {
        ("", "category"),
        (_ATOM, "category"),
        ("", "author"),
        (_ATOM, "author"),
        (_ATOM, "contributor"),
        (_DC, "creator"),
        (_DC, "contributor"),
        (_DC, "subject"),
        ("", "enclosure"),  # becomes a link with rel "enclosure"; only "alternate" ones count
    }
)
_ITEMS = frozenset({("", "item"), (_RSS1, "item"), (_RSS090, "item"), (_ATOM, "entry")})
# An entry's summary, and the full text that stops mattering once a summary has text.
_DESCRIPTIONS = frozenset(
    {("", "description"), (_RSS1, "description"), (_RSS090, "description"), (_ATOM, "summary")}
)
_FULL_TEXTS = frozenset({(_CONTENT, "encoded"), (_ATOM, "content")})
# Characters expat gathers before it hands text on; longer text arrives in pieces this size.
TEXT_BUFFER = 64 * 1024


def _split(name: str) -> tuple[str, str]:
    """(namespace, local name) of an expat name: "uri local [prefix]" or "local"."""
    parts = name.split(" ")
    return (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])


class SkimmingExpatParser(ExpatParser):
    """ExpatParser that hides unused elements (and everything inside them) from its handler."""

    # Set by ExpatParser (the pyexpat parser and the SAX content handler); typeshed omits them.
    _parser: Any
    _cont_handler: Any

    def reset(self) -> None:
        """Start a new document."""
        super().reset()
        # Text between two tags comes as one call, not one per line and entity: expat splits
        # an escaped HTML description into dozens of pieces, each a trip through feedparser.
        self._parser.buffer_text = True
        self._parser.buffer_size = TEXT_BUFFER
        self._hidden = 0  # elements open inside (and including) the hidden one
        self._hollow = False  # the hidden element's own start and end tags are forwarded
        self._described = False  # the current item has a description with text
        self._description_depth = 0  # > 0 while inside such a description
        self._names: dict[str, tuple[str, str]] = {}

    def _name(self, name: str) -> tuple[str, str]:
        split = self._names.get(name)
        if split is None:
            split = self._names[name] = _split(name)
        return split

    def start_element_ns(self, name: str, attrs: Mapping[str, str]) -> None:
        """Forward the start tag unless the element, or one around it, is hidden."""
        if self._hidden:
            self._hidden += 1
            return
        key = self._name(name)
        if key in _UNUSED:
            self._hide(hollow=False)
            return
        if self._described and key in _FULL_TEXTS:
            # Hollowed, not hidden: feedparser still sees an (empty) content element, so its
            # rules for a later description are those of the document as written.
            super().start_element_ns(name, attrs)
            self._hide(hollow=True)
            return
        if key in _ITEMS:
            self._described = False
        elif key in _DESCRIPTIONS:
            self._description_depth = 1
            self._parser.CharacterDataHandler = self._description_text
        elif self._description_depth:
            self._description_depth += 1
        super().start_element_ns(name, attrs)

    def end_element_ns(self, name: str) -> None:
        """Forward the end tag unless it closes or lies inside a hidden element."""
        if self._hidden:
            self._hidden -= 1
            if self._hidden:
                return  # still inside
            self._parser.CharacterDataHandler = self._cont_handler.characters
            if not self._hollow:
                return
        elif self._description_depth:
            self._description_depth -= 1
            if not self._description_depth:
                self._parser.CharacterDataHandler = self._cont_handler.characters
        super().end_element_ns(name)

    def _hide(self, *, hollow: bool) -> None:
        """Hide what follows until the element just started ends."""
        self._hidden, self._hollow = 1, hollow
        self._parser.CharacterDataHandler = None  # text inside costs no Python call

    def _description_text(self, text: str) -> None:
        if not self._described and text.strip():
            self._described = True
        self._cont_handler.characters(text)


def create_parser(*args: Any, **kwargs: Any) -> SkimmingExpatParser:
    """The xml.sax driver entry point."""
    return SkimmingExpatParser(*args, **kwargs)
