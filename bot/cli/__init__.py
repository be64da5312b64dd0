"""The `briefbot` command line (typer).

Every command module imports only typer and light briefbot modules at the top; what a
command needs (settings, the catalog, SQLAlchemy, aiohttp, the service) is imported inside
it. `briefbot --help` and `briefbot poll --once` then load only what they use, and
tests/test_cli_startup.py keeps it so.
"""

from __future__ import annotations

import typer

from bot.cli import config_cmd, db_cmd, digest_cmd, feeds_cmd, match_cmd, opml_cmd, service_cmd
from bot.cli.common import one_off_gc, spare_exit_collection

app = typer.Typer(
    name="briefbot",
    help="Belarus news alerts and digests, mapped to the brief 'Belarus and the US'.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(feeds_cmd.app, name="feeds")
app.add_typer(opml_cmd.app, name="feeds-opml")
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.add_typer(digest_cmd.app, name="digest")
service_cmd.register(app)
match_cmd.register(app)


def main() -> None:
    """Console-script entry point."""
    one_off_gc()  # `run` and `poll --loop` go back to the defaults (service_cmd)
    try:
        app()
    finally:
        spare_exit_collection()  # the process exits next, whichever way app() ended
