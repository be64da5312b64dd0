"""The error policy (policy.decide) and how aiogram's exceptions are classified
(transport.classify): pure units, one case per Telegram failure (ADVERSARIAL C27-C36)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiohttp import (
    ClientConnectorError,
    ClientOSError,
    ConnectionTimeoutError,
    ServerDisconnectedError,
    SocketTimeoutError,
)
from aiohttp.client_reqrep import ConnectionKey

from bot.delivery.outbox import DEAD, FAILED, PENDING, UNCERTAIN, Claimed
from bot.delivery.policy import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    MIGRATED_MARK,
    Decision,
    backoff,
    decide,
)
from bot.delivery.telegram import classify
from bot.delivery.transport import Failure, SendError

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CHAT, NEW_CHAT = -4_071_234_567, -1_009_876_543_210
METHOD = SendMessage(chat_id=CHAT, text="Secret meeting in Hrodna")


def row(
    *, parse_mode: str | None = "HTML", attempts: int = 0, last_error: str | None = None
) -> Claimed:
    """A claimed row as the sender sees it (attempts before this send)."""
    return Claimed(
        id=7,
        chat_pk=3,
        chat_id=CHAT,
        chat_kind="group",
        kind="digest",
        ref="week:2026-W02",
        part=0,
        body="<b>Talks</b> in Minsk &amp; Vilnius",
        parse_mode=parse_mode,
        chart_key=None,
        attempts=attempts,
        last_error=last_error,
    )


def decide_for(
    failure: SendError, claimed: Claimed | None = None, *, max_attempts: int = 10
) -> Decision:
    """decide() for a failure of the row's next attempt."""
    claimed = claimed or row()
    return decide(
        claimed,
        failure,
        now=NOW,
        attempts=claimed.attempts + 1,
        max_attempts=max_attempts,
        rng=random.Random(5),
    )


# --- policy.decide ---------------------------------------------------------------------------


def test_retry_after_puts_the_row_back_after_the_wait() -> None:
    decision = decide_for(SendError(Failure.RETRY_AFTER, "flood", retry_after=37))
    assert (decision.state, decision.retry_at) == (PENDING, NOW + timedelta(seconds=37))
    assert (decision.delete_chat, decision.halt) == (False, False)


def test_retry_after_zero_still_waits_a_second() -> None:
    decision = decide_for(SendError(Failure.RETRY_AFTER, "flood", retry_after=0))
    assert decision.retry_at == NOW + timedelta(seconds=1)


def test_forbidden_kills_the_row_and_deletes_the_chat() -> None:
    decision = decide_for(SendError(Failure.FORBIDDEN, "Forbidden: bot was blocked by the user"))
    assert (decision.state, decision.delete_chat, decision.retry_at) == (DEAD, True, None)


def test_migration_resends_once_to_the_new_id() -> None:
    decision = decide_for(SendError(Failure.MIGRATED, "upgraded", migrate_to=NEW_CHAT))
    assert (decision.state, decision.retry_at) == (PENDING, NOW)
    assert (decision.migrate_to, decision.error) == (NEW_CHAT, MIGRATED_MARK)


def test_a_second_migration_for_the_same_row_is_dead() -> None:
    failure = SendError(Failure.MIGRATED, "upgraded", migrate_to=NEW_CHAT)
    decision = decide_for(failure, row(attempts=1, last_error=MIGRATED_MARK))
    assert (decision.state, decision.migrate_to) == (DEAD, None)


def test_migration_without_a_new_id_is_dead() -> None:
    decision = decide_for(SendError(Failure.MIGRATED, "upgraded", migrate_to=None))
    assert (decision.state, decision.migrate_to) == (DEAD, None)


def test_bad_entities_resends_the_row_as_plain_text() -> None:
    decision = decide_for(SendError(Failure.BAD_ENTITIES, "can't parse entities"))
    assert (decision.state, decision.retry_at) == (PENDING, NOW)
    assert decision.values == {"body": "Talks in Minsk & Vilnius", "parse_mode": None}


def test_bad_entities_in_plain_text_is_dead_not_a_loop() -> None:
    decision = decide_for(SendError(Failure.BAD_ENTITIES, "x"), row(parse_mode=None))
    assert (decision.state, decision.values) == (DEAD, {})


@pytest.mark.parametrize("kind", [Failure.CHAT_NOT_FOUND, Failure.BAD_REQUEST])
def test_permanent_bad_requests_are_dead_and_keep_the_chat(kind: Failure) -> None:
    decision = decide_for(SendError(kind, "Bad Request: chat not found"))
    assert (decision.state, decision.retry_at, decision.delete_chat) == (DEAD, None, False)
    assert "chat not found" in decision.error


def test_not_sent_is_retried_with_backoff() -> None:
    decision = decide_for(SendError(Failure.NOT_SENT, "connect failed"), row(attempts=2))
    assert decision.state == FAILED
    assert decision.retry_at is not None
    # The third attempt: between 2 and 4 times the base delay (full jitter on the upper half).
    ceiling = timedelta(seconds=4 * BACKOFF_BASE_SECONDS)
    assert NOW + ceiling / 2 <= decision.retry_at <= NOW + ceiling


