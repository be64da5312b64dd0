"""Alerts and digests as Telegram HTML in the reader's language, every message within limits.

Feed text is cleaned, truncated as plain text and only then escaped (see `bot.digest.html`),
so a message can never carry a stray tag or a cut entity. Translated templates are escaped
too, before their placeholders are filled with already-escaped HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.digest.html import (
    clean,
    escape,
    html_to_plain,
    link,
    link_domain,
    telegram_length,
    truncate,
)
from bot.digest.model import DigestRequest, Reader, Source, StoryEntry, TopicText, WhyHit
from bot.i18n import Translate

MAX_TEXT = 4096  # Telegram's limit, visible text after entity parsing, UTF-16 code units
MAX_RAW = MAX_TEXT * 2  # sanity cap on the HTML itself (hrefs and escapes are invisible)
TITLE_LIMIT = 300
SNIPPET_LIMIT = 200
STATEMENT_LIMIT = 300
NAME_LIMIT = 100  # source and topic titles
WORD_LIMIT = 60  # rule terms and matched words
MAX_WHY = 3
MAX_ALSO = 5
MAX_TAGS = 8
# Plain-text fallback size: 1600 code points are at most 3200 UTF-16 units, and at most
# 8000 characters once every one of them is escaped.
_FALLBACK_CHARS = 1600

SectionKey = tuple[str, str]  # ("rec", "R1") | ("theme", "sanctions") | ("other", "")


def _msgid(text: str) -> str:
    # Marks a msgid for extraction where it is stored now and translated later.
    return text


_MONTHS = (
    _msgid("Jan"), _msgid("Feb"), _msgid("Mar"), _msgid("Apr"), _msgid("May"), _msgid("Jun"),
    _msgid("Jul"), _msgid("Aug"), _msgid("Sep"), _msgid("Oct"), _msgid("Nov"), _msgid("Dec"),
)  # fmt: skip
_PUBLISHERS = {
    "government": _msgid("government"),
    "state-media": _msgid("state media"),
    "independent-media": _msgid("independent media"),
    "ngo": _msgid("NGO"),
    "international": _msgid("international"),
}
_FIELDS = {"title": _msgid("in the title"), "summary": _msgid("in the summary")}


# --- dates -------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A zone this tzdata no longer knows must not stop delivery; UTC is shown as such.
        return ZoneInfo("UTC")


def _day(day: date, translate: Translate, *, year: bool = True) -> str:
    text = f"{day.day} {translate(_MONTHS[day.month - 1])}"
    return f"{text} {day.year}" if year else text


def _day_range(first: date, last: date, translate: Translate) -> str:
    if first == last:
        return _day(first, translate)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{_day(last, translate)}"
    if first.year == last.year:
        return f"{_day(first, translate, year=False)} – {_day(last, translate)}"
    return f"{_day(first, translate)} – {_day(last, translate)}"


def _moment(when: datetime, zone: ZoneInfo, translate: Translate) -> str:
    local = when.astimezone(zone)
    return f"{_day(local.date(), translate)}, {local:%H:%M}"


def _local_days(request: DigestRequest, zone: ZoneInfo) -> tuple[date, date]:
    first = request.start.astimezone(zone).date()
    # The end is exclusive: the last instant inside the period decides the last day.
    last = (request.end - timedelta(microseconds=1)).astimezone(zone).date()
    return first, max(first, last)


# --- pieces shared by alerts and digests -------------------------------------------------


def _title(story: StoryEntry, translate: Translate) -> str:
    return truncate(clean(story.title), TITLE_LIMIT) or translate("(untitled)")


def _source(source: Source, translate: Translate) -> str:
    name = escape(truncate(clean(source.title), NAME_LIMIT)) or "?"
    label = _PUBLISHERS.get(source.publisher)
    return f"{name} ({escape(translate(label))})" if label else name


def _also(sources: Sequence[Source], translate: Translate) -> str:
    names = [escape(truncate(clean(s.title), NAME_LIMIT)) or "?" for s in sources[:MAX_ALSO]]
    if len(sources) > MAX_ALSO:
        names.append(f"+{len(sources) - MAX_ALSO}")
    template = escape(translate("Also reported by: {sources}"))
    return template.format(sources=", ".join(names))


def _hashtag(topic_id: str) -> str:
    # Telegram hashtags hold letters, digits and "_" only; "political-prisoners" must not
    # turn into "#political" followed by loose text.
    tag = re.sub(r"\W+", "_", clean(topic_id)).strip("_")
    return f"#{tag}" if tag else ""


def _index(topics: Sequence[TopicText]) -> tuple[dict[str, TopicText], dict[str, TopicText]]:
    recommendations = {t.recommendation: t for t in topics if t.recommendation is not None}
    themes = {t.topic_id: t for t in topics if t.recommendation is None}
    return recommendations, themes


def _tag(key: str, topic: TopicText | None) -> str:
    title = truncate(clean(topic.title), NAME_LIMIT) if topic is not None else ""
    return escape(" ".join(part for part in (_hashtag(key), title) if part))


# --- alerts ------------------------------------------------------------------------------


def _why(hits: Sequence[WhyHit], translate: Translate) -> list[str]:
    if not hits:
        return []
    lines = [escape(translate("Why:"))]
    for hit in hits[:MAX_WHY]:
        term = escape(truncate(clean(hit.term), WORD_LIMIT))
        word = escape(truncate(clean(hit.word), WORD_LIMIT))
        field = _FIELDS.get(hit.field)
        where = translate(field) if field else truncate(clean(hit.field), WORD_LIMIT)
        line = f"• {term} → {word}, {escape(where)}"
        snippet = escape(truncate(clean(hit.snippet), SNIPPET_LIMIT))
        lines.append(f"{line}: <i>{snippet}</i>" if snippet else line)
    return lines


def _fit(html: str, text_budget: int = MAX_TEXT, raw_budget: int = MAX_RAW) -> str:
    if telegram_length(html) <= text_budget and len(html) <= raw_budget:
        return html
    # Never reached with the per-field limits above; kept so no input can produce a message
    # Telegram refuses. Plain text can be cut anywhere without breaking a tag.
    chars = min(_FALLBACK_CHARS, text_budget // 2, raw_budget // 5)
    return escape(truncate(html_to_plain(html), chars))


def compose_alert(
    entry: StoryEntry, reader: Reader, topics: Sequence[TopicText], translate: Translate
) -> str:
    """One instant alert as Telegram HTML, within Telegram's 4096-character message limit."""
    zone = _zone(reader.timezone)
    recommendations, themes = _index(topics)
    urgent = escape(translate("Urgent"))
    lines = [f"⚡ <b>{urgent}</b>"] if entry.urgent else []
    lines.append(f"<b>{link(entry.url, _title(entry, translate))}</b>")
    source = _source(entry.source, translate)
    domain = link_domain(entry.url)
    lines.append(f"{source} · {escape(domain)}" if domain else source)
    lines.append(f"{escape(_moment(entry.published_at, zone, translate))} ({escape(zone.key)})")
    tags = [_tag(r, recommendations.get(r)) for r in dict.fromkeys(entry.recommendations)]
    tags += [_tag(t, themes.get(t)) for t in dict.fromkeys(entry.themes)]
    tags = [tag for tag in tags if tag][:MAX_TAGS]
    if tags:
        lines.append(" · ".join(tags))
    lines.extend(_why(entry.why, translate))
    if entry.also_reported_by:
        lines.append(_also(entry.also_reported_by, translate))
    return _fit("\n".join(lines))


