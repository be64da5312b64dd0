"""The SSRF guard: which URLs and addresses briefbot may fetch."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from bot.errors import BlockedURLError

ALLOWED_SCHEMES = ("http", "https")
STANDARD_PORTS = (80, 443)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def unwrap(address: IPAddress) -> IPAddress:
    """Unwrap IPv4-mapped and 6to4/Teredo-style IPv6 forms to the IPv4 address they carry."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def is_public_address(address: str) -> bool:
    """True when the address is globally routable (not loopback, private, link-local...)."""
    try:
        parsed = unwrap(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return False
    return parsed.is_global and not parsed.is_multicast


def literal_address(host: str) -> str | None:
    """The IP address a host string denotes by itself (incl. `2130706433`, `0x7f.1`), or None."""
    bare = host.strip("[]")
    try:
        return str(ipaddress.ip_address(bare.split("%", 1)[0]))
    except ValueError:
        pass
    # inet_aton accepts the legacy decimal, octal and short IPv4 forms browsers also accept.
    if bare and all(c in "0123456789abcdefxABCDEFX." for c in bare) and bare[0].isdigit():
        try:
            return socket.inet_ntoa(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def check_url(url: str, *, allow_private: bool = False, allow_any_port: bool = False) -> str:
    """Validate a feed URL before any connection; return it stripped or raise BlockedURLError."""
    candidate = url.strip()
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as exc:
        raise BlockedURLError("bad_url", f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise BlockedURLError("bad_scheme", f"only http and https are fetched ({shown})")
    if parts.username is not None or parts.password is not None:
        raise BlockedURLError(
            "credentials_in_url", "user names and passwords are not allowed in URLs"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise BlockedURLError("bad_url", "the URL has no host")
    if allow_private:
        return candidate
    if port is not None and port not in STANDARD_PORTS and not allow_any_port:
        raise BlockedURLError("port_not_allowed", f"port {port} needs an explicit allow flag")
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise BlockedURLError("private_address", f"{host} is a local name")
    address = literal_address(host)
    if address is not None and not is_public_address(address):
        raise BlockedURLError("private_address", f"{address} is not a public address")
    return candidate


def guard_target(url: str, *, allow_private: bool = False, allow_any_port: bool = False) -> URL:
    """check_url, then the same checks on yarl's reading of the URL (what aiohttp connects to)."""
    checked = check_url(url, allow_private=allow_private, allow_any_port=allow_any_port)
    try:
        target = URL(checked)
    except ValueError as exc:
        raise BlockedURLError("bad_url", "not a valid URL") from exc
    if target.user is not None or target.password is not None:
        raise BlockedURLError("credentials_in_url", "user names and passwords are not allowed")
    if allow_private:
        return target  # every address is allowed: parsing the host again would decide nothing
    # Literal IPs never reach the resolver, so both parsers must agree on them.
    address = literal_address(target.raw_host or "")
    if address is not None and not is_public_address(address):
        raise BlockedURLError("private_address", f"{address} is not a public address")
    return target


def check_redirect(
    current: str, location: str, *, allow_private: bool = False, allow_any_port: bool = False
) -> str:
    """Resolve a Location header against the current URL and guard the hop, or raise."""
    target = urljoin(current, location.strip())
    checked = check_url(target, allow_private=allow_private, allow_any_port=allow_any_port)
    # A feed that was fetched over TLS must not be silently continued in clear text.
    if urlsplit(current).scheme.lower() == "https" and urlsplit(checked).scheme.lower() == "http":
        raise BlockedURLError("insecure_redirect", "redirect from https to http refused")
    return checked


@dataclass(frozen=True, slots=True)
class DisplayHost:
    """A URL's host as staff should see it: ASCII (punycode), with a look-alike warning."""

    host: str  # ASCII form, punycode for internationalised names, ":port" when non-standard
    original: str  # the host as written in the URL (may contain non-ASCII letters)
    non_ascii: bool  # True when the written host has non-ASCII characters (IDN homograph risk)

    @property
    def warning(self) -> str | None:
        """A short staff-facing warning when the host could imitate another, else None."""
        if not self.non_ascii:
            return None
        return f"{self.original} contains non-ASCII letters; it is really {self.host}"

    def __str__(self) -> str:
        return self.host


def display_host(url: str) -> DisplayHost:
    """The host of `url` in punycode, flagged when it was written with non-ASCII letters."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), None
    original = (parts.hostname or "").rstrip(".")
    non_ascii = not original.isascii()
    try:
        ascii_host = original.encode("idna").decode("ascii") if non_ascii else original
    except UnicodeError:
        # Not a valid IDN: escape it so no look-alike letter reaches the screen unescaped.
        ascii_host = original.encode("ascii", "backslashreplace").decode("ascii")
    if ":" in ascii_host:
        ascii_host = f"[{ascii_host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if port is not None and port != default:
        ascii_host = f"{ascii_host}:{port}"
    return DisplayHost(host=ascii_host, original=original, non_ascii=non_ascii)


class PrivateAddressError(OSError):
    """A name resolved to an address the guard refuses; fetch reports it as private_address."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that returns answers only when every address is public.

    The connector connects only to what this returns, so the address validated is the
    address connected to; checking here (not before the request) covers DNS rebinding and
    every redirect hop. `allowed_hosts` names hosts whose answers are passed unchecked:
    meant for tests that map a public-looking name to a loopback server, and for pinned
    on-premise names. `allow_private=True` passes every answer.
    """

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        allow_private: bool = False,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        # ThreadedResolver binds the running loop, so it is created here, not at import.
        self._inner = inner if inner is not None else ThreadedResolver()
        self._allow_private = allow_private
        self._allowed_hosts = frozenset(_host_key(h) for h in allowed_hosts)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve with the inner resolver; raise PrivateAddressError unless all are public."""
        answers = await self._inner.resolve(host, port, family)
        if not answers:
            raise OSError(f"{host} has no addresses")
        if self._allow_private or _host_key(host) in self._allowed_hosts:
            return list(answers)
        for answer in answers:
            # One private answer refuses the whole name: a mixed set is a rebinding setup.
            if not is_public_address(answer["host"]):
                raise PrivateAddressError(host, answer["host"])
        return list(answers)

    async def close(self) -> None:
        """Close the wrapped resolver (the guard owns it)."""
        await self._inner.close()


def _host_key(host: str) -> str:
    return host.strip().rstrip(".").lower()
