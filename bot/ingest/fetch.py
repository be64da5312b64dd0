"""HTTP fetch of feed URLs behind the SSRF guard, with size, time and redirect limits."""

from __future__ import annotations

import asyncio
import hashlib
import http
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from bot import __version__
from bot.errors import BlockedURLError, FetchError
from bot.ingest.budget import unbilled
from bot.ingest.types import BodyAdmission, FetchResult, NotModified, Validators
from bot.ingest.urlguard import (
    GuardedResolver,
    PrivateAddressError,
    check_redirect,
    display_host,
    guard_target,
)

if TYPE_CHECKING:
    from bot.config.settings import Settings

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
READ_CHUNK = 64 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
NO_VALIDATORS = Validators()
# Guarded URLs a fetcher remembers; more distinct URLs than this (never in practice) start over.
GUARD_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for every fetch: timeouts, body cap, concurrency, redirects, private access."""

    total_timeout: float = 30.0  # whole fetch, all redirect hops and the body included
    read_timeout: float = 15.0  # longest silence between two reads
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024  # decompressed body cap
    concurrency: int = 50
    per_host: int = 4
    max_redirects: int = 5
    allow_private: bool = False
    # Non-80/443 ports; from_settings ties it to allow_private, tests may set it alone.
    allow_any_port: bool = False
    user_agent: str = f"briefbot/{__version__} (+feed reader; polls public news feeds)"

    def __post_init__(self) -> None:
        if min(self.total_timeout, self.read_timeout, self.connect_timeout) <= 0:
            raise ValueError("fetch timeouts must be positive")
        if self.max_bytes <= 0 or self.concurrency <= 0 or self.per_host <= 0:
            raise ValueError("max_bytes, concurrency and per_host must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """The policy the running service uses, read from Settings."""
        return cls(
            total_timeout=settings.fetch_timeout_seconds,
            read_timeout=settings.fetch_read_timeout_seconds,
            connect_timeout=min(10.0, settings.fetch_timeout_seconds),
            max_bytes=settings.fetch_max_bytes,
            concurrency=settings.fetch_concurrency,
            per_host=settings.fetch_per_host,
            max_redirects=settings.fetch_max_redirects,
            allow_private=settings.allow_private_networks,
            allow_any_port=settings.allow_private_networks,
        )


class Fetcher:
    """One shared HTTP session fetching feeds under a FetchPolicy; use `async with`."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: AbstractResolver | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        # `resolver` replaces the system DNS (tests inject fakes); it is always wrapped in
        # the guard. `allowed_hosts` skip the address check (see GuardedResolver).
        self.policy = policy
        self._inner_resolver = resolver
        self._allowed_hosts = tuple(allowed_hosts)
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None
        self._closed = False
        # URL text -> the target guard_target allowed. The check depends only on the text and
        # this fetcher's policy (no DNS, no clock), and every cycle fetches the same URLs.
        # Refusals are not kept: they raise again, from scratch, each time.
        self._guarded: dict[str, URL] = {}

    async def __aenter__(self) -> Self:
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and the resolver; later fetches raise RuntimeError."""
        self._closed = True
        session, resolver = self._session, self._resolver
        self._session = self._resolver = None
        if session is not None:
            await session.close()
        if resolver is not None:
            await resolver.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("Fetcher is closed")
        if self._session is None:
            # Built here, inside the running loop: aiohttp binds the loop on creation.
            policy = self.policy
            self._resolver = GuardedResolver(
                self._inner_resolver,
                allow_private=policy.allow_private,
                allowed_hosts=self._allowed_hosts,
            )
            connector = aiohttp.TCPConnector(
                limit=policy.concurrency, limit_per_host=policy.per_host, resolver=self._resolver
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # sock_connect, not connect: waiting for a pool slot (per_host) is not a
                # connect failure; the total timeout in fetch() bounds the whole wait.
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=policy.connect_timeout,
                    sock_read=policy.read_timeout,
                ),
                headers={"User-Agent": policy.user_agent, "Accept": ACCEPT},
                # Feeds must not share cookies, and environment proxies would bypass the guard.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def fetch(
        self,
        url: str,
        validators: Validators = NO_VALIDATORS,
        *,
        admit_body: BodyAdmission | None = None,
    ) -> FetchResult | NotModified:
        """Fetch a feed URL; return its body or NotModified, or raise FetchError.

        `admit_body` is awaited once the answer is known to carry a body, before it is read
        (not for a 304 or an error); the time it takes is not charged to the total timeout.
        """
        session = self._ensure_session()
        try:
            async with asyncio.timeout(self.policy.total_timeout) as budget:
                admit = unbilled(budget, admit_body) if admit_body is not None else None
                return await self._follow(session, url, validators, admit)
        except FetchError:
            raise
        except TimeoutError as exc:
            detail = f"no complete answer from {display_host(url)} within the time limit"
            raise FetchError("timeout", detail) from exc
        except aiohttp.ClientError as exc:
            raise _translate(exc, url) from exc
        except (OSError, ValueError) as exc:
            raise FetchError("network_error", f"fetching {display_host(url)} failed") from exc

    async def _follow(
        self,
        session: aiohttp.ClientSession,
        url: str,
        validators: Validators,
        admit: BodyAdmission | None,
    ) -> FetchResult | NotModified:
        policy = self.policy
        current = self._guard(url)
        all_permanent = True
        for hop in range(policy.max_redirects + 1):
            async with session.get(
                current, headers=_conditional_headers(validators), allow_redirects=False
            ) as resp:
                if resp.status not in REDIRECT_STATUSES:
                    # Only a chain of permanent hops means the feed itself has moved.
                    moved = str(current) if hop and all_permanent else None
                    return await self._finish(
                        url, str(current), resp, validators, moved_to=moved, admit=admit
                    )
                if hop == policy.max_redirects:
                    break
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError("bad_redirect", f"HTTP {resp.status} without a Location")
                all_permanent = all_permanent and resp.status in PERMANENT_REDIRECTS
                current = self._guard_hop(str(current), location, hop + 1)
        raise FetchError("too_many_redirects", f"more than {policy.max_redirects} redirects")

    def _guard(self, url: str) -> URL:
        target = self._guarded.get(url)
        if target is None:
            policy = self.policy
            target = guard_target(
                url, allow_private=policy.allow_private, allow_any_port=policy.allow_any_port
            )
            if len(self._guarded) >= GUARD_CACHE_SIZE:
                self._guarded.clear()
            self._guarded[url] = target
        return target

    def _guard_hop(self, current: str, location: str, hop: int) -> URL:
        policy = self.policy
        try:
            target = check_redirect(
                current,
                location,
                allow_private=policy.allow_private,
                allow_any_port=policy.allow_any_port,
            )
            return self._guard(target)
        except BlockedURLError as exc:
            raise BlockedURLError(exc.reason, f"redirect {hop} refused: {exc.detail}") from exc

    async def _finish(
        self,
        url: str,
        final_url: str,
        resp: aiohttp.ClientResponse,
        sent: Validators,
        *,
        moved_to: str | None,
        admit: BodyAdmission | None,
    ) -> FetchResult | NotModified:
        headers = _lower_headers(resp)
        max_age = parse_max_age(headers.get("cache-control"))
        if resp.status == 304:
            kept = Validators(
                etag=headers.get("etag") or sent.etag,
                last_modified=headers.get("last-modified") or sent.last_modified,
            )
            return NotModified(url=url, validators=kept, moved_to=moved_to, max_age=max_age)
        _raise_for_status(resp.status, headers)
        if admit is not None:
            # A body under the socket's buffer has arrived whole by now; a larger one waits
            # in the kernel, and a wait longer than read_timeout fails it as a stall.
            await admit()
        body = await _read_capped(resp, self.policy.max_bytes)
        headers["content-location"] = final_url
        return FetchResult(
            url=url,
            final_url=final_url,
            status=resp.status,
            body=body,
            headers=headers,
            validators=Validators(headers.get("etag"), headers.get("last-modified")),
            body_hash=hashlib.sha256(body).hexdigest(),
            moved_to=moved_to,
            max_age=max_age,
        )


def _conditional_headers(validators: Validators) -> dict[str, str]:
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _lower_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in resp.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _status_text(status: int) -> str:
    # The standard phrase, not the server's: the reason line is attacker-controlled text.
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _raise_for_status(status: int, headers: dict[str, str]) -> None:
    if 200 <= status < 300:
        return
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 429 or (status == 503 and retry_after is not None):
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        raise FetchError("rate_limited", _status_text(status) + wait, retry_after=retry_after)
    raise FetchError("http_status", _status_text(status))


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the (decompressed) body, aborting as soon as it passes max_bytes."""
    too_large = FetchError("too_large", f"the body is larger than {max_bytes} bytes")
    if resp.content_length is not None and resp.content_length > max_bytes:
        resp.close()
        raise too_large
    body = bytearray()
    # aiohttp decompresses as it reads, so this counts decompressed bytes (gzip bombs).
    async for chunk in resp.content.iter_chunked(READ_CHUNK):
        if len(body) + len(chunk) > max_bytes:
            resp.close()  # drop the connection rather than drain an endless body
            raise too_large
        body += chunk
    return bytes(body)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP date), else None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)


