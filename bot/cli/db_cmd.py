"""`briefbot db ...`: schema management."""

from __future__ import annotations

import typer

from bot.cli.common import out, run_async, settings_or_exit

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Create or migrate the database to the newest schema."""
    from bot.db.engine import create_engine
    from bot.db.migrate import current_revision, upgrade

    settings = settings_or_exit()

    async def go() -> tuple[str | None, str]:
        engine = create_engine(settings.database_url)
        try:
            before = await current_revision(engine)
            return before, await upgrade(engine)
        finally:
            await engine.dispose()

    before, after = run_async(go())
    if before == after:
        out.print(f"database already at revision {after}")
    else:
        out.print(f"database upgraded from {before or 'empty'} to {after}")
