"""The outbox and the rate-limited sender that drains it."""
