"""`briefbot feeds-opml ...`: the feeds to and from OPML, the list format of feed readers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bot.cli.common import EXIT_CONFIG, catalog_or_exit, err, fail, settings_or_exit, utcnow
from bot.errors import ConfigError

app = typer.Typer(help="Export and import the feeds as OPML.", no_args_is_help=True)


def _say(line: str) -> None:
    err.print(line, highlight=False, markup=False)


def _config_exit(problems: list[str]) -> NoReturn:
    for problem in problems:
        _say(problem)
    raise typer.Exit(EXIT_CONFIG)


@app.command("export")
def export_command(
    target: Annotated[str, typer.Argument(help="File to write, or - for standard output.")] = "-",
) -> None:
    """Write the feeds of feeds.yaml as an OPML 2.0 document."""
    from bot.config.feedsfile import write_new_file
    from bot.config.opml import write_opml

    settings = settings_or_exit()
    catalog = catalog_or_exit(settings)
    text = write_opml(catalog.feeds, now=utcnow())
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        write_new_file(Path(target), text)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}")
    _say(f"wrote {len(catalog.feeds)} feeds to {target}")


def _shown_name(source: str) -> str:
    """The OPML file's name for a comment line: printable, one line, not too long."""
    name = "standard input" if source == "-" else Path(source).name
    return "".join(c for c in name if c.isprintable())[:80] or "an OPML file"


@app.command("import")
def import_command(
    source: Annotated[str, typer.Argument(help="The OPML file, or - for standard input.")],
    write: Annotated[
        bool, typer.Option("--write", help="Add the entries to FEEDS_FILE (default: only print).")
    ] = False,
) -> None:
    """Print the feeds.yaml entries an OPML file adds; with --write, add them to FEEDS_FILE."""
    from bot.config.catalog import DEFAULT_MAX_BYTES, parse_catalog
    from bot.config.feedsfile import insert_feeds, replace_text
    from bot.config.opml import parse_opml, read_opml
    from bot.config.problems import read_capped

    settings = settings_or_exit()
    feeds_file = settings.feeds_file
    allow_private = settings.allow_private_networks
    try:
        current = read_capped(feeds_file, max_bytes=DEFAULT_MAX_BYTES)
        catalog = parse_catalog(current, source=str(feeds_file), allow_private=allow_private)
        data = read_opml(None if source == "-" else Path(source), stdin=sys.stdin.buffer)
        result = parse_opml(
            data, source=source, existing=catalog.feeds, allow_private=allow_private
        )
    except ConfigError as exc:
        _config_exit(exc.problems)
    for note in result.notes:
        _say(f"note: {note}")
    for problem in result.problems:
        _say(f"error: {problem}")
    if not result.feeds:
        _say("nothing to add")
        raise typer.Exit(EXIT_CONFIG if result.problems else 0)
    comment = f"Imported from {_shown_name(source)} on {utcnow():%Y-%m-%d}"
    try:
        merged, block = insert_feeds(
            current,
            result.feeds,
            source=str(feeds_file),
            comment=comment,
            allow_private=allow_private,
        )
    except ConfigError as exc:
        _config_exit([*exc.problems, f"{feeds_file}: not changed"])
    sys.stdout.write(block.lstrip("\n"))
    count = len(result.feeds)
    if result.problems:
        _config_exit([f"{len(result.problems)} outline(s) refused; fix or remove them first"])
    if not write:
        _say(f"{count} feed(s) would be added to {feeds_file}; run again with --write to add them")
        return
    try:
        replace_text(feeds_file, merged, expected=current)
    except ConfigError as exc:
        _config_exit(exc.problems)
    except OSError as exc:
        fail(f"cannot write {feeds_file}: {exc.strerror or exc} (the file is unchanged)")
    _say(f"added {count} feed(s) to {feeds_file}")
