"""Staff replies: escaped HTML, monospace tables in <pre>, every message at most 4096 characters.

Every user-visible string goes through gettext; msgids marked with N_ are looked up later.
Their Belarusian and Russian texts live in tests/data/staff_translations.json until merged
into the .po files.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ParamSpec

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.digest.html import escape
from bot.errors import BlockedURLError, FeedError
from bot.staff import StaffError
from bot.telegram.replies import say_parts

log = logging.getLogger(__name__)
LIMIT = 4096
LINE_LIMIT = 300
P = ParamSpec("P")


def N_(msgid: str) -> str:  # noqa: N802 (the gettext_noop convention)
    """Mark a msgid for translation where it is defined; it is translated where shown."""
    return msgid


FAILED = N_(
    "Something went wrong; the service log has the details. /audit shows the changes that "
    "were saved."
)
ERRORS = {
    "usage": N_("Usage: {usage}"),
    "feed_add_usage": N_(
        "Usage: /feed_add URL [publisher] [language] [scope]\n"
        "publisher: government, state-media, independent-media (default), ngo, international; "
        "language: a two-letter code (default en); scope: belarus or global (default)."
    ),
    "feed_add_option": N_(
        "“{option}” is not a publisher, a two-letter language code or a scope. "
        "Send /feed_add without arguments for the usage."
    ),
    "bad_url": N_("This is not a usable http(s) feed address."),
    "not_modified": N_("The server answered 304 Not Modified to a first request: no feed."),
    "duplicate": N_("This feed is already there as <code>{feed_id}</code>. Nothing was added."),
    "unknown_feed": N_("There is no feed <code>{feed_id}</code>. /feeds lists them."),
    "feed_gone_from_yaml": N_(
        "Feed <code>{feed_id}</code> was removed from feeds.yaml. Put it back there, "
        "or add its URL again with /feed_add."
    ),
    "feed_in_yaml": N_(
        "Feed <code>{feed_id}</code> comes from feeds.yaml and would return at the next "
        "start. Pause it with /feed_pause, or delete it from feeds.yaml."
    ),
    "already_paused": N_("Feed <code>{feed_id}</code> is already paused."),
    "already_running": N_("Feed <code>{feed_id}</code> is not paused."),
    "unknown_topic": N_("There is no topic <code>{topic}</code>. /rules lists the topics."),
    "rule_invalid": N_("The rule was not saved: {problem}"),
    "rule_exists": N_("The topic already has this rule (number {number})."),
    "no_such_rule": N_("There is no rule {number}: the topic has {count}."),
    "last_rule": N_(
        "This is the topic's last rule; add its replacement first, or use /rule_reset."
    ),
    "channel_ref": N_("“{given}” is not a channel: write @username or its id, -100…"),
    "not_a_channel": N_("That chat is a {kind}, not a channel."),
    "channel_unreachable": N_(
        "I cannot see that channel. Add me to it as an administrator first, then try again."
    ),
    "bot_not_admin": N_("I am not an administrator of that channel. Promote me, then try again."),
    "bot_cannot_post": N_("I am an administrator there but may not post. Allow posting first."),
    "channel_exists": N_("Channel <code>{chat_id}</code> is already registered."),
    "unknown_channel": N_("<code>{chat_id}</code> is not a registered channel. See /channels."),
    "channel_language": N_("Unknown language “{language}”: use en, be or ru."),
    "channel_topics": N_(
        "Usage: /channel_topics ID TOPIC… or /channel_topics ID all. Unknown: {unknown}."
    ),
    "channel_digest_usage": N_(
        "Usage: /channel_digest ID daily [HH:MM] or /channel_digest ID weekly [DAY] [HH:MM]"
    ),
}
BLOCKED = {
    "private_address": N_("it is not a public address ({detail})."),
    "port_not_allowed": N_("only the standard ports 80 and 443 are allowed ({detail})."),
    "bad_scheme": N_("only http and https addresses are fetched ({detail})."),
    "credentials_in_url": N_("user names and passwords are not allowed in feed addresses."),
}


def error_text(exc: StaffError) -> str:
    """The translated reply for a StaffError, its values escaped."""
    params = {k: escape(str(v)) for k, v in exc.params.items()}
    return _(ERRORS[exc.code]).format(**params)


def blocked_text(exc: BlockedURLError) -> str:
    """Why a URL was refused before any connection."""
    detail = escape(exc.detail or exc.reason)
    reason = _(BLOCKED[exc.reason]).format(detail=detail) if exc.reason in BLOCKED else detail
    return _("This URL cannot be added: {reason}").format(reason=reason)


def fetch_failed_text(exc: FeedError) -> str:
    """A failed test fetch: reason code and a short detail; nothing was added."""
    return _("The test fetch failed: {reason} ({detail}). Nothing was added.").format(
        reason=escape(exc.reason), detail=escape((exc.detail or "-")[:200])
    )


def staff_errors(
    handler: Callable[P, Awaitable[None]],
) -> Callable[P, Awaitable[None]]:
    """Answer a StaffError with its message, and any other failure with a plain sentence."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        message = next((a for a in (*args, *kwargs.values()) if isinstance(a, Message)), None)
        try:
            await handler(*args, **kwargs)
        except StaffError as exc:
            if message is None:
                raise
            await reply(message, [error_text(exc)])
        except Exception:
            # The detail goes to the log (no message text); staff get a plain sentence.
            log.exception("staff command failed handler=%s", handler.__name__)
            if message is None:
                raise
            await reply(message, [_(FAILED)])

    return wrapper


