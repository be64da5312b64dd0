"""Fetcher behaviour against a loopback feed server (ADVERSARIAL A6-A8, A18, B19-B25)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.config.settings import Settings
from bot.errors import BlockedURLError, FetchError
from bot.ingest.fetch import Fetcher, FetchPolicy, parse_max_age, parse_retry_after
from bot.ingest.types import FetchResult, NotModified, Validators
from tests.support.fakedns import FakeResolver
from tests.support.feedserver import FeedServer, gzip_zeros

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
PUBLIC_IP = "93.184.215.14"
MIB = 1024 * 1024


def loopback_policy(**overrides: Any) -> FetchPolicy:
    """Short timeouts; loopback allowed unless a test turns the guard back on."""
    values: dict[str, Any] = {
        "total_timeout": 5.0,
        "read_timeout": 5.0,
        "connect_timeout": 2.0,
        "allow_private": True,
        "allow_any_port": True,
    }
    values.update(overrides)
    return FetchPolicy(**values)


async def fetch_once(url: str, policy: FetchPolicy, **kwargs: Any) -> FetchResult | NotModified:
    """Fetch one URL with a fresh Fetcher."""
    validators = kwargs.pop("validators", Validators())
    async with Fetcher(policy, **kwargs) as fetcher:
        return await fetcher.fetch(url, validators)


async def expect_error(awaitable: Awaitable[object]) -> FetchError:
    """The FetchError the awaitable raises (fails the test when it returns)."""
    with pytest.raises(FetchError) as info:
        await awaitable
    return info.value


@dataclass
class Listener:
    """A plain TCP listener on 127.0.0.1 that counts accepted connections."""

    port: int = 0
    accepts: int = 0
    server: asyncio.Server | None = field(default=None, repr=False)


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    """A loopback listener that accepts and immediately closes connections."""
    state = Listener()

    def on_accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.accepts += 1
        writer.close()

    server = await asyncio.start_server(on_accept, "127.0.0.1", 0)
    state.server = server
    state.port = server.sockets[0].getsockname()[1]
    async with server:
        yield state


@pytest.fixture
async def connects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every socket connect; refuses non-loopback ones so no test leaves the host."""
    loop = asyncio.get_running_loop()
    original: Callable[[socket.socket, Any], Awaitable[None]] = loop.sock_connect
    seen: list[object] = []

    async def spy(sock: socket.socket, address: Any) -> None:
        seen.append(address)
        if address[0] not in {"127.0.0.1", "::1"}:
            raise ConnectionRefusedError(111, "test network: only loopback")
        await original(sock, address)

    monkeypatch.setattr(loop, "sock_connect", spy)
    return seen


def guarded(server_port: int, table: dict[str, list[list[str]]]) -> dict[str, Any]:
    """Fetcher kwargs: guard on, any port, `feeds.example` mapped to the loopback server."""
    table = {"feeds.example": [["127.0.0.1"]], **table}
    return {
        "policy": loopback_policy(allow_private=False),
        "resolver": FakeResolver(table),
        "allowed_hosts": ["feeds.example"],
    }


# --- plain fetches -------------------------------------------------------------------------


async def test_ok_feed_returns_body_hash_lowercase_headers_and_validators(
    feed_server: FeedServer,
) -> None:
    feed_server.add(
        "/rss",
        RSS,
        etag='"v1"',
        last_modified="Wed, 01 Jan 2025 00:00:00 GMT",
        headers={"Cache-Control": "public, max-age=900", "X-Thing": "1"},
    )
    result = await fetch_once(feed_server.url("/rss"), loopback_policy())
    assert isinstance(result, FetchResult)
    assert result.status == 200
    assert result.body == RSS
    assert result.body_hash == hashlib.sha256(RSS).hexdigest()
    assert result.final_url == result.url == feed_server.url("/rss")
    assert result.headers["content-location"] == feed_server.url("/rss")
    assert result.headers["x-thing"] == "1"
    assert all(name == name.lower() for name in result.headers)
    assert result.validators == Validators('"v1"', "Wed, 01 Jan 2025 00:00:00 GMT")
    assert result.max_age == 900.0
    assert result.moved_to is None


