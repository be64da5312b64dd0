"""/metrics (Prometheus text format) and /healthz on an optional port, off by default.

Gauges about stored state (feeds by state, outbox by state, matched items per topic) are
read from the database when scraped, so every instance reports the same truth; counters
about this process (polls, sends, 429s, failures by kind) come from memory since start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlmodel import col

from bot.db.engine import Database
from bot.db.tables import Feed, ItemTopic
from bot.delivery import outbox
from bot.delivery.sender import SenderStats
from bot.ingest.health import feed_state

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ServiceStatus:
    """What this process did since start, and what it is doing now."""

    cycles: int = 0
    new_items: int = 0
    seconds_total: float = 0.0
    last_completed_at: datetime | None = None
    leading: bool = False
    scheduler_running: bool = False

    def record_poll(self, *, new_items: int, seconds: float, now: datetime) -> None:
        """Count one completed poll cycle."""
        self.cycles += 1
        self.new_items += new_items
        self.seconds_total += seconds
        self.last_completed_at = now


@dataclass(slots=True)
class Snapshot:
    """Database-derived gauges, read at scrape time."""

    feeds_by_state: dict[str, int] = field(default_factory=dict)
    outbox_by_state: dict[str, int] = field(default_factory=dict)
    matched_by_topic: dict[str, int] = field(default_factory=dict)


class BriefbotCollector(Collector):
    """Yields the current snapshot and this process's counters."""

    def __init__(self, status: ServiceStatus, sends: SenderStats) -> None:
        self.snapshot = Snapshot()
        self._polls = status
        self._sends = sends

    def collect(self) -> Iterator[Metric]:
        """Every briefbot metric."""
        yield _gauge(
            "briefbot_feeds", "Feeds by health state", "state", self.snapshot.feeds_by_state
        )
        yield _gauge(
            "briefbot_outbox_rows", "Outbox rows by state", "state", self.snapshot.outbox_by_state
        )
        yield _gauge(
            "briefbot_matched_items",
            "Stored relevant items per topic",
            "topic",
            self.snapshot.matched_by_topic,
        )
        yield CounterMetricFamily(
            "briefbot_poll_cycles", "Poll cycles completed", value=self._polls.cycles
        )
        yield CounterMetricFamily(
            "briefbot_poll_new_items", "New items stored by polls", value=self._polls.new_items
        )
        yield CounterMetricFamily(
            "briefbot_poll_seconds", "Time spent in poll cycles", value=self._polls.seconds_total
        )
        yield CounterMetricFamily(
            "briefbot_messages_sent", "Messages Telegram accepted", value=self._sends.sent
        )
        yield CounterMetricFamily(
            "briefbot_retry_after", "429 answers received", value=self._sends.retry_after
        )
        failures = CounterMetricFamily(
            "briefbot_send_failures", "Failed sends by kind", labels=["kind"]
        )
        for kind, count in sorted(self._sends.failures.items()):
            failures.add_metric([kind], count)
        yield failures
        yield GaugeMetricFamily(
            "briefbot_leader", "1 when this process leads", value=int(self._polls.leading)
        )


def _gauge(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


async def read_snapshot(database: Database) -> Snapshot:
    """Count feeds by state, outbox rows by state and relevant items per topic."""
    snapshot = Snapshot()
    async with database.read() as session:
        for feed in (await session.scalars(select(Feed))).all():
            state = feed_state(feed)
            snapshot.feeds_by_state[state] = snapshot.feeds_by_state.get(state, 0) + 1
        snapshot.outbox_by_state = await outbox.count_by_state(session=session)
        rows = await session.execute(
            select(col(ItemTopic.topic_id), func.count()).group_by(col(ItemTopic.topic_id))
        )
        snapshot.matched_by_topic = {topic: int(n) for topic, n in rows}
    return snapshot


@dataclass
class Observability:
    """The /metrics and /healthz endpoints for one process."""

    database: Database
    status: ServiceStatus
    sends: SenderStats

    def app(self) -> web.Application:
        """The aiohttp application with both routes."""
        registry = CollectorRegistry(auto_describe=True)
        collector = BriefbotCollector(self.status, self.sends)
        registry.register(collector)

        async def metrics(_: web.Request) -> web.Response:
            collector.snapshot = await read_snapshot(self.database)
            body = generate_latest(registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        async def healthz(_: web.Request) -> web.Response:
            checks = await self.health(datetime.now(UTC))
            healthy = checks["database"] is True and checks["scheduler"] is True
            return web.json_response(checks, status=200 if healthy else 503)

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/healthz", healthz)
        return app

    async def health(self, now: datetime) -> dict[str, object]:
        """Database reachable, scheduler alive (when leading), age of the last completed poll."""
        try:
            async with self.database.read() as session:
                await session.execute(text("SELECT 1"))
            database_ok = True
        except Exception:  # reported, not raised: a health check must answer
            log.warning("health: database unreachable", exc_info=True)
            database_ok = False
        last = self.status.last_completed_at
        return {
            "database": database_ok,
            # A standby runs no scheduler, and that is healthy.
            "scheduler": self.status.scheduler_running or not self.status.leading,
            "leader": self.status.leading,
            "last_poll_age_seconds": None
            if last is None
            else round((now - last).total_seconds(), 1),
        }


async def serve_observability(observability: Observability, host: str, port: int) -> web.AppRunner:
    """Start the endpoints on host:port; the caller cleans the runner up."""
    runner = web.AppRunner(observability.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics and health on port %d", port)
    return runner
