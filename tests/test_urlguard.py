"""The static URL guard and the connect-time GuardedResolver (ADVERSARIAL B19-B25)."""

from __future__ import annotations

import socket

import pytest

from bot.errors import BlockedURLError
from bot.ingest.urlguard import (
    GuardedResolver,
    PrivateAddressError,
    check_redirect,
    check_url,
    display_host,
    guard_target,
)
from tests.support.fakedns import FakeResolver

PRIVATE_TARGETS = [
    "http://127.0.0.1:5432/",
    "http://[::1]/",
    "http://10.0.0.5/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/",
    "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://localhost./",
    "http://localhost/",
    "http://feeds.localhost/",
]


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_private_targets_are_refused_at_check_time(url: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        check_url(url, allow_any_port=True)
    assert info.value.reason == "private_address"


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_private_targets_are_refused_by_the_connect_target_guard(url: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        guard_target(url, allow_any_port=True)
    assert info.value.reason == "private_address"


def test_public_url_passes_and_is_returned_stripped() -> None:
    assert check_url("  https://www.belta.by/rss  ") == "https://www.belta.by/rss"
    assert str(guard_target("https://www.belta.by/rss")) == "https://www.belta.by/rss"


def test_allow_private_lets_loopback_and_any_port_through() -> None:
    assert check_url("http://127.0.0.1:8080/feed", allow_private=True)
    assert guard_target("http://127.0.0.1:8080/feed", allow_private=True).port == 8080


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "../.env",
        "ftp://ftp.example.com/feed.xml",
        "gopher://example.com/",
        "feed:http://127.0.0.1/",
        "javascript:alert(1)",
        "data:text/xml,<rss/>",
    ],
)
def test_non_http_schemes_and_local_paths_are_refused(url: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        check_url(url)
    assert info.value.reason == "bad_scheme"


@pytest.mark.parametrize(
    "url", ["https://user:pass@example.com/feed", "https://user@example.com/feed"]
)
def test_credentials_in_url_are_refused_and_not_echoed(url: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        check_url(url)
    assert info.value.reason == "credentials_in_url"
    assert "pass" not in str(info.value).replace("passwords", "")


def test_non_standard_port_needs_the_allow_flag() -> None:
    with pytest.raises(BlockedURLError) as info:
        check_url("http://example.com:22/")
    assert info.value.reason == "port_not_allowed"
    assert check_url("http://example.com:22/", allow_any_port=True)
    assert check_url("https://example.com:443/")


def test_idn_host_is_shown_in_punycode_with_a_warning() -> None:
    shown = display_host("https://gоv.by/news")  # Cyrillic "о"
    assert shown.host == "xn--gv-fmc.by"
    assert str(shown) == "xn--gv-fmc.by"
    assert shown.non_ascii
    assert shown.warning is not None
    assert "xn--gv-fmc.by" in shown.warning


def test_ascii_host_has_no_warning_and_shows_an_odd_port() -> None:
    assert display_host("https://gov.by/news").warning is None
    assert display_host("http://example.com:22/").host == "example.com:22"
    assert display_host("https://example.com:443/").host == "example.com"


def test_redirect_location_is_resolved_relative_to_the_current_url() -> None:
    assert check_redirect("https://a.example/feeds/x", "../rss") == "https://a.example/rss"
    assert check_redirect("https://a.example/x", "//b.example/y") == "https://b.example/y"


def test_redirect_from_https_to_http_is_refused() -> None:
    with pytest.raises(BlockedURLError) as info:
        check_redirect("https://a.example/feed", "http://a.example/feed")
    assert info.value.reason == "insecure_redirect"
    assert check_redirect("http://a.example/feed", "https://a.example/feed")


def test_redirect_to_a_private_address_is_refused() -> None:
    with pytest.raises(BlockedURLError) as info:
        check_redirect("https://a.example/feed", "http://127.0.0.1/")
    assert info.value.reason == "private_address"
    with pytest.raises(BlockedURLError) as info:
        check_redirect("http://a.example/feed", "http://169.254.169.254/latest/")
    assert info.value.reason == "private_address"


async def test_resolver_passes_an_all_public_answer() -> None:
    guard = GuardedResolver(FakeResolver({"news.example": [["93.184.215.14", "2606:4700::1"]]}))
    answers = await guard.resolve("news.example", 443)
    assert [a["host"] for a in answers] == ["93.184.215.14", "2606:4700::1"]


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["93.184.215.14", "10.0.0.1"],  # mixed answers (B21)
        ["93.184.215.14", "127.0.0.1"],
        ["::ffff:127.0.0.1"],  # IPv4-mapped loopback
        ["fe80::1"],
        ["169.254.169.254"],
    ],
)
async def test_resolver_refuses_unless_every_address_is_public(addresses: list[str]) -> None:
    guard = GuardedResolver(FakeResolver({"evil.example": [addresses]}))
    with pytest.raises(PrivateAddressError):
        await guard.resolve("evil.example", 80)


async def test_resolver_checks_every_lookup_so_rebinding_is_caught() -> None:
    inner = FakeResolver({"rebind.example": [["93.184.215.14"], ["127.0.0.1"]]})
    guard = GuardedResolver(inner)
    assert [a["host"] for a in await guard.resolve("rebind.example")] == ["93.184.215.14"]
    with pytest.raises(PrivateAddressError):
        await guard.resolve("rebind.example")


async def test_allowed_hosts_and_allow_private_pass_loopback_answers() -> None:
    table = {"feeds.example": [["127.0.0.1"]], "other.example": [["127.0.0.1"]]}
    guard = GuardedResolver(FakeResolver(table), allowed_hosts=["Feeds.Example."])
    assert (await guard.resolve("feeds.example"))[0]["host"] == "127.0.0.1"
    with pytest.raises(PrivateAddressError):
        await guard.resolve("other.example")
    permissive = GuardedResolver(FakeResolver(table), allow_private=True)
    assert (await permissive.resolve("other.example"))[0]["host"] == "127.0.0.1"


async def test_real_dns_for_localhost_is_refused() -> None:
    guard = GuardedResolver()
    try:
        with pytest.raises(PrivateAddressError):
            await guard.resolve("localhost", 80, socket.AF_UNSPEC)
    finally:
        await guard.close()


async def test_closing_the_guard_closes_the_wrapped_resolver() -> None:
    inner = FakeResolver({})
    await GuardedResolver(inner).close()
    assert inner.closed
