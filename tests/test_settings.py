"""Settings: defaults, accepted forms, and one clear line per bad value."""

from __future__ import annotations

import pytest

from bot.config.settings import DEFAULT_DATABASE_URL, load_settings
from bot.errors import ConfigError


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(_env_file=None)
    assert settings.bot_token is None
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.allow_private_networks is False
    assert settings.staff_ids == ()


def test_staff_ids_are_read_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFF_IDS", "12345, 67890")
    assert load_settings(_env_file=None).staff_ids == (12345, 67890)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("STAFF_IDS", "1087968824", "service accounts"),
        ("STAFF_IDS", "12,abc", "STAFF_IDS"),
        ("TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("DATABASE_URL", "mysql://x/y", "unsupported database"),
        ("DATABASE_URL", "storage/briefbot.db", "not a database URL"),
        ("LOG_LEVEL", "LOUD", "must be one of"),
        ("ALLOW_PRIVATE_NETWORKS", "perhaps", "ALLOW_PRIVATE_NETWORKS"),
        ("TELEGRAM_API_BASE", "ftp://bot", "http"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert len(caught.value.problems) == 1
    line = caught.value.problems[0]
    assert line.startswith(f"{variable}:")
    assert words in line
    assert "\n" not in line


def test_token_is_never_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    monkeypatch.setenv("BOT_TOKEN", token)
    settings = load_settings(_env_file=None)
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == token
    assert token not in repr(settings)
