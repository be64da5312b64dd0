"""/metrics and /healthz are scraped over HTTP, from a test server and from `briefbot run`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import chats
from bot.db.engine import Database, create_engine
from bot.db.tables import Feed
from bot.delivery import outbox
from bot.delivery.sender import SenderStats
from bot.observability import Observability, ServiceStatus, serve_observability
from tests.support.feedserver import FeedServer
from tests.test_console import RSS, env_for

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def scrape(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_report_stored_state_and_process_counters(
    engine: AsyncEngine, unused_tcp_port: int
) -> None:
    database = Database.on(engine)
    async with database.write() as session:
        session.add(
            Feed(
                id="a",
                url="https://a.example/rss",
                title="A",
                publisher="ngo",
                language="en",
                scope="belarus",
                interval_seconds=900,
                created_at=NOW,
                last_checked_at=NOW,
            )
        )
        session.add(
            Feed(
                id="b",
                url="https://b.example/rss",
                title="B",
                publisher="ngo",
                language="en",
                scope="belarus",
                interval_seconds=900,
                created_at=NOW,
                enabled=False,
            )
        )
        chat = await chats.add_chat(session=session, chat_id=5, kind="private", now=NOW)
        await outbox.enqueue(
            session=session,
            rows=[
                outbox.outbox_row(
                    chat_pk=chat.id or 0, kind="alert", ref=f"item:{i}", body="x", now=NOW
                )
                for i in range(3)
            ],
        )
    status = ServiceStatus(leading=True, scheduler_running=True)
    status.record_poll(new_items=7, seconds=1.5, now=NOW)
    sends = SenderStats(sent=11, retry_after=2)
    sends.count("forbidden")
    runner = await serve_observability(
        Observability(database, status, sends), "127.0.0.1", unused_tcp_port
    )
    try:
        code, text = await scrape(f"http://127.0.0.1:{unused_tcp_port}/metrics")
        health_code, health = await scrape(f"http://127.0.0.1:{unused_tcp_port}/healthz")
    finally:
        await runner.cleanup()
    assert code == 200
    values = samples(text)
    assert values[("briefbot_feeds", (("state", "ok"),))] == 1
    assert values[("briefbot_feeds", (("state", "paused"),))] == 1
    assert values[("briefbot_outbox_rows", (("state", "pending"),))] == 3
    assert values[("briefbot_outbox_rows", (("state", "sent"),))] == 0
    assert values[("briefbot_poll_new_items_total", ())] == 7
    assert values[("briefbot_messages_sent_total", ())] == 11
    assert values[("briefbot_retry_after_total", ())] == 2
    assert values[("briefbot_send_failures_total", (("kind", "forbidden"),))] == 1
    assert values[("briefbot_leader", ())] == 1
    assert "5" not in {label for key in values for _, label in key[1]}  # no chat ids
    assert health_code == 200
    assert '"database": true' in health


async def test_health_is_503_when_the_database_is_unreachable(unused_tcp_port: int) -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    status = ServiceStatus(leading=True, scheduler_running=True)
    runner = await serve_observability(
        Observability(Database.on(engine), status, SenderStats()), "127.0.0.1", unused_tcp_port
    )
    try:
        code, body = await scrape(f"http://127.0.0.1:{unused_tcp_port}/healthz")
    finally:
        await runner.cleanup()
        await engine.dispose()
    assert code == 503
    assert '"database": false' in body


async def test_the_running_service_serves_health_and_metrics(
    tmp_path: Path, feed_server: FeedServer, unused_tcp_port: int
) -> None:
    feed_server.add("/feed.xml", RSS)
    env = {**os.environ, **env_for(tmp_path, feed_server), "METRICS_PORT": str(unused_tcp_port)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    health = ""
    try:
        async with asyncio.timeout(30):
            while '"last_poll_age_seconds": null' in health or not health:
                await asyncio.sleep(0.2)
                try:
                    _, health = await scrape(f"http://127.0.0.1:{unused_tcp_port}/healthz")
                except aiohttp.ClientError:
                    continue
        code, text = await scrape(f"http://127.0.0.1:{unused_tcp_port}/metrics")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    assert '"leader": true' in health
    assert code == 200
    assert samples(text)[("briefbot_poll_new_items_total", ())] == 2
