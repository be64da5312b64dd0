"""Logging never carries a bot token, whatever slips into a record (ADVERSARIAL.md G55)."""

from __future__ import annotations

import logging

import pytest

from bot.logs import RedactTokens, configure_logging

TOKEN = "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_tokens_in_messages_and_arguments_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("briefbot.test")
    logger.addFilter(RedactTokens())
    with caplog.at_level(logging.INFO, logger="briefbot.test"):
        logger.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        logger.error(f"failed with bot{TOKEN}")
    text = caplog.text
    assert TOKEN not in text
    assert text.count("<token>") == 2


def test_configured_handler_masks_tokens_from_any_logger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    logging.getLogger("aiohttp.client").warning("GET /bot%s/sendMessage failed", TOKEN)
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "<token>" in err
