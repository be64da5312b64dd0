"""Alembic migrations, run programmatically by bot.db.migrate."""