async def test_user_agent_names_briefbot(feed_server: FeedServer) -> None:
    feed_server.add("/rss", RSS)
    await fetch_once(feed_server.url("/rss"), loopback_policy())
    agent = feed_server.requests_to("/rss")[0].headers["User-Agent"]
    assert agent.startswith("briefbot/")
    assert "feed reader" in agent


async def test_conditional_get_sends_validators_and_304_is_not_modified(
    feed_server: FeedServer,
) -> None:
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    feed_server.add("/rss", RSS, etag='"v1"', last_modified=stamp)
    async with Fetcher(loopback_policy()) as fetcher:
        first = await fetcher.fetch(feed_server.url("/rss"))
        assert isinstance(first, FetchResult)
        second = await fetcher.fetch(feed_server.url("/rss"), first.validators)
    assert isinstance(second, NotModified)
    assert second.validators == Validators('"v1"', stamp)
    sent = feed_server.requests_to("/rss")[1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == stamp
    assert feed_server.not_modified("/rss") == 1
    assert feed_server.hits("/rss") == 2


async def test_if_modified_since_alone_gets_not_modified(feed_server: FeedServer) -> None:
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    feed_server.add("/rss", RSS, last_modified=stamp)
    result = await fetch_once(
        feed_server.url("/rss"), loopback_policy(), validators=Validators(last_modified=stamp)
    )
    assert isinstance(result, NotModified)
    assert result.validators.last_modified == stamp


async def test_stale_etag_gets_the_full_body(feed_server: FeedServer) -> None:
    feed_server.add("/rss", RSS, etag='"v2"')
    result = await fetch_once(
        feed_server.url("/rss"), loopback_policy(), validators=Validators(etag='"v1"')
    )
    assert isinstance(result, FetchResult)
    assert result.validators.etag == '"v2"'


async def test_http_error_status_is_named_without_the_body(feed_server: FeedServer) -> None:
    feed_server.add("/gone", "SECRET-BODY-TEXT", status=404, content_type="text/html")
    error = await expect_error(fetch_once(feed_server.url("/gone"), loopback_policy()))
    assert error.reason == "http_status"
    assert error.detail == "HTTP 404 Not Found"
    assert "SECRET" not in str(error)


async def test_429_with_retry_after_seconds_is_rate_limited(feed_server: FeedServer) -> None:
    feed_server.add("/rss", "slow down", status=429, headers={"Retry-After": "120"})
    error = await expect_error(fetch_once(feed_server.url("/rss"), loopback_policy()))
    assert error.reason == "rate_limited"
    assert error.retry_after == 120.0


async def test_503_with_retry_after_date_is_rate_limited(feed_server: FeedServer) -> None:
    feed_server.add(
        "/rss", "busy", status=503, headers={"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"}
    )
    error = await expect_error(fetch_once(feed_server.url("/rss"), loopback_policy()))
    assert error.reason == "rate_limited"
    assert error.retry_after is not None
    assert error.retry_after > 365 * 24 * 3600


async def test_503_without_retry_after_is_an_http_status_error(feed_server: FeedServer) -> None:
    feed_server.add("/rss", "busy", status=503)
    error = await expect_error(fetch_once(feed_server.url("/rss"), loopback_policy()))
    assert error.reason == "http_status"
    assert error.retry_after is None


def test_header_parsers_handle_odd_values() -> None:
    assert parse_max_age('no-cache, max-age="60"') == 60.0
    assert parse_max_age("no-store") is None
    assert parse_max_age("max-age=soon") is None
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("Wed, 01 Jan 2020 00:00:00 GMT") == 0.0  # past: no wait
    assert parse_retry_after("tomorrow") is None


# --- redirects -----------------------------------------------------------------------------


async def test_permanent_redirect_reports_moved_to(feed_server: FeedServer) -> None:
    feed_server.redirect("/old", "/new", status=301)  # relative Location
    feed_server.redirect("/new", feed_server.url("/newest"), status=308)
    feed_server.add("/newest", RSS)
    result = await fetch_once(feed_server.url("/old"), loopback_policy())
    assert isinstance(result, FetchResult)
    assert result.url == feed_server.url("/old")
    assert result.final_url == result.moved_to == feed_server.url("/newest")
    assert result.headers["content-location"] == feed_server.url("/newest")


async def test_temporary_hop_in_the_chain_is_not_a_move(feed_server: FeedServer) -> None:
    feed_server.redirect("/old", "/tmp", status=301)
    feed_server.redirect("/tmp", "/rss", status=302)
    feed_server.add("/rss", RSS)
    result = await fetch_once(feed_server.url("/old"), loopback_policy())
    assert isinstance(result, FetchResult)
    assert result.final_url == feed_server.url("/rss")
    assert result.moved_to is None


async def test_not_modified_after_a_permanent_redirect_reports_moved_to(
    feed_server: FeedServer,
) -> None:
    feed_server.redirect("/old", "/rss", status=308)
    feed_server.add("/rss", RSS, etag='"v1"')
    result = await fetch_once(
        feed_server.url("/old"), loopback_policy(), validators=Validators(etag='"v1"')
    )
    assert isinstance(result, NotModified)
    assert result.moved_to == feed_server.url("/rss")


async def test_redirect_chain_longer_than_the_limit_is_refused(feed_server: FeedServer) -> None:
    for n in range(10):
        feed_server.redirect(f"/c{n}", f"/c{n + 1}", status=302)
    feed_server.add("/c10", RSS)
    error = await expect_error(fetch_once(feed_server.url("/c0"), loopback_policy()))
    assert error.reason == "too_many_redirects"
    assert feed_server.hits("/c5") == 1  # five hops followed
    assert feed_server.hits("/c6") == 0
    assert feed_server.hits("/c10") == 0


async def test_redirect_without_location_is_a_clear_error(feed_server: FeedServer) -> None:
    feed_server.add("/r", "", status=302)
    error = await expect_error(fetch_once(feed_server.url("/r"), loopback_policy()))
    assert error.reason == "bad_redirect"


@pytest.mark.parametrize("status", [301, 302, 307])
@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/secret", "private_address"),
        ("http://[::ffff:127.0.0.1]:{port}/secret", "private_address"),
        ("http://internal.example:{port}/secret", "private_address"),  # resolves to loopback
        ("file:///etc/passwd", "bad_scheme"),
        ("http://user:pw@feeds.example:{port}/secret", "credentials_in_url"),
    ],
)
async def test_redirect_to_an_internal_target_is_refused_at_the_hop(
    feed_server: FeedServer, connects: list[object], status: int, target: str, reason: str
) -> None:
    # feeds.example is the "public" feed (allowed test host on loopback); its redirect is not.
    feed_server.redirect("/feed", target.format(port=feed_server.port), status=status)
    feed_server.add("/secret", "internal data")
    kwargs = guarded(feed_server.port, {"internal.example": [["127.0.0.1"]]})
    with pytest.raises(BlockedURLError) as info:
        await fetch_once(f"http://feeds.example:{feed_server.port}/feed", **kwargs)
    assert info.value.reason == reason
    assert feed_server.hits("/feed") == 1  # the allowed host really was fetched
    assert feed_server.hits("/secret") == 0
    assert len(connects) == 1  # only the allowed first hop connected


