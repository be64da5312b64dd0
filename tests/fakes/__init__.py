"""Fake external services for tests (a Telegram Bot API server on loopback)."""
