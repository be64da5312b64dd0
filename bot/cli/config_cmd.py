"""`briefbot config ...`: check the settings and feeds.yaml."""

from __future__ import annotations

import typer

from bot.cli.common import catalog_or_exit, err, out, settings_or_exit
from bot.ingest.urlguard import display_host

app = typer.Typer(help="Settings and the feeds.yaml catalog.", no_args_is_help=True)


@app.command("validate")
def validate() -> None:
    """Check settings and feeds.yaml; print every problem with its line (exit 2 if any)."""
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