async def test_redirect_through_an_allowed_host_still_works(
    feed_server: FeedServer,
) -> None:
    port = feed_server.port
    feed_server.redirect("/feed", f"http://feeds.example:{port}/rss", status=301)
    feed_server.add("/rss", RSS)
    result = await fetch_once(f"http://feeds.example:{port}/feed", **guarded(port, {}))
    assert isinstance(result, FetchResult)
    assert result.moved_to == f"http://feeds.example:{port}/rss"


# --- the SSRF guard at fetch time ------------------------------------------------------------

PRIVATE_TARGETS = [
    "http://127.0.0.1:{port}/",
    "http://[::1]:{port}/",
    "http://10.0.0.5:{port}/",
    "http://169.254.169.254:{port}/latest/meta-data/",
    "http://100.100.100.200:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://2130706433:{port}/",
    "http://localhost.:{port}/",
    "http://intranet.example:{port}/",  # a name whose only address is loopback
    "http://rebind.example:{port}/",  # a public address and loopback in one answer (B20)
    "http://mixed.example:{port}/",  # {public, 10.0.0.1} (B21)
]


@pytest.mark.parametrize("template", PRIVATE_TARGETS)
async def test_private_targets_are_refused_without_any_connection(
    listener: Listener, connects: list[object], template: str
) -> None:
    resolver = FakeResolver(
        {
            "intranet.example": [["127.0.0.1"]],
            "rebind.example": [[PUBLIC_IP, "127.0.0.1"]],
            "mixed.example": [[PUBLIC_IP, "10.0.0.1"]],
        }
    )
    policy = loopback_policy(allow_private=False)
    with pytest.raises(BlockedURLError) as info:
        await fetch_once(template.format(port=listener.port), policy, resolver=resolver)
    assert info.value.reason == "private_address"
    assert connects == []
    assert listener.accepts == 0


