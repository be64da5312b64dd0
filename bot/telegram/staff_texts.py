"""The staff views: feed health, a test-fetched feed, stats, audit, rules, channels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.config.catalog import TopicSpec
from bot.db.audit import loads
from bot.db.stats import WEEKS, Stats
from bot.db.tables import AuditEntry, Chat, Feed
from bot.digest.html import escape
from bot.ingest.health import feed_state
from bot.ingest.types import ParsedFeed
from bot.matching.backtest import Backtest
from bot.staff.feeds import FeedRequest
from bot.telegram.staff_views import age, columns, kv, pack, pre_pages

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def feed_table(feeds: Sequence[Feed], counts: dict[str, int], now: datetime) -> list[str]:
    """The /feeds health table, paged: id, state, last success, items, last error reason."""
    if not feeds:
        return [_("No feeds yet.")]
    # One msgid for the whole header, so a translator sees the columns together.
    head = (_("id|state|last ok|items|error").split("|") + [""] * 5)[:5]
    rows = [head] + [
        [
            f.id,
            feed_state(f),
            age(f.last_success_at, now),
            str(counts.get(f.id, 0)),
            f.last_error_reason or "",
        ]
        for f in feeds
    ]
    widths = [min(max(len(f.id) for f in feeds), 28), 8, 7, 6, 24]
    widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
    title = _("<b>Feeds</b>: {count}").format(count=len(feeds)) + "\n"
    return pre_pages(columns(rows, widths), head=title)


def feed_added(
    feed: Feed,
    request: FeedRequest,
    parsed: ParsedFeed,
    previews: Sequence[tuple[str, tuple[str, ...]]],
) -> list[str]:
    """What /feed_add stored and what its first entries would match."""
    blocks = [
        _("Added feed <code>{id}</code>: {title}").format(
            id=escape(feed.id), title=escape(feed.title)
        ),
        _("Host: <code>{host}</code>").format(host=escape(request.host)),
    ]
    if request.host_warning:
        blocks.append(_("Warning: {warning}").format(warning=escape(request.host_warning)))
    blocks.append(
        _("{publisher}, language {language}, scope {scope}; polled every {minutes} min.").format(
            publisher=escape(feed.publisher),
            language=escape(feed.language),
            scope=escape(feed.scope),
            minutes=feed.interval_seconds // 60,
        )
    )
    blocks.append(
        _("Test fetch: “{title}”, {count} entries.").format(
            title=escape(parsed.title or "-"), count=len(parsed.entries)
        )
    )
    if previews:
        blocks.append(_("First entries and the topics they would match:"))
    for title, topics in previews:
        matched = ", ".join(topics) if topics else _("no topic")
        blocks.append(f"• {escape(title[:200])} → <i>{escape(matched)}</i>")
    return pack(blocks)


def stats_view(stats: Stats, refusals: int) -> list[str]:
    """The /stats counts (never an id)."""
    blocks = [
        _("<b>Subscribers</b>: {total} chats, {paused} paused").format(
            total=stats.chats_total, paused=stats.chats_paused
        ),
        _("by alert mode: {counts}").format(counts=kv(stats.by_mode)),
        _("by language: {counts}").format(counts=kv(stats.by_language)),
        _("by chat kind: {counts}").format(counts=kv(stats.by_kind)),
        _("<b>Items</b> per week, newest first: {items}; relevant: {relevant}").format(
            items=" / ".join(map(str, stats.items_per_week)),
            relevant=" / ".join(map(str, stats.relevant_per_week)),
        ),
        _("<b>Outbox</b>: {counts}").format(counts=kv(stats.outbox)),
        _("Staff commands refused since start: {count}").format(count=refusals),
    ]
    rows = [[_("topic"), *[f"w-{n}" for n in range(WEEKS)]]]
    rows += [[topic, *map(str, weeks)] for topic, weeks in sorted(stats.topic_per_week.items())]
    width = max(len(r[0]) for r in rows)
    table = pre_pages(
        columns(rows, (min(width, 32), *([6] * WEEKS))),
        head=_("<b>Matched items per topic</b> (weeks back from now):") + "\n",
    )
    return [*pack(blocks), *table]


def audit_view(entries: Sequence[AuditEntry]) -> list[str]:
    """The newest staff changes, one line each (who is a staff id from STAFF_IDS)."""
    if not entries:
        return [_("No staff changes recorded yet.")]
    lines = []
    for entry in entries:
        after = loads(entry.after)
        before = loads(entry.before)
        detail = after if after is not None else before
        lines.append(
            f"{entry.at:%Y-%m-%d %H:%M} {entry.staff_id} {entry.action} {entry.target} "
            f"{_short(detail)}"
        )
    return pre_pages(lines, head=_("<b>Latest staff changes</b>") + "\n")


def _short(snapshot: dict[str, object] | None) -> str:
    if not snapshot:
        return ""
    keys = ("enabled", "rules", "url", "topics", "digest_frequency")
    shown = {k: snapshot[k] for k in keys if k in snapshot}
    return str(shown)[:120]


def topics_view(topics: Sequence[TopicSpec], overridden: set[str]) -> list[str]:
    """Every topic with its number of rules; * marks rules edited in the bot."""
    lines = [f"{t.id}{'*' if t.id in overridden else ''}: {len(t.rules)}" for t in topics]
    head = _("<b>Topics</b> (rules; * edited in the bot). /rules TOPIC shows them.") + "\n"
    return pre_pages(lines, head=head)


def rules_view(topic: TopicSpec, overridden: bool) -> list[str]:
    """One topic's rules, numbered for /rule_remove."""
    source = _("edited in the bot") if overridden else _("from feeds.yaml")
    head = _("<b>{topic}</b>: {count} rules, {source}").format(
        topic=escape(topic.id), count=len(topic.rules), source=source
    )
    lines = [f"{n}. {rule}" for n, rule in enumerate(topic.rules, start=1)]
    return pre_pages(lines, head=head + "\n") if lines else [head]