# --- digests -----------------------------------------------------------------------------


def _assign(stories: Sequence[StoryEntry]) -> dict[SectionKey, list[StoryEntry]]:
    sections: dict[SectionKey, list[StoryEntry]] = {}
    seen: set[int] = set()
    for story in stories:
        if story.item_id in seen:
            continue  # one entry per story, even if the caller passed it twice
        seen.add(story.item_id)
        if story.recommendations:
            key = ("rec", story.recommendations[0])
        elif story.themes:
            key = ("theme", story.themes[0])
        else:
            key = ("other", "")
        sections.setdefault(key, []).append(story)
    return sections


def _section_order(keys: Sequence[SectionKey], topics: Sequence[TopicText]) -> list[SectionKey]:
    theme_rank = {t.topic_id: i for i, t in enumerate(topics) if t.recommendation is None}

    def rank(key: SectionKey) -> tuple[int, int, str]:
        kind, ident = key
        if kind == "rec":  # length first, so R10 follows R9
            return (0, len(ident), ident)
        if kind == "theme":
            return (1, theme_rank.get(ident, len(theme_rank)), ident)
        return (2, 0, ident)

    return sorted(keys, key=rank)


def _ranked(stories: Sequence[StoryEntry]) -> list[StoryEntry]:
    return sorted(stories, key=lambda s: (-s.score, -s.published_at.timestamp(), s.item_id))