def test_not_sent_gives_up_after_max_attempts() -> None:
    decision = decide_for(SendError(Failure.NOT_SENT, "502"), row(attempts=9), max_attempts=10)
    assert (decision.state, decision.retry_at) == (DEAD, None)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    waits = [backoff(n, rng).total_seconds() for n in range(1, 20)]
    assert BACKOFF_BASE_SECONDS / 2 <= waits[0] <= BACKOFF_BASE_SECONDS
    assert waits[3] > waits[0]
    assert max(waits) <= BACKOFF_CAP_SECONDS
    assert waits[-1] >= BACKOFF_CAP_SECONDS / 2


def test_maybe_sent_is_uncertain_and_never_retried() -> None:
    decision = decide_for(SendError(Failure.MAYBE_SENT, "no answer"))
    assert (decision.state, decision.retry_at) == (UNCERTAIN, None)


def test_unauthorized_halts_and_gives_the_attempt_back() -> None:
    decision = decide_for(SendError(Failure.UNAUTHORIZED, "Unauthorized"), row(attempts=3))
    assert (decision.state, decision.halt) == (PENDING, True)
    assert decision.values == {"attempts": 3}
    assert not decision.delete_chat


# --- transport.classify ----------------------------------------------------------------------


def network_error(cause: BaseException | None) -> TelegramNetworkError:
    """A TelegramNetworkError as aiogram raises it (`raise ... from cause`)."""
    error = TelegramNetworkError(METHOD, f"{type(cause).__name__}: {cause}")
    error.__cause__ = cause
    return error


def connector_error() -> ClientConnectorError:
    """What aiohttp raises when nothing listens on the port."""
    key = ConnectionKey("api.telegram.org", 443, True, True, None, None, None)
    return ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


@pytest.mark.parametrize(
    "description",
    [
        "Forbidden: bot was blocked by the user",
        "Forbidden: user is deactivated",
        "Forbidden: bot was kicked from the group chat",
        "Forbidden: bot can't initiate conversation with a user",
    ],
)
def test_every_403_is_forbidden(description: str) -> None:
    assert classify(TelegramForbiddenError(METHOD, description)).kind is Failure.FORBIDDEN


def test_429_carries_retry_after_but_not_the_chat_id() -> None:
    failure = classify(TelegramRetryAfter(METHOD, "Too Many Requests: retry after 37", 37))
    assert (failure.kind, failure.retry_after) == (Failure.RETRY_AFTER, 37)
    assert str(abs(CHAT)) not in str(failure)


def test_migration_carries_the_new_id_but_logs_neither_id() -> None:
    failure = classify(TelegramMigrateToChat(METHOD, "upgraded", NEW_CHAT))
    assert (failure.kind, failure.migrate_to) == (Failure.MIGRATED, NEW_CHAT)
    assert str(abs(CHAT)) not in str(failure)
    assert str(abs(NEW_CHAT)) not in str(failure)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (TelegramUnauthorizedError(METHOD, "Unauthorized"), Failure.UNAUTHORIZED),
        (
            TelegramBadRequest(METHOD, "Bad Request: can't parse entities: unsupported start tag"),
            Failure.BAD_ENTITIES,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: chat not found"), Failure.CHAT_NOT_FOUND),
        (TelegramBadRequest(METHOD, "Bad Request: message is too long"), Failure.BAD_REQUEST),
        (TelegramNotFound(METHOD, "Not Found"), Failure.BAD_REQUEST),
        (TelegramServerError(METHOD, "Internal Server Error"), Failure.NOT_SENT),
        (TelegramServerError(METHOD, "Bad Gateway"), Failure.NOT_SENT),
        (RestartingTelegram(METHOD, "Internal Server Error: restart"), Failure.NOT_SENT),
        (
            TelegramConflictError(METHOD, "Conflict: terminated by other getUpdates"),
            Failure.BAD_REQUEST,
        ),
        (TimeoutError(), Failure.MAYBE_SENT),
    ],
    ids=[
        "401",
        "parse-entities",
        "chat-not-found",
        "too-long",
        "404",
        "500",
        "502",
        "restarting",
        "409",
        "bare-timeout",
    ],
)
def test_classify_maps_aiogram_errors(error: Exception, kind: Failure) -> None:
    assert classify(error).kind is kind


@pytest.mark.parametrize(
    ("cause", "kind"),
    [
        (connector_error(), Failure.NOT_SENT),
        (ConnectionTimeoutError("connect timed out"), Failure.NOT_SENT),
        (ServerDisconnectedError(), Failure.MAYBE_SENT),
        (SocketTimeoutError("read timed out"), Failure.MAYBE_SENT),
        (ClientOSError(104, "Connection reset by peer"), Failure.MAYBE_SENT),
        (TimeoutError(), Failure.MAYBE_SENT),
        (None, Failure.MAYBE_SENT),
    ],
    ids=[
        "connect-refused",
        "connect-timeout",
        "disconnected",
        "read-timeout",
        "reset",
        "timeout",
        "none",
    ],
)
def test_network_errors_split_on_whether_the_request_left(
    cause: BaseException | None, kind: Failure
) -> None:
    failure = classify(network_error(cause))
    assert failure.kind is kind
    assert "Hrodna" not in str(failure)
