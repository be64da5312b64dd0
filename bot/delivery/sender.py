"""Drains the outbox into a Transport within Telegram's limits, applying the error policy."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
import uuid
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import chats
from bot.db.engine import Database
from bot.db.tables import Chart
from bot.delivery import outbox
from bot.delivery.outbox import SENT, Claimed
from bot.delivery.pacing import WINDOW_SECONDS, Pacer, SendLimits
from bot.delivery.policy import Decision, decide
from bot.delivery.transport import Failure, SendError, Sent, Transport
from bot.logs import chat_tag

log = logging.getLogger(__name__)

# Telegram answered and delivered nothing: the request should not count against the global
# rate (a 429 does count, and a timeout may have delivered).
REFUSED_UNDELIVERED = frozenset(
    {
        Failure.FORBIDDEN,
        Failure.MIGRATED,
        Failure.BAD_ENTITIES,
        Failure.CHAT_NOT_FOUND,
        Failure.BAD_REQUEST,
        Failure.NOT_SENT,
    }
)


def utc_now() -> datetime:
    """The wall clock, aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    """How the sender batches, leases and retries."""

    limits: SendLimits = field(default_factory=SendLimits)
    concurrency: int = 8
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 10
    idle_poll_seconds: float = 1.0
    # Release claimed rows rather than sit on them through a long global pause.
    release_after_pause_seconds: float = 60.0


@dataclass(slots=True)
class SenderStats:
    """Counts since start (for logs, metrics and benchmarks)."""

    sent: int = 0
    retry_after: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        """Count one failure of a kind."""
        self.failures[kind] = self.failures.get(kind, 0) + 1