def _section_header(
    key: SectionKey, count: int, request: DigestRequest, translate: Translate
) -> str:
    recommendations, themes = _index(request.topics)
    kind, ident = key
    if kind == "rec":
        topic = recommendations.get(ident)
        name = clean(topic.title) if topic is not None else ""
        title = " · ".join(part for part in (_hashtag(ident), name) if part)
        header = f"<b>{escape(truncate(title, NAME_LIMIT) or '?')}</b> ({count})"
        statement = clean(topic.statement or "") if topic is not None else ""
        if statement:
            header += f"\n<i>{escape(truncate(statement, STATEMENT_LIMIT))}</i>"
        return header
    if kind == "theme":
        theme = themes.get(ident)
        title = clean(theme.title) if theme is not None else clean(ident)
    else:
        title = translate("Other")
    return f"<b>{escape(truncate(title, NAME_LIMIT) or '?')}</b> ({count})"


def _entry(story: StoryEntry, zone: ZoneInfo, dated: bool, translate: Translate) -> str:
    local = story.published_at.astimezone(zone)
    when = f"{local:%H:%M}"
    if dated:  # the digest spans several local days: the time alone would be ambiguous
        when = f"{_day(local.date(), translate, year=False)}, {when}"
    parts = [f"• {link(story.url, _title(story, translate))}", _source(story.source, translate)]
    parts.append(escape(when))
    if story.also_reported_by:
        parts.append(_also(story.also_reported_by, translate))
    return " · ".join(parts)


def _digest_header(
    request: DigestRequest, zone: ZoneInfo, totals: tuple[int, int], translate: Translate
) -> str:
    first, last = _local_days(request, zone)
    dates = escape(_day_range(first, last, translate))
    if request.period == "week":
        template = escape(translate("Weekly digest: week {week}, {dates}"))
        title = template.format(week=first.isocalendar().week, dates=dates)
    else:
        title = escape(translate("Daily digest: {dates}")).format(dates=dates)
    counts = escape(translate("Stories: {stories} · Sections: {sections}"))
    return f"📰 <b>{title}</b>\n{counts.format(stories=totals[0], sections=totals[1])}"


def _digest_units(request: DigestRequest, zone: ZoneInfo, translate: Translate) -> list[str]:
    sections = _assign(request.stories)
    first, last = _local_days(request, zone)
    totals = (sum(len(s) for s in sections.values()), len(sections))
    units = [_digest_header(request, zone, totals, translate)]
    for key in _section_order(list(sections), request.topics):
        stories = _ranked(sections[key])
        entries = [_entry(s, zone, first != last, translate) for s in stories]
        header = _section_header(key, len(stories), request, translate)
        # The header travels with the first entry so no message ends on a bare header;
        # the leading newline leaves a blank line between sections.
        units.append(f"\n{header}\n{entries[0]}")
        units.extend(entries[1:])
    return units


def _pack(units: Sequence[str], translate: Translate) -> list[str]:
    marker = escape(translate("(continued, {part}/{total})"))
    widest = f"<i>{marker.format(part=999, total=999)}</i>\n"
    text_budget = MAX_TEXT - telegram_length(widest)
    raw_budget = MAX_RAW - len(widest)
    parts: list[list[str]] = [[]]
    text = raw = 0
    for raw_unit in units:
        unit = _fit(raw_unit, text_budget, raw_budget)
        unit_text, unit_raw = telegram_length(unit), len(unit)
        if parts[-1] and (text + 1 + unit_text > text_budget or raw + 1 + unit_raw > raw_budget):
            parts.append([])
        if not parts[-1]:
            text = raw = -1  # the first unit of a part has no "\n" separator before it
        parts[-1].append(unit)
        text += 1 + unit_text
        raw += 1 + unit_raw
    total = len(parts)
    messages = ["\n".join(parts[0])]
    for number, part in enumerate(parts[1:], start=2):
        head = f"<i>{marker.format(part=number, total=total)}</i>"
        messages.append("\n".join([head, *part]))
    return messages


def compose_digest(request: DigestRequest, reader: Reader, translate: Translate) -> list[str]:
    """A digest as Telegram HTML messages, each within limits, split only between entries."""
    zone = _zone(reader.timezone)
    if not request.stories:
        if not request.send_when_empty:
            return []
        template = escape(translate("Nothing new matched your topics between {start} and {end}."))
        start = escape(_moment(request.start, zone, translate))
        end = escape(_moment(request.end, zone, translate))
        return [template.format(start=start, end=end)]
    return _pack(_digest_units(request, zone, translate), translate)
