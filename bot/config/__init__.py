"""Settings (environment) and the feeds.yaml catalog."""