class Sender:
    """Claims due rows, paces them, sends them, and records each outcome."""

    def __init__(
        self,
        *,
        database: Database,
        transport: Transport,
        policy: SenderPolicy | None = None,
        now: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        on_long_pause: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        self._db = database
        self._transport = transport
        self.policy = policy or SenderPolicy()
        self._now = now
        self.pacer = Pacer(self.policy.limits, monotonic)
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self.owner = f"sender-{uuid.uuid4().hex[:12]}"
        self.stats = SenderStats()
        self.halted: str | None = None
        self._queue: list[tuple[float, int, Claimed]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._charts: dict[str, str] = {}  # chart key -> Telegram file_id
        self._on_long_pause = on_long_pause
        self._reported_pause_until = 0.0
        self._next_claim_at = 0.0
        self._retries: list[float] = []  # monotonic times this sender's retries fall due
        self._claiming: asyncio.Task[None] | None = None
        self._refunded = asyncio.Event()  # a refused send gave capacity back: look again
        self._departures: deque[float] = deque()  # when the last second's requests left

    def wake(self) -> None:
        """New rows were enqueued: look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def take_over(self) -> None:
        """Become the only sender: inherit the leases of any earlier one (see outbox.take_over)."""
        async with self._db.write() as session:
            uncertain, released = await outbox.take_over(session=session, owner=self.owner)
        if uncertain:
            log.warning("outbox rows=%d left sending by an earlier sender: uncertain", uncertain)
        if released:
            log.info("outbox rows=%d leased by an earlier sender: back in the queue", released)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set (or a 401 halts sending)."""
        try:
            while not stop.is_set() and self.halted is None:
                if not await self.step():
                    await self._idle(stop)
        finally:
            await self._finish()

    async def drain(self, *, within_seconds: float = 60.0) -> None:
        """Send until nothing is due or in flight (tests, console mode, benchmarks)."""
        deadline = self._monotonic() + within_seconds
        try:
            while self.halted is None and self._monotonic() < deadline:
                if await self.step() or self._queue or self._tasks:
                    await asyncio.sleep(0)
                    continue
                self._next_claim_at = 0.0  # idle: make sure the outbox is really empty
                await self._top_up()
                if not self._queue:
                    return
        finally:
            await self._finish()

    async def step(self) -> bool:
        """Top up the queue and start every send whose time has come; False when idle."""
        if self._queue:
            # Claim in the background: a send waiting on a claim transaction is pacing lost.
            self._top_up_in_background()
        else:
            await self._top_up()
        if not self._queue:
            if not self._tasks:
                return False
            # Nothing to start: wait for a send to finish instead of spinning on the loop.
            await asyncio.wait(set(self._tasks), timeout=0.05, return_when=FIRST_COMPLETED)
            return True
        ready_at, _, row = self._queue[0]
        wait = max(ready_at, self.pacer.ready_at(row.chat_id, is_group=row.is_group))
        wait -= self._monotonic()
        if len(self._tasks) >= self.policy.concurrency:
            # Every slot is busy: wait for a send to finish rather than poll for one.
            await asyncio.wait(set(self._tasks), timeout=0.25, return_when=FIRST_COMPLETED)
            return True
        if wait > 0:
            if self.pacer.paused_for > self.policy.release_after_pause_seconds:
                await self._release_queue()
            await self._sleep_unless_refunded(min(wait, 0.25))
            return True
        heapq.heappop(self._queue)
        spent_at = self.pacer.record_send(row.chat_id, is_group=row.is_group)
        task = asyncio.create_task(self._deliver(row, spent_at))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _sleep_unless_refunded(self, seconds: float) -> None:
        self._refunded.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._refunded.wait(), seconds)

    def _top_up_in_background(self) -> None:
        if self._claiming is not None and self._claiming.done():
            claiming, self._claiming = self._claiming, None
            claiming.result()  # a failed claim fails the step, as an inline one would
        if self._claiming is None:
            self._claiming = asyncio.create_task(self._claim_more())

    async def _top_up(self) -> None:
        if self._claiming is not None and not self._claiming.done():
            await asyncio.shield(self._claiming)  # one claim at a time
            return
        await self._claim_more()

    async def _claim_more(self) -> None:
        capacity = max(int(self.policy.limits.per_second * 2), self.policy.concurrency * 2)
        if len(self._queue) + len(self._tasks) >= capacity // 2:
            return
        if self._monotonic() < self._next_claim_at and not self._wake.is_set():
            return
        self._wake.clear()
        wanted = capacity - len(self._queue) - len(self._tasks)
        now = self._now()
        async with self._db.write() as session:
            stale = await outbox.recover_stale(session=session, now=now)
            claimed = await outbox.claim(
                session=session,
                owner=self.owner,
                now=now,
                limit=wanted,
                lease=self.policy.lease,
            )
        # A short claim means the outbox is (nearly) drained: do not ask again at once.
        self._next_claim_at = self._monotonic() + (0.0 if len(claimed) == wanted else 0.2)
        if stale:
            log.warning("outbox rows=%d left sending by a dead worker: marked uncertain", stale)
        for row in claimed:
            ready = self.pacer.chat_ready_at(row.chat_id, is_group=row.is_group)
            heapq.heappush(self._queue, (ready, row.id, row))

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=self._idle_timeout(), return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in pending:
            waiter.cancel()

    def _idle_timeout(self) -> float:
        """Until the next poll, or sooner when a retry this sender scheduled falls due."""
        now = self._monotonic()
        due = False
        while self._retries and self._retries[0] <= now:
            heapq.heappop(self._retries)
            due = True
        if due:
            self._next_claim_at = 0.0  # claim the retry at once
            return 0.0
        if self._retries:
            return min(self.policy.idle_poll_seconds, self._retries[0] - now)
        return self.policy.idle_poll_seconds

    async def _release_queue(self) -> None:
        ids = [row.id for _, _, row in self._queue]
        self._queue.clear()
        async with self._db.write() as session:
            await outbox.release(session=session, owner=self.owner, row_ids=ids)

    async def _finish(self) -> None:
        if self._claiming is not None:
            await asyncio.gather(self._claiming, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._queue:
            await self._release_queue()

    async def _deliver(self, row: Claimed, spent_at: float) -> None:
        try:
            async with self._db.write() as session:
                if self.halted is not None:  # a 401 came back while this one waited
                    await outbox.release(session=session, owner=self.owner, row_ids=[row.id])
                    return
                marked = await outbox.mark_sending(
                    session=session,
                    row_id=row.id,
                    owner=self.owner,
                    lease_until=self._now() + self.policy.lease,
                )
                if not marked:
                    return  # the lease expired and another worker has it
            # Pacing decided when this row could go; the write above took its own time, so
            # the request itself also waits its turn (no burst of writes finishing together).
            departed_at = await self._depart()
            try:
                sent = await self._send(row)
            except SendError as failure:
                if failure.kind in REFUSED_UNDELIVERED:
                    self.pacer.refund(spent_at)
                    with contextlib.suppress(ValueError):  # already out of the window
                        self._departures.remove(departed_at)
                    self._refunded.set()
                await self._failed(row, failure)
            else:
                await self._succeeded(row, sent)
        except Exception:
            # The row stays `sending` under its lease and becomes uncertain: never resent blindly.
            log.exception("outbox=%d delivery crashed", row.id)

    async def _depart(self) -> float:
        """Wait until a request may leave with at most `per_second` leaving in any second."""
        cap = max(int(self.policy.limits.per_second), 1)
        while True:
            now = self._monotonic()
            while self._departures and self._departures[0] + WINDOW_SECONDS <= now:
                self._departures.popleft()
            if len(self._departures) < cap:
                self._departures.append(now)
                return now
            await asyncio.sleep(self._departures[-cap] + WINDOW_SECONDS - now)

    async def _send(self, row: Claimed) -> Sent:
        if row.chart_key is None:
            return await self._transport.send_text(row.chat_id, row.body, row.parse_mode)
        photo: bytes | str | None = self._charts.get(row.chart_key)
        if photo is None:
            async with self._db.read() as session:
                chart = await session.get(Chart, row.chart_key)
            if chart is None:
                raise SendError(Failure.BAD_REQUEST, f"chart {row.chart_key} is gone")
            photo = chart.file_id or chart.png
        return await self._transport.send_photo(row.chat_id, photo, row.body, row.parse_mode)

    async def _succeeded(self, row: Claimed, sent: Sent) -> None:
        async with self._db.write() as session:
            await outbox.settle(
                session=session,
                row_id=row.id,
                state=SENT,
                now=self._now(),
                message_id=sent.message_id,
            )
            if row.chart_key and sent.file_id and row.chart_key not in self._charts:
                self._charts[row.chart_key] = sent.file_id
                await session.execute(
                    update(Chart)
                    .where(col(Chart.key) == row.chart_key)
                    .values(file_id=sent.file_id)
                )
        self.stats.sent += 1
        self.pacer.record_success()

    async def _failed(self, row: Claimed, failure: SendError) -> None:
        self.stats.count(failure.kind.value)
        now = self._now()
        decision = decide(
            row,
            failure,
            now=now,
            attempts=row.attempts + 1,
            max_attempts=self.policy.max_attempts,
            rng=self._rng,
        )
        if failure.retry_after:
            self.stats.retry_after += 1
            self.pacer.record_retry_after(row.chat_id, failure.retry_after)
            await self._report_long_pause()
        if decision.retry_at is not None:
            wait = (decision.retry_at - now).total_seconds()
            heapq.heappush(self._retries, self._monotonic() + max(wait, 0.0))
        async with self._db.write() as session:
            await outbox.settle(
                session=session,
                row_id=row.id,
                state=decision.state,
                now=now,
                error=decision.error,
                retry_at=decision.retry_at,
                values=decision.values,
            )
            await self._apply_to_chat(session, row, decision)
        if decision.halt and self.halted is not None:
            return  # requests in flight together all get the 401: one alert is enough
        self._log_failure(row, decision)
        if decision.halt:
            self.halted = decision.error

    async def _apply_to_chat(self, session: AsyncSession, row: Claimed, decision: Decision) -> None:
        if decision.delete_chat:
            await chats.delete_chat(session=session, chat_pk=row.chat_pk)
        elif decision.migrate_to is not None:
            await chats.migrate_chat(
                session=session, old_id=row.chat_id, new_id=decision.migrate_to
            )

    async def _report_long_pause(self) -> None:
        """Tell staff once per pause when Telegram holds all sending back for a long time."""
        paused = self.pacer.paused_for
        if paused < self.policy.release_after_pause_seconds or self._on_long_pause is None:
            return
        now = self._monotonic()
        if now < self._reported_pause_until:
            return  # the same pause, perhaps extended by later 429s
        self._reported_pause_until = now + paused
        log.error("sending paused by Telegram's flood control for %.0f s", paused)
        await self._on_long_pause(paused)

    def _log_failure(self, row: Claimed, decision: Decision) -> None:
        chat = chat_tag(row.chat_id)
        if decision.halt:
            log.critical(
                "sending stopped: Telegram refused the bot token (401); the outbox is kept; "
                "replace BOT_TOKEN and restart"
            )
        elif decision.delete_chat:
            log.info("outbox=%d chat=%s refused us (403): chat and its queue deleted", row.id, chat)
        else:
            log.warning(
                "outbox=%d chat=%s state=%s %s", row.id, chat, decision.state, decision.error
            )
