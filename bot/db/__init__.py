"""Storage: engine, tables, migrations and query functions."""
