"""ParserPool: parsing in killable worker processes, off the event loop (A5 and limits)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.ingest.parse import parse_feed
from bot.ingest.parsepool import ParserPool
from bot.ingest.types import ParsedFeed
from tests.support.feeds_gen import NOW, billion_laughs, item, redos_authors, rss

REALFEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "realfeeds"
TUTBY = REALFEEDS / "newscloning__tutby_all_2019-12-30.rss"


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    """One two-worker pool for the module: starting workers costs a few hundred ms."""
    parser = ParserPool(workers=2, timeout=2.0)
    yield parser
    parser.close()


async def run(pool: ParserPool, body: bytes, *, max_entries: int = 500) -> ParsedFeed:
    return await pool.parse(
        body, url="https://feeds.example/", headers={}, now=NOW, language="ru",
        max_entries=max_entries,
    )  # fmt: skip


async def reason(pool: ParserPool, body: bytes, *, max_entries: int = 500) -> str:
    with pytest.raises(ParseError) as caught:
        await run(pool, body, max_entries=max_entries)
    return caught.value.reason


async def test_worker_result_equals_parsing_in_process(pool: ParserPool) -> None:
    body = TUTBY.read_bytes()
    expected = parse_feed(body, url="https://feeds.example/", headers={}, now=NOW, language="ru")
    assert await run(pool, body) == expected


async def test_parse_errors_from_the_worker_keep_their_reason(pool: ParserPool) -> None:
    assert await reason(pool, b"") == "empty_body"
    assert await reason(pool, b'{"error": "nope"}') == "not_a_feed"
    started = time.perf_counter()
    assert await reason(pool, billion_laughs()) == "xml_entities_forbidden"
    assert time.perf_counter() - started < 2.0


async def test_redos_feed_times_out_while_the_event_loop_keeps_ticking(pool: ParserPool) -> None:
    """A5: feedparser's author regex backtracks for minutes; the worker is killed at 2 s."""
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    outcome: ParsedFeed | ParseError
    try:
        outcome = await run(pool, redos_authors())
    except ParseError as exc:
        outcome = exc
    finally:
        ticking.cancel()
    elapsed = time.perf_counter() - started
    if isinstance(outcome, ParseError):
        assert outcome.reason == "parse_timeout"
        assert 1.9 < elapsed < 6.0
        assert len(gaps) > 50
    else:  # a feedparser that no longer backtracks must finish within the budget
        assert len(outcome.entries) == 200
        assert elapsed < 2.0
    assert max(gaps) < 0.5  # the loop never stalled (a bot must answer within 1 s)
    # The killed worker was replaced: the pool still parses.
    assert len((await run(pool, TUTBY.read_bytes())).entries) == 100


async def test_feeds_parse_concurrently(pool: ParserPool) -> None:
    body = TUTBY.read_bytes()
    results = await asyncio.gather(*(run(pool, body) for _ in range(6)))
    assert [len(r.entries) for r in results] == [100] * 6


def wordy_feed(items: int) -> bytes:
    """About 0.5 MB of text per item."""
    return rss([item(title=f"t{n}", description="word " * 100_000) for n in range(items)]).encode()


async def test_memory_blowup_while_parsing_is_a_crash_not_a_hang() -> None:
    async with ParserPool(workers=1, timeout=30.0, memory_headroom=16 * 1024**2) as small:
        # 5 MB arrive fine, but decoding and parsing take several copies: far over 16 MB.
        with pytest.raises(ParseError) as caught:
            await run(small, wordy_feed(10))
        assert (caught.value.reason, caught.value.detail) == (
            "parse_crashed",
            "the parser ran out of memory",
        )
        assert len((await run(small, TUTBY.read_bytes())).entries) == 100


async def test_worker_dying_of_memory_is_replaced() -> None:
    async with ParserPool(workers=1, timeout=30.0, memory_headroom=16 * 1024**2) as small:
        # 20 MB cannot even be received under the limit: the worker process dies.
        assert await reason(small, wordy_feed(40)) == "parse_crashed"
        assert len((await run(small, TUTBY.read_bytes())).entries) == 100


async def test_cpu_time_limit_kills_a_runaway_worker() -> None:
    """The per-task RLIMIT_CPU backstop works even when the wall-clock timeout is far away."""
    async with ParserPool(workers=1, timeout=60.0, cpu_seconds=1.0) as limited:
        started = time.perf_counter()
        assert await reason(limited, redos_authors()) == "parse_crashed"
        assert time.perf_counter() - started < 15.0


async def test_close_is_idempotent_and_a_closed_pool_refuses_work() -> None:
    parser = ParserPool(workers=1, timeout=5.0)
    await parser.start()
    parser.close()
    parser.close()
    with pytest.raises(RuntimeError, match="closed"):
        await run(parser, TUTBY.read_bytes())
