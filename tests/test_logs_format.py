"""LOG_FORMAT: key=value lines as before, or one JSON object per line; tokens masked in both."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from aiogram.exceptions import TelegramMigrateToChat, TelegramRetryAfter
from aiogram.methods import SendMessage

from bot.logs import chat_tag, configure_logging, make_formatter

TOKEN = "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
KV_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} level=(\w+) logger=(\S+) (.*)$")


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _raise_with_token() -> None:
    raise ConnectionError(f"cannot reach https://api.telegram.org/bot{TOKEN}/sendMessage")


def test_json_lines_parse_with_fields_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("briefbot.poller")
    log.info("feed=%s new items=%d", "svaboda-be", 3, extra={"feed": "svaboda-be", "new": 3})
    log.warning("second line\nstill the same event")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO"
    assert first["logger"] == "briefbot.poller"
    assert first["message"] == "feed=svaboda-be new items=3"
    assert first["feed"] == "svaboda-be"
    assert first["new"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert second["message"] == "second line\nstill the same event"


def test_json_extra_that_clashes_with_a_base_field_is_kept_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("x").info("hello", extra={"level": "mine", "when": object()})
    entry = json.loads(capsys.readouterr().err)
    assert entry["level"] == "INFO"
    assert entry["level_"] == "mine"
    assert entry["when"].startswith("<object")


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_token_masked_in_message_and_arguments(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)
    logging.getLogger("aiohttp.client").warning("GET /bot%s/getMe failed", TOKEN)
    logging.getLogger("aiogram").error(f"token {TOKEN} refused")
    logging.getLogger("extra").info("request", extra={"url": f"https://x/bot{TOKEN}/"})
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert err.count("<token>") == (3 if fmt == "json" else 2)


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_token_masked_in_exception_traceback(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", fmt)
    try:
        _raise_with_token()
    except ConnectionError:
        logging.getLogger("aiogram.dispatcher").exception("polling failed")
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "ConnectionError" in err
    assert "<token>" in err
    if fmt == "json":
        entry = json.loads(err)
        assert "Traceback" in entry["exception"]
        assert "bot<token>/sendMessage" in entry["exception"]


def test_token_masked_in_stack_info(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    logger = logging.getLogger("x")
    record = logger.makeRecord("x", logging.INFO, __file__, 1, "where am I", (), None)
    record.stack_info = f'Stack (most recent call last):\n  url = "bot{TOKEN}"'
    logger.handle(record)
    entry = json.loads(capsys.readouterr().err)
    assert TOKEN not in entry["stack"]
    assert 'url = "bot<token>"' in entry["stack"]


def test_kv_format_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG")
    logging.getLogger("bot.service").info("leading: polling every %gs", 30.0)
    line = capsys.readouterr().err.rstrip("\n")
    match = KV_LINE.fullmatch(line)
    assert match is not None, line
    assert match.groups() == ("INFO", "bot.service", "leading: polling every 30s")


def test_kv_traceback_follows_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "kv")
    try:
        _raise_with_token()
    except ConnectionError:
        logging.getLogger("bot.delivery").exception("outbox=%d delivery crashed", 7)
    lines = capsys.readouterr().err.splitlines()
    assert KV_LINE.fullmatch(lines[0])
    assert lines[0].endswith("outbox=7 delivery crashed")
    assert lines[1] == "Traceback (most recent call last):"
    assert (
        lines[-1] == "ConnectionError: cannot reach https://api.telegram.org/bot<token>/sendMessage"
    )


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="kv, json"):
        make_formatter("xml")


def test_bad_format_string_does_not_break_the_caller(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    too_few: tuple[object, ...] = ("one",)
    logging.raiseExceptions = False
    try:
        logging.getLogger("x").info("two %s %s", *too_few)  # reported by logging, not raised
    finally:
        logging.raiseExceptions = True
    assert capsys.readouterr().err == ""


def _aiogram_failures() -> list[Exception]:
    """Errors whose text aiogram writes chat ids into."""
    method = SendMessage(chat_id=-1001234567890, text="hello")
    return [
        TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=5),
        TelegramMigrateToChat(
            method=method, message="Bad Request: upgraded", migrate_to_chat_id=-1009876543210
        ),
        TelegramRetryAfter(
            method=SendMessage(chat_id="@diaspora_chat", text="x"), message="Slow", retry_after=1
        ),
    ]


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_chat_ids_in_aiogram_errors_become_tags(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", fmt)
    log = logging.getLogger("aiogram.dispatcher")
    for failure in _aiogram_failures():
        log.error("Cause exception while process update id=%d: %s", 42, failure)
        try:
            raise failure
        except Exception:
            log.exception("handler failed")
        log.info("sent", extra={"chat_id": -1001234567890})
    err = capsys.readouterr().err
    for raw in ("1001234567890", "1009876543210", "diaspora_chat"):
        assert raw not in err
    assert f"in chat {chat_tag(-1001234567890)}" in err
    assert f"with id {chat_tag(-1009876543210)} from {chat_tag(-1001234567890)}" in err
    assert "update id=42" in err  # ids that are not chats stay as they are
    if fmt == "json":
        lines = [json.loads(line) for line in err.splitlines()]
        assert lines[2]["chat_id"] == chat_tag(-1001234567890)
