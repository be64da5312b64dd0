"""`briefbot config ...`: check the settings and feeds.yaml; export the effective catalog."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import catalog_or_exit, err, fail, out, run_async, settings_or_exit

app = typer.Typer(help="Settings and the feeds.yaml catalog.", no_args_is_help=True)


@app.command("validate")
def validate() -> None:
    """Check settings and feeds.yaml; print every problem with its line (exit 2 if any)."""
    from bot.ingest.urlguard import display_host

    settings = settings_or_exit()
    catalog = catalog_or_exit(settings)
    for feed in catalog.feeds:
        # Look-alike hosts (a Cyrillic "о" in gov.by) are legal but must not pass unnoticed.
        warning = display_host(feed.url).warning
        if warning:
            err.print(f"warning: feed {feed.id}: {warning}", highlight=False, markup=False)
    enabled = sum(1 for f in catalog.feeds if f.enabled)
    out.print(
        f"{settings.feeds_file}: OK, {len(catalog.feeds)} feeds ({enabled} enabled), "
        f"{len(catalog.topics)} topics"
    )


@app.command("export")
def export(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (atomically) instead of standard output."),
    ] = None,
) -> None:
    """Write the effective catalog: feeds.yaml plus staff feeds, pauses and rule edits."""
    from bot.runtime import open_database
    from bot.staff.export import export_yaml

    settings = settings_or_exit()
    catalog = catalog_or_exit(settings)

    async def go() -> str:
        async with open_database(settings) as database:
            return await export_yaml(
                database=database,
                catalog=catalog,
                allow_private=settings.allow_private_networks,
            )

    text = run_async(go())
    if output is None:
        sys.stdout.write(text)
        return
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot write {output}: {exc.strerror}")
    err.print(f"wrote {output}", highlight=False, markup=False)
