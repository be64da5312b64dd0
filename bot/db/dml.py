"""Dialect-specific INSERT statements, with only the dialect in use imported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.sql.dml import Insert


def insert_ignoring_duplicates(dialect: str, table: Any, unique: Sequence[str]) -> Insert:
    """INSERT into `table` that skips rows whose `unique` columns match a stored row."""
    # Imported on use: a process on SQLite never loads PostgreSQL's dialect (2.2 MiB and some
    # 0.03 s of start-up), nor one on PostgreSQL SQLite's.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(unique))
