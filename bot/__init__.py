"""briefbot: Belarus news alerts and digests mapped to a policy brief, delivered on Telegram."""

__version__ = "0.1.0"
