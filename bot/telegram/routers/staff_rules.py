"""Staff commands for topic rules: show, backtest, add, remove, reset (StaffOnly on the router).

Edits are stored as database overrides of feeds.yaml (bot/staff/rules.py) and handed to the
running poller at once; at start-up the stored overrides are applied before polling.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config.catalog import Catalog
from bot.config.settings import Settings
from bot.db import overrides
from bot.db.engine import Database
from bot.matching.backtest import backtest
from bot.matching.matcher import Matcher
from bot.matching.rules import RuleSyntaxError
from bot.staff import StaffError, rules
from bot.telegram import staff_texts as texts
from bot.telegram.staff_views import reply, staff_errors
from bot.telegram.staffauth import StaffOnly, staff_id

if TYPE_CHECKING:
    from bot.service import Pipeline

router = Router(name=__name__)
router.message.filter(StaffOnly())

BACKTEST_DAYS = 30


def utcnow() -> datetime:
    """The clock: a handler is an entry point, like a job."""
    return datetime.now(UTC)


@router.startup()
async def apply_stored_rules(
    database: Database | None = None,
    catalog: Catalog | None = None,
    settings: Settings | None = None,
    pipeline: Pipeline | None = None,
) -> None:
    """At start: rules edited in the bot replace feeds.yaml's for their topics."""
    if database is not None and catalog is not None and settings is not None:
        await rules.apply_at_startup(
            database=database, catalog=catalog, settings=settings, pipeline=pipeline
        )


@router.message(Command("rules", ignore_case=True))
@staff_errors
async def show_rules(
    message: Message, command: CommandObject, *, database: Database, catalog: Catalog
) -> None:
    """Every topic, or one topic's numbered rules (as the service uses them)."""
    async with database.read() as session:
        found = await overrides.rule_overrides(session=session)
    current = rules.apply_overrides(catalog, found)
    topic_id = (command.args or "").strip()
    if not topic_id:
        await reply(message, texts.topics_view(current.topics, set(found)))
        return
    topic = rules.topic_of(current, topic_id)
    await reply(message, texts.rules_view(topic, topic.id in found))


@router.message(Command("rule_test", ignore_case=True))
@staff_errors
async def rule_test(
    message: Message, command: CommandObject, *, database: Database, catalog: Catalog
) -> None:
    """Backtest a rule on the last 30 days of stored items: counts and up to 5 titles."""
    query = (command.args or "").strip()
    if not query:
        raise StaffError("usage", usage="/rule_test QUERY")
    current = await rules.effective_catalog(database=database, catalog=catalog)
    matcher = await asyncio.to_thread(Matcher.from_catalog, current)
    try:
        async with database.read() as session:
            result = await backtest(
                session=session,
                matcher=matcher,
                query=query,
                since=utcnow() - timedelta(days=BACKTEST_DAYS),
            )
    except RuleSyntaxError as exc:
        await reply(message, texts.rule_error(exc.message, exc.pointer(width=48)))
        return
    await reply(message, texts.backtest_view(query, BACKTEST_DAYS, result))


async def _saved(
    message: Message,
    change: rules.RuleChange,
    *,
    database: Database,
    catalog: Catalog,
    settings: Settings,
    pipeline: Pipeline | None,
) -> None:
    current = await rules.effective_catalog(database=database, catalog=catalog)
    live = rules.install(pipeline, current, settings)
    await reply(message, texts.rule_saved(change.topic_id, change.after, live))


@router.message(Command("rule_add", ignore_case=True))
@staff_errors
async def rule_add(
    message: Message,
    command: CommandObject,
    *,
    database: Database,
    catalog: Catalog,
    settings: Settings,
    pipeline: Pipeline | None = None,
) -> None:
    """Append a rule to a topic, after checking it parses and compiles."""
    topic_id, *rest = re.split(r"\s+", (command.args or "").strip(), maxsplit=1)
    rule = rest[0] if rest else ""
    if not topic_id or not rule.strip():
        raise StaffError("usage", usage="/rule_add TOPIC RULE")
    current = await rules.effective_catalog(database=database, catalog=catalog)
    try:
        edit = rules.adder(current, rule.strip())
    except RuleSyntaxError as exc:
        await reply(message, texts.rule_error(exc.message, exc.pointer(width=48)))
        return
    change = await rules.change_rules(
        database=database,
        catalog=catalog,
        staff_id=staff_id(message),
        topic_id=topic_id,
        action="rule.add",
        edit=edit,
        now=utcnow(),
    )
    await _saved(
        message, change, database=database, catalog=catalog, settings=settings, pipeline=pipeline
    )


@router.message(Command("rule_remove", ignore_case=True))
@staff_errors
async def rule_remove(
    message: Message,
    command: CommandObject,
    *,
    database: Database,
    catalog: Catalog,
    settings: Settings,
    pipeline: Pipeline | None = None,
) -> None:
    """Drop rule N (as /rules TOPIC numbers them) from a topic."""
    args = (command.args or "").split()
    if len(args) != 2 or not args[1].isdigit():
        raise StaffError("usage", usage="/rule_remove TOPIC N")
    change = await rules.change_rules(
        database=database,
        catalog=catalog,
        staff_id=staff_id(message),
        topic_id=args[0],
        action="rule.remove",
        edit=rules.remover(int(args[1])),
        now=utcnow(),
    )
    await _saved(
        message, change, database=database, catalog=catalog, settings=settings, pipeline=pipeline
    )


@router.message(Command("rule_reset", ignore_case=True))
@staff_errors
async def rule_reset(
    message: Message,
    command: CommandObject,
    *,
    database: Database,
    catalog: Catalog,
    settings: Settings,
    pipeline: Pipeline | None = None,
) -> None:
    """Return a topic to the rules feeds.yaml gives it."""
    args = (command.args or "").split()
    if len(args) != 1:
        raise StaffError("usage", usage="/rule_reset TOPIC")
    change = await rules.change_rules(
        database=database,
        catalog=catalog,
        staff_id=staff_id(message),
        topic_id=args[0],
        action="rule.reset",
        edit=rules.resetter(),
        now=utcnow(),
    )
    await _saved(
        message, change, database=database, catalog=catalog, settings=settings, pipeline=pipeline
    )
