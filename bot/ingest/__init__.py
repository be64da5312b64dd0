"""Feed ingestion: URL guard, fetch, parse, poll."""
