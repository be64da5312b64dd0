"""What every command shares: settings and catalog loading, and turning errors into exit codes."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from bot.config.catalog import Catalog, load_catalog
from bot.config.settings import Settings, load_settings
from bot.errors import BriefbotError, ConfigError, StorageError
from bot.logs import configure_logging

T = TypeVar("T")
EXIT_CONFIG = 2
EXIT_FAILURE = 1

# soft_wrap: an error stays one line, whatever the terminal width.
out = Console()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print a one-line error (no traceback) and exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """Settings from the environment; a bad value exits 2 naming the variable."""
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
    try:
        return load_catalog(settings.feeds_file, allow_private=settings.allow_private_networks)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(problem, highlight=False, markup=False)
        err.print(f"{len(exc.problems)} problem(s) in {settings.feeds_file}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; briefbot's own errors become a clear message instead of a traceback."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(problem, highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    except StorageError as exc:
        logging.getLogger(__name__).debug("storage error", exc_info=True)
        fail(str(exc))
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