def parse_max_age(value: str | None) -> float | None:
    """The max-age of a Cache-Control header in seconds, else None."""
    if not value:
        return None
    for directive in value.split(","):
        name, _, arg = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            arg = arg.strip().strip('"')
            return float(arg) if arg.isdigit() else None
    return None


_SSL_ERRORS = (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)
_LOST_ERRORS = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)
_BAD_ANSWER_ERRORS = (aiohttp.ClientPayloadError, aiohttp.ClientResponseError)
# Checked in order, subclasses before their bases; {host} is the host in display form.
_CLIENT_ERRORS: tuple[tuple[tuple[type[Exception], ...], str, str], ...] = (
    (_SSL_ERRORS, "tls_failed", "TLS with {host} failed (certificate or handshake)"),
    ((aiohttp.ClientConnectorError,), "connect_failed", "could not connect to {host}"),
    (_LOST_ERRORS, "connection_lost", "{host} closed the connection mid-answer"),
    (_BAD_ANSWER_ERRORS, "bad_response", "{host} sent a malformed HTTP answer"),
)


def _translate(exc: aiohttp.ClientError, url: str) -> FetchError:
    """Map an aiohttp error to a FetchError with a staff-readable reason."""
    host = display_host(url)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        if isinstance(exc.os_error, PrivateAddressError):
            return BlockedURLError("private_address", str(exc.os_error))
        return FetchError("dns_failed", f"could not resolve {host}")
    if isinstance(exc, aiohttp.InvalidURL):
        return BlockedURLError("bad_url", "not a valid URL")
    for kinds, reason, template in _CLIENT_ERRORS:
        if isinstance(exc, kinds):
            return FetchError(reason, template.format(host=host))
    return FetchError("network_error", f"fetching {host} failed")
