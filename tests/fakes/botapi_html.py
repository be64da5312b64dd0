"""Telegram's HTML parse mode, as the fake Bot API server checks it.

Telegram rejects a message whose HTML it cannot turn into entities; the bot must notice
that before production does. This checker is deliberately a little stricter than Telegram
in one place: a bare ``&`` is an error (Telegram sometimes lets it through), so code that
passes here passes there. A bare ``>`` is accepted, as Telegram does.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Tag -> the attributes that matter to Telegram. Other attributes are ignored, like Telegram.
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "tg-spoiler",
        "span",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# html.parser silently drops a trailing "&x" and accepts "&amp" without ";", so every '&'
# (attribute values included) is checked up front against a complete entity.
_BARE_AMPERSAND = re.compile(r"&(?![a-zA-Z][a-zA-Z0-9]*;|#[0-9]+;|#[xX][0-9a-fA-F]+;)")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; str(error) is Telegram's wording after the colon."""


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        # convert_charrefs=False so that every '&' reaches us and can be judged.
        super().__init__(convert_charrefs=False)
        self.visible: list[str] = []
        self.stack: list[str] = []
        self.entities = 0

    def _where(self) -> str:
        line, col = self.getpos()
        return f"line {line}, column {col}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at {self._where()}')
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at {self._where()}')
        if tag == "a" and not attributes.get("href"):
            raise EntityParseError(f'Tag "a" must have attribute "href" at {self._where()}')
        if tag == "tg-emoji" and not attributes.get("emoji-id"):
            raise EntityParseError(f'Tag "tg-emoji" must have "emoji-id" at {self._where()}')
        self.stack.append(tag)
        self.entities += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <img .../>: Telegram has no self-closing tags at all.
        raise EntityParseError(f'Unsupported start tag "{tag}" at {self._where()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise EntityParseError(f'Unexpected end tag "{tag}" at {self._where()}')
        expected = self.stack.pop()
        if expected != tag:
            raise EntityParseError(
                f'Unmatched end tag at {self._where()}, expected "</{expected}>", found "</{tag}>"'
            )

    def handle_data(self, data: str) -> None:
        # html.parser passes a stray '<' or '&' through as data; Telegram does not.
        for bad in ("<", "&"):
            if bad in data:
                raise EntityParseError(f'Unescaped "{bad}" (use &lt; or &amp;) at {self._where()}')
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            raise EntityParseError(f'Unsupported HTML entity "&{name};" at {self._where()}')
        self.visible.append(NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in {"x", "X"} else int(name)
            self.visible.append(chr(code))
        except (ValueError, OverflowError):
            raise EntityParseError(f'Bad character entity "&#{name};"') from None

    def handle_comment(self, data: str) -> None:
        raise EntityParseError(f"Comments are not supported at {self._where()}")

    def handle_decl(self, decl: str) -> None:
        raise EntityParseError(f"Declarations are not supported at {self._where()}")

    def handle_pi(self, data: str) -> None:
        raise EntityParseError(f"Processing instructions are not supported at {self._where()}")

    def unknown_decl(self, data: str) -> None:
        raise EntityParseError(f"Unsupported declaration at {self._where()}")


def parse_html(text: str) -> tuple[str, int]:
    """Return (visible text, number of entities) of Telegram HTML, or raise EntityParseError."""
    bare = _BARE_AMPERSAND.search(text)
    if bare is not None:
        raise EntityParseError(f'Unescaped "&" (use &amp;) at offset {bare.start()}')
    parser = _TelegramHTML()
    parser.feed(text)
    # close() flushes an unfinished "<b" or "&am" as data, which handle_data then rejects.
    parser.close()
    if parser.stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
        )
    return "".join(parser.visible), parser.entities


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as the recipient sees it (tags removed, entities decoded, outer space trimmed).

    Only HTML is checked; other parse modes are passed through unchanged (Markdown is not
    used by briefbot).
    """
    if parse_mode is not None and parse_mode.upper() == "HTML":
        text, _ = parse_html(text)
    return text.strip()


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2).

    Counting UTF-16 is the stricter reading, so a splitter that fits here fits Telegram.
    """
    return len(text.encode("utf-16-le")) // 2
