"""One exception tree for briefbot; foreign exceptions are translated at the boundary."""


class BriefbotError(Exception):
    """Base of every error briefbot raises on purpose."""


class ConfigError(BriefbotError):
    """Settings or feeds.yaml are invalid; carries every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StorageError(BriefbotError):
    """The database could not be opened, migrated or written."""


class FeedError(BriefbotError):
    """A feed could not be fetched or parsed; `reason` is a short staff-readable code."""

    def __init__(self, reason: str, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


class FetchError(FeedError):
    """The feed's HTTP fetch failed (network, status, size, timeout)."""


class BlockedURLError(FetchError):
    """The URL or an address it resolves to is not allowed (SSRF guard)."""


class ParseError(FeedError):
    """The body was fetched but is not a feed we accept."""


class DeliveryError(BriefbotError):
    """A message could not be delivered to Telegram."""