async def test_the_listener_does_count_connections_when_private_is_allowed(
    listener: Listener, connects: list[object]
) -> None:
    # Control for the test above: the same target is reached once the guard is off.
    error = await expect_error(fetch_once(f"http://127.0.0.1:{listener.port}/", loopback_policy()))
    assert error.reason == "connection_lost"  # the listener hangs up without answering
    assert listener.accepts >= 1  # aiohttp retries an idempotent GET once on a fresh socket
    assert set(connects) == {("127.0.0.1", listener.port)}


async def test_dns_rebinding_after_a_public_check_is_refused_at_connect(
    listener: Listener, connects: list[object]
) -> None:
    from bot.ingest.urlguard import GuardedResolver

    # First lookup (e.g. when staff add the feed) is public; the second, at connect, is not.
    inner = FakeResolver({"rebind.example": [[PUBLIC_IP], ["127.0.0.1"]]})
    assert (await GuardedResolver(inner).resolve("rebind.example"))[0]["host"] == PUBLIC_IP
    policy = loopback_policy(allow_private=False)
    with pytest.raises(BlockedURLError) as info:
        await fetch_once(f"http://rebind.example:{listener.port}/", policy, resolver=inner)
    assert info.value.reason == "private_address"
    assert inner.calls == ["rebind.example", "rebind.example"]
    assert connects == []
    assert listener.accepts == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "bad_scheme"),
        ("/etc/passwd", "bad_scheme"),
        ("../.env", "bad_scheme"),
        ("ftp://feeds.example/rss", "bad_scheme"),
        ("gopher://feeds.example/", "bad_scheme"),
        ("feed:http://127.0.0.1/", "bad_scheme"),
        ("https://user:pass@feeds.example/rss", "credentials_in_url"),
        ("http://feeds.example:22/", "port_not_allowed"),
    ],
)
async def test_hostile_urls_are_refused_before_any_connection(
    connects: list[object], url: str, reason: str
) -> None:
    resolver = FakeResolver({"feeds.example": [[PUBLIC_IP]]})
    with pytest.raises(BlockedURLError) as info:
        await fetch_once(url, FetchPolicy(), resolver=resolver)
    assert info.value.reason == reason
    assert "pass" not in info.value.detail.replace("passwords", "")
    assert resolver.calls == []
    assert connects == []


# --- bodies that are too big or too slow ---------------------------------------------------


async def measure_peak(coro: Awaitable[object]) -> tuple[BaseException | None, int]:
    """Run coro under tracemalloc; return what it raised and the peak traced bytes."""
    tracemalloc.start()
    try:
        await coro
    except BaseException as exc:
        return exc, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return None, 0


async def test_oversize_body_is_refused_at_the_cap(feed_server: FeedServer) -> None:
    feed_server.add("/big", b"x" * (3 * MIB))
    error = await expect_error(fetch_once(feed_server.url("/big"), loopback_policy(max_bytes=MIB)))
    assert error.reason == "too_large"


