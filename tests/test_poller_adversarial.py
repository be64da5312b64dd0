"""ADVERSARIAL.md cases A1, A9, A15 and A18 end to end through the poller (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.test_poller import NOW, Harness, entries, rss
from tests.test_poller import harness as harness  # noqa: PLC0414  (the fixture)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ("<html><body><form>Log in</form></body></html>", "text/html", "not_a_feed"),
        ('{"error": "quota exceeded"}', "application/json", "not_a_feed"),
        ("", "application/rss+xml", "empty_body"),
    ],
)
async def test_non_feed_answers_count_as_errors_with_a_reason(
    harness: Harness, body: str, content_type: str, reason: str
) -> None:
    harness.server.add("/f.xml", body, content_type=content_type)
    await harness.add_feed("f", "/f.xml")
    await harness.poller.poll_due_feeds(NOW)
    feed = await harness.feed("f")
    assert feed.consecutive_errors == 1
    assert feed.last_error_reason == reason
    assert await harness.item_keys("f") == []


async def test_malformed_but_readable_xml_is_stored(harness: Harness) -> None:
    broken = rss(entries(3)).replace("</title><description>About a1", "<description>About a1")
    harness.server.add("/f.xml", broken)
    await harness.add_feed("f", "/f.xml")
    report = await harness.poller.poll_due_feeds(NOW)
    assert report.outcomes[0].status == "new"
    assert len(await harness.item_keys("f")) >= 2
    assert (await harness.feed("f")).consecutive_errors == 0


async def test_entity_bomb_beside_a_healthy_feed_only_fails_itself(harness: Harness) -> None:
    levels = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "ha">{levels}]>'
        "<rss><channel><title>&l9;</title></channel></rss>"
    )
    harness.server.add("/bomb.xml", bomb)
    harness.server.add("/ok.xml", rss(entries(4)))
    await harness.add_feed("bomb", "/bomb.xml")
    await harness.add_feed("ok", "/ok.xml")
    report = await harness.poller.poll_due_feeds(NOW)
    by_id = {o.feed_id: o for o in report.outcomes}
    assert by_id["ok"].new_items == 4
    assert by_id["bomb"].error is not None
    assert by_id["bomb"].error.reason == "xml_entities_forbidden"


async def test_same_text_under_a_new_guid_and_link_is_not_stored_twice(harness: Harness) -> None:
    harness.server.add("/f.xml", rss([("g1", "https://n.example/a", "Court jails Viasna lawyer")]))
    await harness.add_feed("f", "/f.xml")
    await harness.poller.poll_due_feeds(NOW)
    moved = rss([("g2", "https://n.example/b", "Court jails Viasna lawyer")])
    harness.server.add("/f.xml", moved)
    report = await harness.poller.poll_due_feeds(NOW + timedelta(hours=2))
    assert report.new_items == 0
    assert await harness.item_keys("f") == ["g1"]


async def test_the_same_shared_guid_items_are_not_stored_again_on_the_next_poll(
    harness: Harness,
) -> None:
    shared = [("same", "https://n.example/live", f"Update {i}") for i in range(50)]
    harness.server.add("/f.xml", rss(shared))
    await harness.add_feed("f", "/f.xml")
    await harness.poller.poll_due_feeds(NOW)
    harness.server.add("/f.xml", rss(shared) + " ")  # a new body hash: parsed again
    report = await harness.poller.poll_due_feeds(NOW + timedelta(hours=1))
    assert report.new_items == 0
    assert len(await harness.item_keys("f")) == 50
