"""Topic rules edited by staff: stored as overrides of feeds.yaml, validated, audited, applied.

A topic edited in the bot keeps its whole rule list in the `topic_rules` table, which then
replaces the rules feeds.yaml gives that topic (until /rule_reset). The running service
picks a change up at its next poll (`install`), and at start (`apply_at_startup`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.config.catalog import Catalog, TopicSpec
from bot.config.settings import Settings
from bot.db import audit, overrides
from bot.db.engine import Database
from bot.errors import ConfigError
from bot.matching import rules as ast
from bot.staff import StaffError

if TYPE_CHECKING:
    from bot.service import Pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuleChange:
    """A topic's rules before and after one staff edit."""

    topic_id: str
    before: list[str]
    after: list[str]


def apply_overrides(catalog: Catalog, found: Mapping[str, Sequence[str]]) -> Catalog:
    """The catalog with each overridden topic's rules replaced (unknown topics ignored)."""
    if not found:
        return catalog
    topics = [
        t.model_copy(update={"rules": list(found[t.id])}) if t.id in found else t
        for t in catalog.topics
    ]
    return catalog.model_copy(update={"topics": topics})


async def effective_catalog(*, database: Database, catalog: Catalog) -> Catalog:
    """feeds.yaml's catalog with the rule overrides stored in the database."""
    async with database.read() as session:
        found = await overrides.rule_overrides(session=session)
    return apply_overrides(catalog, found)


def topic_of(catalog: Catalog, topic_id: str) -> TopicSpec:
    """The topic with this id, or StaffError unknown_topic."""
    for topic in catalog.topics:
        if topic.id == topic_id:
            return topic
    raise StaffError("unknown_topic", topic=topic_id)


def check_rule(catalog: Catalog, rule: str) -> None:
    """Parse one rule against the catalog's aliases; raises RuleSyntaxError (with a pointer)."""
    ast.parse_rule(rule, aliases=catalog.aliases.keys())


def _validated(catalog: Catalog, topic: TopicSpec, rules: list[str]) -> Catalog:
    """The catalog with `rules` for `topic`, if it still loads and compiles; else StaffError."""
    try:
        edited = TopicSpec.model_validate({**topic.model_dump(), "rules": rules})
    except ValidationError as exc:
        raise StaffError("rule_invalid", problem=exc.errors()[0]["msg"]) from None
    candidate = apply_overrides(catalog, {topic.id: edited.rules})
    # Imported here: `poll --once` uses effective_catalog and never compiles a matcher when
    # nothing is new, and the matcher's modules take about 0.04 s to load.
    from bot.matching.matcher import Matcher

    try:
        Matcher.from_catalog(candidate)
    except ConfigError as exc:
        raise StaffError("rule_invalid", problem=exc.problems[0]) from None
    return candidate


async def change_rules(
    *,
    database: Database,
    catalog: Catalog,
    staff_id: int,
    topic_id: str,
    action: str,
    edit: Callable[[list[str]], list[str] | None],
    now: datetime,
) -> RuleChange:
    """Apply `edit` to a topic's current rules (None: back to feeds.yaml), in one audited step."""
    yaml_topic = topic_of(catalog, topic_id)
    async with database.write() as session:
        await audit.serialize_staff_edits(session=session)
        stored = await overrides.topic_override(session=session, topic_id=topic_id)
        before = stored if stored is not None else list(yaml_topic.rules)
        edited = edit(list(before))
        after = list(yaml_topic.rules) if edited is None else edited
        if edited is not None:
            _validated(catalog, yaml_topic, after)
        await overrides.set_topic_rules(
            session=session, topic_id=topic_id, rules=edited or [], staff_id=staff_id, now=now
        )
        await audit.record(
            session=session,
            staff_id=staff_id,
            action=action,
            target=f"topic:{topic_id}",
            before={"rules": before, "overridden": stored is not None},
            after={"rules": after, "overridden": edited is not None},
            now=now,
        )
    return RuleChange(topic_id, before, after)


def adder(catalog: Catalog, rule: str) -> Callable[[list[str]], list[str] | None]:
    """An edit appending `rule` (checked first: RuleSyntaxError carries the position)."""
    check_rule(catalog, rule)

    def edit(rules: list[str]) -> list[str]:
        if rule in rules:
            raise StaffError("rule_exists", number=rules.index(rule) + 1)
        return [*rules, rule]

    return edit


def remover(number: int) -> Callable[[list[str]], list[str] | None]:
    """An edit dropping rule `number` (1-based, as /rules shows); the last one cannot go."""

    def edit(rules: list[str]) -> list[str]:
        if not 1 <= number <= len(rules):
            raise StaffError("no_such_rule", number=number, count=len(rules))
        if len(rules) == 1:
            raise StaffError("last_rule")
        return rules[: number - 1] + rules[number:]

    return edit


def resetter() -> Callable[[list[str]], list[str] | None]:
    """An edit returning the topic to feeds.yaml's rules."""
    return lambda _rules: None


def install(pipeline: Pipeline | None, catalog: Catalog, settings: Settings) -> bool:
    """Give the running poller a matcher for `catalog`; False when no pipeline runs here."""
    if pipeline is None:
        return False
    from bot.delivery.alerts import AlertEnqueuer
    from bot.service import ServiceHook

    alerts = AlertEnqueuer(catalog.topics, max_age=timedelta(hours=settings.alert_max_age_hours))
    pipeline.poller.replace_hook(ServiceHook(catalog, alerts=alerts))
    return True


async def apply_at_startup(
    *, database: Database, catalog: Catalog, settings: Settings, pipeline: Pipeline | None
) -> int:
    """At start: give the poller the stored overrides, if any; how many topics they touch."""
    async with database.read() as session:
        found = await overrides.rule_overrides(session=session)
    known = {t.id for t in catalog.topics}
    stale = sorted(set(found) - known)
    if stale:
        log.warning("rule overrides for topics no longer in feeds.yaml ignored: %s", stale)
    if found.keys() & known:
        install(pipeline, apply_overrides(catalog, found), settings)
    return len(found.keys() & known)
