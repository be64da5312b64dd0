"""Staff rule commands and /poll_now end to end, and rule edits reaching the poller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import Database
from bot.db.tables import Feed, Item, TopicRule
from bot.ingest.types import Entry
from bot.service import ServiceHook
from bot.staff import rules
from tests.fakes.botapi import FakeBotAPI
from tests.support.staffkit import (
    STAFF,
    StaffKit,
    snapshot,
    staff_bot,
    staff_feed,
)
from tests.support.staffkit import catalog as staff_catalog


@pytest.fixture
async def kit(fake_botapi: FakeBotAPI, engine: AsyncEngine) -> AsyncIterator[StaffKit]:
    async with staff_bot(fake_botapi, engine) as running:
        yield running


async def test_rule_test_reports_counts_examples_and_parse_errors(kit: StaffKit) -> None:
    now = datetime.now(UTC)
    async with kit.database.write() as session:
        for n, (title, age_days) in enumerate(
            [
                ("EU sanctions <b>potash</b>", 1),
                ("New sanctions on Belavia", 3),
                ("Weather", 2),
                ("Old sanctions", 40),
            ]
        ):
            session.add(
                Item(
                    feed_id="yaml-feed",
                    key=f"k{n}",
                    title=title,
                    summary="",
                    published_at=now - timedelta(days=age_days),
                    first_seen_at=now - timedelta(days=age_days),
                    language="en",
                    content_hash=f"h{n}",
                )
            )
    answer = await kit.send(STAFF, "/rule_test sanction*")
    assert "2 of 3 items from the last 30 days match sanction*" in answer.visible
    assert "EU sanctions <b>potash</b>" in answer.visible  # escaped, shown as written
    assert "Old sanctions" not in answer.visible
    broken = await kit.send(STAFF, "/rule_test sanctions AND (Belavia")
    assert "does not parse" in broken.visible
    assert broken.text is not None
    assert "<pre>" in broken.text
    assert "^" in broken.visible


class _Poller:
    def __init__(self) -> None:
        self.hook: object = None

    def replace_hook(self, hook: object) -> None:
        self.hook = hook


class _Pipeline:
    def __init__(self, kit: StaffKit | None = None) -> None:
        self.poller = _Poller()
        self.kit = kit
        self.polls = 0

    async def poll(self) -> None:
        self.polls += 1
        assert self.kit is not None
        async with self.kit.database.write() as session:
            feed = await session.get(Feed, "yaml-feed")
            assert feed is not None
            feed.last_checked_at = datetime.now(UTC)


async def test_rule_edits_are_validated_stored_audited_and_given_to_the_poller(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    pipeline = _Pipeline()
    async with staff_bot(fake_botapi, engine, pipeline=pipeline) as kit:
        shown = await kit.send(STAFF, "/rules sanctions")
        assert "1. sanction* OR санкц*" in shown.visible
        assert "from feeds.yaml" in shown.visible
        added = await kit.send(STAFF, '/rule_add sanctions "Belavia" AND ban*')
        assert "now has 2 rules" in added.visible
        assert "from the next poll" in added.visible
        assert pipeline.poller.hook is not None
        broken = await kit.send(STAFF, "/rule_add sanctions Belavia AND")
        assert "does not parse" in broken.visible
        assert "^" in broken.visible
        assert "no topic nope" in (await kit.send(STAFF, "/rule_add nope x")).visible.lower()
        assert (
            "already has this rule"
            in (await kit.send(STAFF, '/rule_add sanctions "Belavia" AND ban*')).visible
        )
        removed = await kit.send(STAFF, "/rule_remove sanctions 1")
        assert "now has 1 rules" in removed.visible
        assert '1. "Belavia" AND ban*' in removed.visible
        assert "last rule" in (await kit.send(STAFF, "/rule_remove sanctions 1")).visible
        assert await kit.count(TopicRule) == 1
        listing = await kit.send(STAFF, "/rules")
        assert "sanctions*: 1" in listing.visible
        assert "extradition: 1" in listing.visible
        reset = await kit.send(STAFF, "/rule_reset sanctions")
        assert "1. sanction* OR санкц*" in reset.visible
        assert await kit.count(TopicRule) == 0
        add, remove, back = [
            (await kit.audit(a))[0] for a in ("rule.add", "rule.remove", "rule.reset")
        ]
        assert snapshot(add.before) == {"rules": ["sanction* OR санкц*"], "overridden": False}
        assert (snapshot(add.after) or {})["rules"][-1] == '"Belavia" AND ban*'
        assert (snapshot(remove.after) or {})["rules"] == ['"Belavia" AND ban*']
        assert snapshot(back.after) == {"rules": ["sanction* OR санкц*"], "overridden": False}


async def test_poll_now_runs_the_pipeline_and_reports_counts(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    pipeline = _Pipeline()
    async with staff_bot(fake_botapi, engine, pipeline=pipeline) as kit:
        pipeline.kit = kit
        answer = await kit.send(STAFF, "/poll_now")
    assert pipeline.polls == 1
    assert "Poll done: 1 feeds checked, 0 with errors, 0 new items." in answer.visible


async def test_rules_edited_in_the_bot_are_given_to_the_poller_at_start(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    database, cat = Database.on(engine), staff_catalog()
    await rules.change_rules(
        database=database,
        catalog=cat,
        staff_id=STAFF,
        topic_id="extradition",
        action="rule.add",
        edit=rules.adder(cat, "Belavia"),
        now=datetime.now(UTC),
    )
    pipeline = _Pipeline()
    async with staff_bot(fake_botapi, engine, pipeline=pipeline) as kit:
        await kit.send(STAFF, "/staff")
    hook = pipeline.poller.hook
    assert isinstance(hook, ServiceHook)
    now = datetime.now(UTC)
    entry = Entry("g", "g", None, "Belavia flights resume", "", now, "en", "h")
    prepared = hook.prepare(staff_feed("wire", "https://wire.example/rss", now), [entry])
    verdict = getattr(prepared["g"], "verdict", None)
    assert verdict is not None
    assert verdict.topics == ("extradition",)


class _BrokenPipeline(_Pipeline):
    async def poll(self) -> None:
        raise RuntimeError("the database is full")


async def test_an_unexpected_failure_gets_a_plain_answer_not_silence(
    fake_botapi: FakeBotAPI, engine: AsyncEngine
) -> None:
    async with staff_bot(fake_botapi, engine, pipeline=_BrokenPipeline()) as kit:
        answer = await kit.send(STAFF, "/poll_now")
    assert answer.visible.startswith("Something went wrong; the service log has the details.")
    assert "database is full" not in answer.visible
