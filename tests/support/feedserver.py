"""A loopback HTTP server that serves canned feeds and misbehaving answers to tests.

Usage (the `feed_server` fixture gives a started server)::

    feed_server.add("/rss", b"<rss/>", etag='"v1"')
    url = feed_server.url("/rss")          # http://127.0.0.1:<port>/rss
    ...fetch url...
    assert feed_server.hits("/rss") == 1
    assert feed_server.not_modified("/rss") == 0

Routes can be added or replaced while the server runs. Unknown paths answer 404.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import pytest_asyncio
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ZERO_BLOCK = bytes(1024 * 1024)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # case-insensitive (aiohttp CIMultiDict)


@dataclass(slots=True)
class _Static:
    body: bytes
    status: int
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    honour_validators: bool
    delay_seconds: float = 0.0


class FeedServer:
    """aiohttp server on 127.0.0.1 (free port); an async context manager."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._hits: Counter[str] = Counter()
        self._not_modified: Counter[str] = Counter()
        self._routes: dict[str, Handler] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind to 127.0.0.1 on a free port and start serving."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # Cancel handlers whose client left, so slow and endless routes stop at once;
        # a short shutdown timeout keeps test teardown fast.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("FeedServer is not started")
        return self._port

    def url(self, path: str = "/") -> str:
        """Absolute http://127.0.0.1:<port> URL for a path."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "application/rss+xml",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        honour_validators: bool = True,
        delay_seconds: float = 0.0,
    ) -> None:
        """Serve a fixed body, `delay_seconds` after the request; with etag/last_modified,
        answer matching conditional GETs 304."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        static = _Static(
            body=data,
            status=status,
            headers={"Content-Type": content_type, **(headers or {})},
            etag=etag,
            last_modified=last_modified,
            honour_validators=honour_validators,
            delay_seconds=delay_seconds,
        )
        self._routes[path] = lambda request: self._serve_static(request, static, path)

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        """Answer with a redirect; `to` is sent as the Location header verbatim."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        self._routes[path] = handler

    def slow(self, path: str, chunk: bytes = b"x", every_seconds: float = 10.0) -> None:
        """Send headers at once, then `chunk` every `every_seconds`, forever (slowloris)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            await response.prepare(request)
            while True:
                await response.write(chunk)
                await asyncio.sleep(every_seconds)

        self._routes[path] = handler

    def endless(self, path: str, chunk_size: int = 64 * 1024) -> None:
        """Stream a chunked body that never ends, as fast as the client reads."""
        block = b"<item>" + b"x" * max(0, chunk_size - 6)

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            await response.prepare(request)
            while True:
                await response.write(block)

        self._routes[path] = handler

    def gzip_bomb(self, path: str, expanded_bytes: int) -> None:
        """Serve a gzip body (Content-Encoding: gzip) that expands to `expanded_bytes` zeros."""
        self.add(path, gzip_zeros(expanded_bytes), headers={"Content-Encoding": "gzip"})

    def hits(self, path: str) -> int:
        """How many requests arrived for a path (any answer, including 304 and 404)."""
        return self._hits[path]

    def not_modified(self, path: str) -> int:
        """How many 304 Not Modified answers were served for a path."""
        return self._not_modified[path]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests for one path, oldest first."""
        return [r for r in self.requests if r.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.append(
            RecordedRequest(request.method, path, request.query_string, request.headers.copy())
        )
        self._hits[path] += 1
        handler = self._routes.get(path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    async def _serve_static(
        self, request: web.Request, static: _Static, path: str
    ) -> web.StreamResponse:
        if static.delay_seconds:
            await asyncio.sleep(static.delay_seconds)
        validators: dict[str, str] = {}
        if static.etag is not None:
            validators["ETag"] = static.etag
        if static.last_modified is not None:
            validators["Last-Modified"] = static.last_modified
        if static.honour_validators and _matches(request, static.etag, static.last_modified):
            self._not_modified[path] += 1
            return web.Response(status=304, headers=validators)
        return web.Response(
            status=static.status, body=static.body, headers={**static.headers, **validators}
        )


def _matches(request: web.Request, etag: str | None, last_modified: str | None) -> bool:
    """RFC 9110 precedence: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if etag is None:
            return False
        wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in wanted or etag.removeprefix("W/") in wanted
    since = request.headers.get("If-Modified-Since")
    if since is None or last_modified is None:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return since == last_modified


def gzip_zeros(expanded_bytes: int) -> bytes:
    """A gzip stream of `expanded_bytes` zero bytes, built 1 MiB at a time (small memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    remaining = expanded_bytes
    view = memoryview(ZERO_BLOCK)
    while remaining > 0:
        step = min(remaining, len(ZERO_BLOCK))
        parts.append(compressor.compress(view[:step]))
        remaining -= step
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest_asyncio.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A started FeedServer, stopped after the test."""
    async with FeedServer() as server:
        yield server