async def test_endless_chunked_body_is_aborted_with_bounded_memory(
    feed_server: FeedServer,
) -> None:
    feed_server.endless("/endless")
    started = time.monotonic()
    policy = loopback_policy(max_bytes=MIB)
    error, peak = await measure_peak(fetch_once(feed_server.url("/endless"), policy))
    assert isinstance(error, FetchError)
    assert error.reason == "too_large"
    assert peak < 5 * MIB  # cap plus buffers, nowhere near the 50 MiB expansion
    assert time.monotonic() - started < 3.0


async def test_gzip_bomb_is_aborted_at_the_decompressed_cap(feed_server: FeedServer) -> None:
    feed_server.gzip_bomb("/bomb", 50 * MIB)
    policy = loopback_policy(max_bytes=MIB)
    error, peak = await measure_peak(fetch_once(feed_server.url("/bomb"), policy))
    assert isinstance(error, FetchError)
    assert error.reason == "too_large"
    assert peak < 5 * MIB  # cap plus buffers, nowhere near the 50 MiB expansion


async def test_gzip_body_under_the_cap_is_decompressed(feed_server: FeedServer) -> None:
    feed_server.gzip_bomb("/small", 100_000)
    result = await fetch_once(feed_server.url("/small"), loopback_policy(max_bytes=MIB))
    assert isinstance(result, FetchResult)
    assert result.body == bytes(100_000)
    assert len(gzip_zeros(100_000)) < 1000


async def test_slowloris_hits_the_total_timeout(feed_server: FeedServer) -> None:
    feed_server.slow("/drip", every_seconds=0.1)
    started = time.monotonic()
    policy = loopback_policy(total_timeout=1.0, read_timeout=5.0)
    error = await expect_error(fetch_once(feed_server.url("/drip"), policy))
    assert error.reason == "timeout"
    assert 0.9 < time.monotonic() - started < 2.5


async def test_silent_server_hits_the_read_timeout(feed_server: FeedServer) -> None:
    feed_server.slow("/stall", every_seconds=30.0)
    started = time.monotonic()
    policy = loopback_policy(total_timeout=10.0, read_timeout=0.5)
    error = await expect_error(fetch_once(feed_server.url("/stall"), policy))
    assert error.reason == "timeout"
    assert time.monotonic() - started < 2.0


# --- network failures and lifecycle --------------------------------------------------------


async def test_unknown_name_is_dns_failed() -> None:
    resolver = FakeResolver({})
    policy = loopback_policy(allow_private=False)
    error = await expect_error(fetch_once("https://nowhere.example/rss", policy, resolver=resolver))
    assert error.reason == "dns_failed"
    assert "nowhere.example" in error.detail


async def test_refused_connection_is_connect_failed() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await expect_error(fetch_once(f"http://127.0.0.1:{port}/", loopback_policy()))
    assert error.reason == "connect_failed"


def test_policy_from_settings_follows_the_settings() -> None:
    settings = Settings(
        fetch_timeout_seconds=12,
        fetch_read_timeout_seconds=4,
        fetch_max_bytes=2048,
        fetch_concurrency=7,
        fetch_per_host=2,
        fetch_max_redirects=3,
        allow_private_networks=True,
    )
    policy = FetchPolicy.from_settings(settings)
    assert (policy.total_timeout, policy.read_timeout, policy.max_bytes) == (12, 4, 2048)
    assert (policy.concurrency, policy.per_host, policy.max_redirects) == (7, 2, 3)
    assert policy.allow_private
    assert policy.allow_any_port
    strict = FetchPolicy.from_settings(Settings())
    assert not strict.allow_private
    assert not strict.allow_any_port


def test_fetcher_can_be_built_outside_an_event_loop() -> None:
    fetcher = Fetcher(FetchPolicy())
    assert fetcher.policy.max_redirects == 5


async def test_closed_fetcher_refuses_to_fetch(feed_server: FeedServer) -> None:
    feed_server.add("/rss", RSS)
    fetcher = Fetcher(loopback_policy())
    assert isinstance(await fetcher.fetch(feed_server.url("/rss")), FetchResult)
    await fetcher.close()
    with pytest.raises(RuntimeError):
        await fetcher.fetch(feed_server.url("/rss"))