def pack(blocks: Iterable[str], limit: int = LIMIT) -> list[str]:
    """Join HTML blocks with newlines into messages of at most `limit` characters."""
    pages: list[str] = []
    current = ""
    for block in blocks:
        joined = f"{current}\n{block}" if current else block
        if len(joined) <= limit:
            current = joined
            continue
        if current:
            pages.append(current)
        current = block[:limit]
    if current:
        pages.append(current)
    return pages


def pre_pages(lines: Sequence[str], head: str = "", limit: int = LIMIT) -> list[str]:
    """Plain-text lines as <pre> blocks (escaped), split into messages within the limit."""
    pages: list[str] = []
    chunk: list[str] = []
    size = len(head) + len("<pre></pre>") + 1
    for line in (escape(text[:LINE_LIMIT]) for text in lines):
        if chunk and size + len(line) + 1 > limit:
            pages.append(f"{head}<pre>{chr(10).join(chunk)}</pre>")
            chunk, size = [], len(head) + len("<pre></pre>") + 1
        chunk.append(line)
        size += len(line) + 1
    if chunk or not pages:
        pages.append(f"{head}<pre>{chr(10).join(chunk)}</pre>")
    return pages


def columns(rows: Sequence[Sequence[str]], widths: Sequence[int]) -> list[str]:
    """Fixed-width text rows; cells are cut to their column width (the last is not)."""
    out = []
    for row in rows:
        cells = [
            cell[:width].ljust(width) if index < len(row) - 1 else cell
            for index, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        out.append(" ".join(cells).rstrip())
    return out


def age(when: datetime | None, now: datetime) -> str:
    """A compact age such as 5m, 3h or 2d; "-" for never."""
    if when is None:
        return "-"
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


async def reply(message: Message, pages: Sequence[str]) -> None:
    """Send the pages in order (each already within Telegram's limit)."""
    await say_parts(message, [page[:LIMIT] for page in pages if page])


def staff_help() -> str:
    """The /staff overview of every staff command."""
    return _(
        "<b>Staff commands</b> (private chat only)\n"
        "/feeds: feed health\n"
        "/feed_add URL [publisher] [language] [scope]: test-fetch and add a feed\n"
        "/feed_pause ID, /feed_resume ID, /feed_remove ID\n"
        "/poll_now: poll the feeds that are due now\n"
        "/rules [TOPIC]: topics, or one topic's rules\n"
        "/rule_test QUERY: try a rule on the last 30 days\n"
        "/rule_add TOPIC RULE, /rule_remove TOPIC N, /rule_reset TOPIC\n"
        "/channels, /channel_add @name [language], /channel_topics ID TOPIC…|all, "
        "/channel_digest ID daily|weekly [DAY] [HH:MM], /channel_remove ID\n"
        "/stats: counts only\n"
        "/audit [N]: the latest staff changes"
    )


def kv(pairs: dict[str, int]) -> str:
    """`a 3, b 1` sorted by count, or "-"."""
    items: list[tuple[str, Any]] = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{escape(k)} {v}" for k, v in items) or "-"
