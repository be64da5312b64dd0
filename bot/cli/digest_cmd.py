"""`briefbot digest preview`: print a digest from stored items, as a reader would see it."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import catalog_or_exit, fail, run_async, settings_or_exit, utcnow

if TYPE_CHECKING:
    from bot.digest.model import Period

app = typer.Typer(help="Digests.", no_args_is_help=True)
PERIODS: dict[str, timedelta] = {"day": timedelta(days=1), "week": timedelta(days=7)}


@app.command("preview")
def preview_command(
    period: Annotated[str, typer.Option(help="day or week")] = "day",
    topics: Annotated[
        list[str] | None, typer.Option("--topics", help="topic ids to include (default: all)")
    ] = None,
    lang: Annotated[str, typer.Option(help="en, be or ru")] = "en",
    tz: Annotated[str | None, typer.Option(help="IANA time zone (default: TIMEZONE)")] = None,
) -> None:
    """Print the digest of the last day or week from stored items."""
    from bot.digest.compose import compose_digest
    from bot.digest.html import html_to_plain
    from bot.digest.load import stories_between
    from bot.digest.model import DigestRequest, Reader
    from bot.digest.topics import topic_texts
    from bot.i18n import LANGUAGES, translator
    from bot.runtime import open_database

    settings = settings_or_exit()
    catalog = catalog_or_exit(settings)
    if period not in PERIODS:
        fail(f"--period: expected day or week, got {period!r}", 2)
    if lang not in LANGUAGES:
        fail(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}", 2)
    wanted = {t for value in topics or [] for t in value.replace(",", " ").split()}
    unknown = sorted(wanted - {t.id for t in catalog.topics})
    if unknown:
        known = ", ".join(t.id for t in catalog.topics)
        fail(f"--topics: unknown {', '.join(unknown)}; known topics: {known}", 2)
    reader = Reader(lang, tz or settings.timezone)
    end = utcnow()
    start = end - PERIODS[period]

    async def load() -> list[str]:
        async with open_database(settings) as database, database.read() as session:
            stories = await stories_between(session=session, start=start, end=end)
        chosen = [s.entry for s in stories if not wanted or s.topics & wanted]
        request = DigestRequest(
            period=_period(period),
            start=start,
            end=end,
            stories=tuple(chosen),
            topics=topic_texts(catalog.topics, lang),
        )
        return compose_digest(request, reader, translator(lang))

    for part in run_async(load()):
        typer.echo(html_to_plain(part))
        typer.echo("")


def _period(name: str) -> Period:
    return "week" if name == "week" else "day"