def rule_saved(topic_id: str, rules: Sequence[str], live: bool) -> list[str]:
    """After /rule_add, /rule_remove or /rule_reset."""
    when = (
        _("The running service uses them from the next poll.")
        if live
        else _("They take effect when the service next starts.")
    )
    head = _("Saved. <b>{topic}</b> now has {count} rules. {when}").format(
        topic=escape(topic_id), count=len(rules), when=when
    )
    lines = [f"{n}. {rule}" for n, rule in enumerate(rules, start=1)]
    return pre_pages(lines, head=head + "\n")


def backtest_view(query: str, days: int, result: Backtest, examples: int = 5) -> list[str]:
    """Counts and up to `examples` titles for /rule_test."""
    blocks = [
        _("{hits} of {total} items from the last {days} days match <code>{query}</code>.").format(
            hits=len(result.hits), total=result.total, days=days, query=escape(query)
        )
    ]
    if result.hits:
        by_feed = dict(result.by_feed()[:8])
        blocks.append(_("by feed: {counts}").format(counts=kv(by_feed)))
        blocks += [
            f"• {hit.published_at:%Y-%m-%d} {escape(hit.feed_id)}: {escape(hit.title[:200])}"
            for hit in result.newest(examples)
        ]
    return pack(blocks)


def rule_error(message: str, pointer: str) -> list[str]:
    """A rule that does not parse, with the caret under the problem."""
    head = _("The rule does not parse: {message}").format(message=escape(message))
    return pre_pages(pointer.splitlines(), head=head + "\n")


def channel_line(chat: Chat, topics: Sequence[str]) -> str:
    """One channel's settings on one line."""
    followed = ", ".join(topics) if topics and not chat.follow_all else _("all topics")
    when = f"{chat.digest_minute // 60:02d}:{chat.digest_minute % 60:02d} {chat.timezone}"
    if chat.digest_frequency == "weekly":
        when = f"{DAYS[chat.digest_weekday]} {when}"
    return _("<code>{id}</code>: {frequency} digest, {when}; {language}; {topics}").format(
        id=chat.chat_id,
        frequency=escape(chat.digest_frequency),
        when=escape(when),
        language=escape(chat.language),
        topics=escape(followed),
    )
