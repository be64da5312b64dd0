"""What every command shares: settings and catalog loading, and turning errors into exit codes.

Only typer, rich's console and light briefbot modules are imported here: `briefbot --help`
and every command import this module, so settings (pydantic), the catalog and SQLAlchemy
are imported by the functions that need them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from bot.errors import BriefbotError, ConfigError, StorageError
from bot.logs import configure_logging

if TYPE_CHECKING:
    from bot.config.catalog import Catalog, LenientLoad
    from bot.config.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
EXIT_CONFIG = 2
EXIT_FAILURE = 1

# The collector's thresholds as the process started: what a long-running service runs with.
SERVICE_GC_THRESHOLD = gc.get_threshold()
# Start-up creates a few hundred thousand objects that live until exit (modules, classes,
# SQLAlchemy and pydantic schemas). With Python's default first threshold (700) the collector
# walks them hundreds of times while they are made: about 0.1 CPU-s, some 5% of a one-off
# `poll --once` where nothing changed. Collected every 20,000 allocations instead, the
# garbage waiting meanwhile is a few megabytes at most.
ONE_OFF_GC_GEN0 = 20_000

# soft_wrap: an error stays one line, whatever the terminal width.
out = Console()
err = Console(stderr=True, soft_wrap=True)


def one_off_gc() -> None:
    """Collect garbage less often: for a command that starts, does one job and exits."""
    gc.set_threshold(ONE_OFF_GC_GEN0, *SERVICE_GC_THRESHOLD[1:])


def service_gc() -> None:
    """Python's own collector thresholds again, for a process that keeps running."""
    gc.set_threshold(*SERVICE_GC_THRESHOLD)


def spare_exit_collection() -> None:
    """Exempt every object alive now from the collector: for a process about to exit."""
    # Interpreter shutdown runs a full collection over everything still alive: every module,
    # class and schema of SQLAlchemy, pydantic and aiohttp. That took about 0.3 s of a 2 s
    # `poll --once` (more than the catalog load). Frozen objects are skipped; the operating
    # system reclaims the memory anyway. Only finalizers of objects left in reference cycles
    # no longer run at exit, and briefbot closes its sessions, engines and loops explicitly.
    gc.freeze()


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print a one-line error (no traceback) and exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """Settings from the environment; a bad value exits 2 naming the variable."""
    from bot.config.settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"error: {problem}", highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def catalog_or_exit(settings: Settings) -> Catalog:
    """The feeds.yaml catalog; every problem printed with its line, then exit 2."""
    from bot.config.catalog import load_catalog

    try:
        return load_catalog(settings.feeds_file, allow_private=settings.allow_private_networks)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(problem, highlight=False, markup=False)
        err.print(f"{len(exc.problems)} problem(s) in {settings.feeds_file}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def service_catalog_or_exit(settings: Settings) -> LenientLoad:
    """feeds.yaml for the long-running service: what is valid loads, each refusal is logged.

    ADVERSARIAL B26: a bad or hostile entry must not keep the service down, so only a file
    with nothing usable in it (unreadable, oversize, not YAML, no valid feed) exits 2, as
    `config validate` does for any problem.
    """
    from bot.config.catalog import load_catalog_for_service

    loaded = load_catalog_for_service(
        settings.feeds_file, allow_private=settings.allow_private_networks
    )
    if loaded.catalog is None:
        for problem in loaded.problems:
            err.print(problem, highlight=False, markup=False)
        err.print(
            f"{len(loaded.problems)} problem(s) in {settings.feeds_file}; nothing in it can be"
            " used, so the service does not start",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    for problem in loaded.problems:
        log.warning("feeds.yaml entry refused: %s", problem)
    if loaded.problems:
        log.warning(
            "feeds.yaml has %d problem(s): running with the %d feeds and %d topics that are"
            " valid; `briefbot config validate` lists them",
            len(loaded.problems),
            len(loaded.catalog.feeds),
            len(loaded.catalog.topics),
        )
    return loaded


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; briefbot's own errors become a clear message instead of a traceback."""
    # Every coroutine run here works on the database, which imports SQLAlchemy anyway.
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db.engine import failure_reason

    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(problem, highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    except StorageError as exc:
        log.debug("storage error", exc_info=True)
        fail(str(exc))
    except (SQLAlchemyError, ConnectionError) as exc:
        # A full disk, a read-only or vanished server (asyncpg raises ConnectionError unwrapped
        # when it reconnects): the transaction rolled back, so say what the database answered
        # (never the SQL or its values) instead of a traceback.
        log.debug("database failure", exc_info=True)
        fail(
            f"the database failed: {failure_reason(exc)}. The unfinished change was rolled"
            " back; run the command again once the database has space or is reachable"
        )
    except BriefbotError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def utcnow() -> datetime:
    """The clock; only commands and jobs call it, everything below takes `now`."""
    return datetime.now(UTC)


def is_terminal() -> bool:
    """True when stderr is a terminal (progress bars make sense)."""
    return sys.stderr.isatty()
