"""The fetcher asks the caller before it reads a body, and only then (bodies held at once)."""

from __future__ import annotations

import asyncio

from bot.ingest.fetch import Fetcher
from bot.ingest.types import FetchResult, NotModified, Validators
from tests.support.feedserver import FeedServer
from tests.test_fetch import RSS, expect_error, loopback_policy


class Admissions:
    """An admit_body callback that records its calls and can make them wait."""

    def __init__(self, wait_seconds: float = 0.0) -> None:
        self.calls = 0
        self.wait_seconds = wait_seconds

    async def __call__(self) -> None:
        self.calls += 1
        await asyncio.sleep(self.wait_seconds)


async def test_a_body_is_read_only_after_admission(feed_server: FeedServer) -> None:
    feed_server.add("/rss", RSS, etag='"v1"')
    admit = Admissions()
    async with Fetcher(loopback_policy()) as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"), admit_body=admit)
    assert isinstance(result, FetchResult)
    assert result.body == RSS
    assert admit.calls == 1


async def test_a_304_or_an_error_status_asks_for_no_admission(feed_server: FeedServer) -> None:
    feed_server.add("/rss", RSS, etag='"v1"')
    feed_server.add("/gone", b"gone", status=410)
    admit = Admissions()
    async with Fetcher(loopback_policy()) as fetcher:
        cached = await fetcher.fetch(
            feed_server.url("/rss"), Validators(etag='"v1"'), admit_body=admit
        )
        error = await expect_error(fetcher.fetch(feed_server.url("/gone"), admit_body=admit))
    assert isinstance(cached, NotModified)
    assert error.reason == "http_status"
    assert admit.calls == 0


async def test_a_redirect_chain_asks_once_for_the_final_body(feed_server: FeedServer) -> None:
    feed_server.add("/rss", RSS)
    feed_server.redirect("/old", "/mid", status=302)
    feed_server.redirect("/mid", "/rss", status=301)
    admit = Admissions()
    async with Fetcher(loopback_policy()) as fetcher:
        result = await fetcher.fetch(feed_server.url("/old"), admit_body=admit)
    assert isinstance(result, FetchResult)
    assert admit.calls == 1


async def test_waiting_for_admission_is_not_charged_to_the_total_timeout(
    feed_server: FeedServer,
) -> None:
    # The queue for bodies is the cycle's doing: a feed that waited longer than its whole
    # fetch budget still gets its body read, within the budget that is left.
    feed_server.add("/rss", RSS)
    admit = Admissions(wait_seconds=1.5)
    async with Fetcher(loopback_policy(total_timeout=1.0)) as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"), admit_body=admit)
    assert isinstance(result, FetchResult)
    assert result.body == RSS


async def test_a_stalled_body_still_times_out_after_admission(feed_server: FeedServer) -> None:
    feed_server.slow("/slow", every_seconds=10.0)
    admit = Admissions()
    policy = loopback_policy(total_timeout=0.5, read_timeout=5.0)
    async with Fetcher(policy) as fetcher:
        error = await expect_error(fetcher.fetch(feed_server.url("/slow"), admit_body=admit))
    assert error.reason == "timeout"
    assert admit.calls == 1
