"""Runtime settings read from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///storage/briefbot.db"
TOKEN_SHAPE = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,}")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Every knob of briefbot; the README lists each with its default."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    feeds_file: Path = Path("feeds.yaml")
    telegram_api_base: str | None = None
    staff_ids: Annotated[tuple[int, ...], NoDecode] = ()
    timezone: str = "UTC"
    allow_private_networks: bool = False
    log_level: str = "INFO"
    log_format: Literal["kv", "json"] = "kv"

    # Polling and fetching.
    poll_tick_seconds: float = Field(default=30.0, gt=0)
    fetch_timeout_seconds: float = Field(default=30.0, gt=0)
    fetch_read_timeout_seconds: float = Field(default=15.0, gt=0)
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    fetch_concurrency: int = Field(default=100, gt=0)
    fetch_max_bodies: int = Field(default=50, gt=0)
    fetch_per_host: int = Field(default=4, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0, le=10)
    parse_timeout_seconds: float = Field(default=10.0, gt=0)
    parse_workers: int = Field(default=0, ge=0)
    max_entries_per_feed: int = Field(default=500, gt=0)
    feed_failing_after: int = Field(default=3, gt=0)
    backoff_max_seconds: float = Field(default=24 * 3600.0, gt=0)

    # Webhook mode (long polling when WEBHOOK_URL is unset).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"  # noqa: S104 (the webhook must be reachable from outside)
    webhook_port: int = Field(default=8080, gt=0, lt=65536)
    webhook_path: str = "/telegram"

    # Observability: /metrics and /healthz (off when METRICS_PORT is 0).
    metrics_port: int = Field(default=0, ge=0, lt=65536)
    metrics_host: str = "127.0.0.1"

    # Delivery.
    send_rate_per_second: float = Field(default=30.0, gt=0, le=1000)
    allow_paid_broadcast: bool = False
    send_concurrency: int = Field(default=8, gt=0, le=100)
    send_timeout_seconds: float = Field(default=15.0, gt=0)
    send_max_attempts: int = Field(default=10, gt=0)
    outbox_lease_seconds: float = Field(default=300.0, ge=30)
    alert_max_age_hours: float = Field(default=48.0, gt=0)
    digest_tick_seconds: float = Field(default=60.0, gt=0)
    retention_days: int = Field(default=90, ge=7)

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None  # empty means console mode
        if not isinstance(raw, str) or not TOKEN_SHAPE.fullmatch(raw.strip()):
            # Never echo the value: it is a secret even when malformed.
            raise ValueError("does not look like a bot token (digits:letters, from @BotFather)")
        return raw.strip()

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return tuple(int(p) for p in parts if p)
        return value

    @field_validator("staff_ids")
    @classmethod
    def _no_anonymous_admin(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        # 1087968824 is Telegram's "GroupAnonymousBot": anyone anonymous in any group.
        if 1087968824 in value or 777000 in value:
            raise ValueError("1087968824 and 777000 are Telegram service accounts, not staff")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        from bot.db.engine import async_database_url

        async_database_url(value)  # raises ValueError naming what is wrong
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be the public https:// address Telegram posts updates to")
        return value or None

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or raw == "":
            return None
        # Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and -.
        if not isinstance(raw, str) or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", raw):
            raise ValueError("must be 16-256 characters of A-Z, a-z, 0-9, _ and -")
        return raw

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_URL is set: WEBHOOK_SECRET is required too")
        return self

    @field_validator("telegram_api_base")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a bad value becomes a ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"][:1]).upper() or "SETTINGS"
            message = err["msg"].removeprefix("Value error, ")
            # A cross-field problem has no single variable: its message names them.
            problems.append(f"{name}: {message}" if err["loc"] else message)
        raise ConfigError(problems) from None
