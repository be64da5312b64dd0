"""The benchmark's subscribers and news: chats, matched items and stories, seeded."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.config.catalog import Catalog, load_catalog
from bot.db import chats
from bot.db.engine import Database
from bot.db.queries import sync_catalog_feeds
from bot.db.tables import Item, ItemTopic, Story, Verdict
from bot.delivery.digests import schedule_of
from bot.digest.schedule import previous_due

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "feeds.yaml"
LANGUAGES = (("en", 0.40), ("ru", 0.35), ("be", 0.25))
ZONES = ("UTC", "Europe/Minsk", "Europe/Vilnius", "Europe/Warsaw", "America/New_York")
FOLLOW_ALL_SHARE = 0.75
# Stories and how many outlets reported each: 6 stories, 24 items in all.
OUTLETS_PER_STORY = (5, 5, 4, 4, 3, 3)

_SUBJECTS = {
    "en": (
        "Minsk",
        "The EU Council",
        "Washington",
        "Lithuanian border guards",
        "Opposition leaders",
    ),
    "ru": ("Минск", "Совет ЕС", "Вашингтон", "Литовские пограничники", "Лидеры оппозиции"),
    "be": ("Мінск", "Рада ЕС", "Вашынгтон", "Літоўскія памежнікі", "Лідары апазіцыі"),
}
_EVENTS = {
    "en": (
        "weighs new sanctions on potash exports",
        "releases a group of political prisoners",
        "reports drones crossing from the east",
        "meets envoys to discuss a prisoner exchange",
        "warns of pressure on relatives of exiles",
    ),
    "ru": (
        "обсуждает новые санкции против экспорта калия",
        "освобождает группу политзаключённых",
        "сообщает о дронах, пересёкших границу",
        "встречается с посланниками по обмену заключёнными",
        "предупреждает о давлении на родственников эмигрантов",
    ),
    "be": (
        "абмяркоўвае новыя санкцыі супраць экспарту калію",
        "вызваляе групу палітвязняў",
        "паведамляе пра дроны, якія перасеклі мяжу",
        "сустракаецца з пасланцамі наконт абмену вязнямі",
        "папярэджвае пра ціск на сваякоў эмігрантаў",
    ),
}


@dataclass(frozen=True, slots=True)
class Population:
    """What was created: every chat's Telegram id (and which are groups) and the items."""

    chat_ids: list[int]
    group_ids: set[int]
    items: int
    stories: int


def chat_ids(count: int, groups: int, rng: random.Random) -> tuple[list[int], set[int]]:
    """`count` Telegram chat ids in a shuffled order, `groups` of them negative."""
    privates = [100_000_000 + i * 7 for i in range(count - groups)]
    group_ids = [-(1_001_000_000_000 + i) if i % 2 else -(400_000_000 + i) for i in range(groups)]
    ids = privates + group_ids
    rng.shuffle(ids)
    return ids, set(group_ids)


def _pick_language(rng: random.Random) -> str:
    roll = rng.random()
    for language, share in LANGUAGES:
        if roll < share:
            return language
        roll -= share
    return LANGUAGES[-1][0]


async def add_chats(
    *, database: Database, catalog: Catalog, count: int, groups: int, now: datetime, seed: int
) -> tuple[list[int], set[int]]:
    """Subscribe `count` chats to daily digests, each one due now (its last slot has passed)."""
    rng = random.Random(seed)
    ids, group_ids = chat_ids(count, groups, rng)
    topic_ids = [t.id for t in catalog.topics]
    for start in range(0, len(ids), 1000):
        async with database.write() as session:
            for chat_id in ids[start : start + 1000]:
                follow_all = rng.random() < FOLLOW_ALL_SHARE
                kind = "private" if chat_id > 0 else ("supergroup" if chat_id % 2 else "group")
                chat = await chats.add_chat(
                    session=session,
                    chat_id=chat_id,
                    kind=kind,
                    now=now,
                    language=_pick_language(rng),
                    timezone=rng.choice(ZONES),
                    digest_frequency="daily",
                    follow_all=follow_all,
                )
                chat.next_digest_at = previous_due(schedule_of(chat), now)
                if not follow_all:
                    followed = rng.sample(topic_ids, rng.randint(2, 4))
                    await chats.set_topics(session=session, chat_pk=chat.id or 0, topics=followed)
    return ids, group_ids


def _why(topic: str, word: str, snippet: str) -> str:
    hit = {"topic": topic, "term": word.lower(), "word": word, "field": "title", "snippet": snippet}
    return json.dumps([hit], ensure_ascii=False)


async def add_news(*, database: Database, catalog: Catalog, now: datetime, seed: int) -> int:
    """Matched items from the catalog's feeds in the last 20 hours, grouped into stories."""
    rng = random.Random(seed + 1)
    feeds = [f for f in catalog.feeds if f.language in _SUBJECTS]
    recs = [t for t in catalog.topics if t.recommendation]
    themes = [t for t in catalog.topics if not t.recommendation]
    serial = 0
    async with database.write() as session:
        await sync_catalog_feeds(session=session, feeds=catalog.feeds, now=now)
        for number, outlets in enumerate(OUTLETS_PER_STORY):
            seen = now - timedelta(minutes=rng.randint(30, 19 * 60))
            story = Story(first_seen_at=seen, last_seen_at=seen, signature=f"bench {number}")
            session.add(story)
            await session.flush()
            rec = rng.choice(recs) if number % 3 == 0 else None
            topics = [rec.id] if rec else []
            topics += [t.id for t in rng.sample(themes, rng.randint(1, 2))]
            subject, event = number % 5, (number * 3 + 1) % 5
            for feed in rng.sample(feeds, outlets):
                serial += 1
                lang = feed.language
                title = f"{_SUBJECTS[lang][subject]} {_EVENTS[lang][event]} ({number + 1})"
                first_seen = seen + timedelta(minutes=rng.randint(0, 25))
                item = Item(
                    feed_id=feed.id,
                    key=f"bench-{serial}",
                    guid=f"urn:bench:{serial}",
                    url=f"https://news.example.org/{feed.id}/{serial}",
                    title=title,
                    summary=f"{title}. Details follow in the full report from {feed.title}.",
                    published_at=first_seen - timedelta(minutes=rng.randint(1, 20)),
                    first_seen_at=first_seen,
                    language=lang,
                    content_hash=f"{serial:064x}",
                    story_id=story.id,
                )
                session.add(item)
                await session.flush()
                assert item.id is not None
                session.add(
                    Verdict(
                        item_id=item.id,
                        relevant=True,
                        score=round(rng.uniform(0.35, 0.95), 2),
                        urgent=number == 0,
                        recommendations=(rec.recommendation or "") if rec else "",
                        themes=",".join(t for t in topics if not rec or t != rec.id),
                        why=_why(topics[0], _SUBJECTS[lang][subject].split()[0], title),
                        rules_version="bench",
                        matched_at=first_seen,
                    )
                )
                session.add_all(ItemTopic(item_id=item.id, topic_id=t) for t in topics)
    return serial


async def populate(
    *, database: Database, count: int, groups: int, now: datetime, seed: int
) -> Population:
    """Chats and news for one run (the database is migrated and empty)."""
    catalog = load_catalog(CATALOG)
    ids, group_ids = await add_chats(
        database=database, catalog=catalog, count=count, groups=groups, now=now, seed=seed
    )
    items = await add_news(database=database, catalog=catalog, now=now, seed=seed)
    return Population(ids, group_ids, items, len(OUTLETS_PER_STORY))
