"""Runs parse_feed in worker processes with a time limit and a memory ceiling.

feedparser is pure Python and some documents make it run for minutes (feedparser issue 562)
or allocate without bound; a worker process can be killed, a thread cannot. Workers are
forked from a clean "forkserver" process rather than from the bot itself, which runs
threads (forking those risks deadlocks on locks held by other threads). As with every start
method but "fork", the program's main module must be import-safe (`if __name__ ==
"__main__":`), because the fork server imports it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import threading
from collections.abc import Mapping
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from bot.errors import ParseError
from bot.ingest.types import ParsedFeed

if TYPE_CHECKING:
    # pebble and the parser (feedparser, charset_normalizer) are imported when the first
    # parse starts the pool: a poll where no feed changed never needs them in this process.
    from pebble import ProcessPool

log = logging.getLogger(__name__)

GIB = 1024**3
# A worker is recycled after this many feeds, so a slow leak in a parser library stays small.
TASKS_PER_WORKER = 500


def _limit_worker(memory_headroom: int) -> None:
    """Worker initializer: cap the address space and disable core dumps."""
    try:
        # No core files when a worker is killed for CPU time (SIGXCPU) or memory.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        current = _address_space()
        if memory_headroom > 0 and current is not None:
            # Relative to what the worker already maps (interpreter, libraries): an entity
            # or list blow-up then fails with MemoryError instead of swapping the machine.
            limit = current + memory_headroom
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError) as exc:  # e.g. a container forbids it: run unlimited, loudly
        log.warning("parser worker: resource limits not applied: %s", exc)


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _parse_in_worker(body: bytes, cpu_seconds: float, options: dict[str, Any]) -> ParsedFeed:
    """Task body: arm a CPU-time limit for this task, then parse."""
    if cpu_seconds > 0:
        # RLIMIT_CPU counts the whole process, so it is re-armed per task from what is used
        # already. The wall-clock timeout normally fires first; this limit is the backstop
        # that still kills a runaway worker when the bot process is gone or stuck.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(usage.ru_utime + usage.ru_stime + cpu_seconds) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    from bot.ingest.parse import parse_feed  # preloaded by the fork server: a dict look-up

    try:
        return parse_feed(body, **options)
    except MemoryError:
        pass  # leaving the handler frees what the traceback pinned, so the reply can be sent
    raise ParseError("parse_crashed", "the parser ran out of memory")


class ParserPool:
    """A pool of parser processes; `parse` never blocks the event loop."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        timeout: float = 10.0,
        memory_headroom: int = GIB,
        cpu_seconds: float | None = None,
    ) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._timeout = timeout
        self._memory_headroom = memory_headroom
        # Generous next to the wall-clock timeout: waiting for a pipe costs no CPU time.
        self._cpu_seconds = cpu_seconds if cpu_seconds is not None else timeout * 2 + 5
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _new_pool(self) -> ProcessPool:
        from pebble import ProcessPool

        context = multiprocessing.get_context("forkserver")
        # Imported once in the fork server, so each new worker starts ready to parse (this
        # module too: workers unpickle their task functions from it).
        context.set_forkserver_preload(["bot.ingest.parse", "bot.ingest.parsepool"])
        return ProcessPool(
            max_workers=self._workers,
            max_tasks=TASKS_PER_WORKER,
            initializer=_limit_worker,
            initargs=(self._memory_headroom,),
            context=context,
        )

    def _running_pool(self) -> ProcessPool:
        """The pool, (re)started if needed; may block briefly, so callers use a thread."""
        with self._lock:
            if self._closed:
                raise RuntimeError("ParserPool is closed")
            if self._pool is None or not self._pool.active:
                if self._pool is not None:
                    log.warning("parser pool broke; starting a new one")
                    self._pool.stop()  # type: ignore[no-untyped-call]  # pebble lacks a hint
                    self._pool.join(timeout=10)
                self._pool = self._new_pool()
                # The first schedule starts the workers (and the fork server): warm them up.
                self._pool.schedule(os.getpid).result(timeout=60)
            return self._pool

    async def start(self) -> None:
        """Start the worker processes without blocking the event loop."""
        await asyncio.to_thread(self._running_pool)

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        headers: Mapping[str, str],
        now: datetime,
        language: str,
        max_entries: int,
    ) -> ParsedFeed:
        """Parse one feed body in a worker; every failure is a ParseError with a reason."""
        from pebble import ProcessExpired

        pool = self._pool
        if pool is None or not pool.active:
            pool = await asyncio.to_thread(self._running_pool)
        options = {"url": url, "headers": dict(headers), "now": now, "language": language,
                   "max_entries": max_entries}  # fmt: skip
        try:
            future = pool.schedule(
                _parse_in_worker, args=(body, self._cpu_seconds, options), timeout=self._timeout
            )
            return await asyncio.wrap_future(future)
        except ParseError:
            raise
        except TimeoutError as exc:
            raise ParseError("parse_timeout", f"no result within {self._timeout:g} s") from exc
        except (ProcessExpired, BrokenProcessPool, MemoryError) as exc:
            raise ParseError("parse_crashed", _crash_detail(exc)) from exc
        except Exception as exc:  # a bug in a parser library must not stop the poll cycle
            log.exception("parser worker failed url=%s", url)
            raise ParseError("parse_failed", type(exc).__name__) from exc

    def close(self) -> None:
        """Stop the workers (a running parse is abandoned); safe to call twice."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()  # type: ignore[no-untyped-call]  # pebble lacks a hint
            pool.join(timeout=10)

    async def __aenter__(self) -> Self:
        # Workers start with the first parse: a cycle where nothing changed never pays for them.
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)


def _crash_detail(exc: BaseException) -> str:
    from pebble import ProcessExpired

    if isinstance(exc, MemoryError):
        return "the parser ran out of memory"
    if isinstance(exc, ProcessExpired):
        return f"the parser process died (exit code {exc.exitcode})"
    return "the parser pool broke"
