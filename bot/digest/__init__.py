"""Composition of alerts and digests (Telegram HTML) and the weekly chart."""
