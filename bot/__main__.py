"""`python -m bot` and the `briefbot` script: a tiny module on purpose.

Parser worker processes re-import the main module; importing the CLI only inside main()
keeps each worker from loading typer, rich, SQLAlchemy and Alembic it never uses.
"""


def main() -> None:
    """Run the briefbot command line."""
    from bot.memory import return_freed_memory

    return_freed_memory()  # first, so the whole run keeps the settings
    from bot.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
