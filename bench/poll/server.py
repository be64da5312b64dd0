"""Serves a generated corpus from memory over HTTP on 127.0.0.1, for the poll benchmark.

    python -m bench.poll.server --feeds 500 --entries 40 [--latency-ms 50] [--ignore-validators]

Feeds are at /feeds/<n>.xml with ETag and Last-Modified; conditional GETs get 304 unless
--ignore-validators. Control: POST /_advance?entries=K[&feed=n], GET /_stats,
POST /_reset_stats. Once listening it prints one JSON line with its ports, then serves
until stdin closes or SIGTERM/SIGINT arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import select
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from bench.poll.generate import DEFAULT_ANCHOR, DEFAULT_SEED, Corpus

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(slots=True)
class Stats:
    """Request counters since the last reset."""

    requests: int = 0
    ok: int = 0
    not_modified: int = 0
    conditional: int = 0
    bytes_sent: int = 0
    not_found: int = 0


@dataclass(frozen=True, slots=True)
class Document:
    """One rendered feed and its validators."""

    body: bytes
    etag: str
    last_modified: datetime


class FeedStore:
    """The corpus, rendered documents and validators, and the counters."""

    def __init__(self, corpus: Corpus, *, latency: float, ignore_validators: bool) -> None:
        self.corpus = corpus
        self.latency = latency
        self.ignore_validators = ignore_validators
        self.stats = Stats()
        self.docs: list[Document] = []
        started = datetime.now(UTC).replace(microsecond=0)
        for i in range(len(corpus.specs)):
            self.docs.append(self._document(i, started))

    def _document(self, index: int, modified: datetime) -> Document:
        body = self.corpus.render(index)
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"'
        return Document(body, etag, modified)

    def advance(self, entries: int, feed: int | None) -> None:
        """Add entries to one feed or every feed; each changed feed gets new validators."""
        self.corpus.advance(entries, feed)
        targets = range(len(self.docs)) if feed is None else (feed,)
        now = datetime.now(UTC).replace(microsecond=0)
        for i in targets:
            # HTTP dates have one-second resolution: a change must move Last-Modified.
            modified = max(now, self.docs[i].last_modified + timedelta(seconds=1))
            self.docs[i] = self._document(i, modified)

    def is_fresh(self, request: web.Request, doc: Document) -> bool:
        """True when the client's validators match the document (RFC 9110 13.2.2 order)."""
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return doc.etag in tags or "*" in tags
        since = request.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return doc.last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False


STORE = web.AppKey("store", FeedStore)


def _conditional(request: web.Request) -> bool:
    return "If-None-Match" in request.headers or "If-Modified-Since" in request.headers


async def feed_handler(request: web.Request) -> web.Response:
    """GET /feeds/<n>.xml: the document, or 304 when the validators match."""
    store: FeedStore = request.app[STORE]
    store.stats.requests += 1
    store.stats.conditional += _conditional(request)
    await asyncio.sleep(store.latency)
    name = request.match_info["name"]
    index = int(name) if name.isdigit() else -1
    if not 0 <= index < len(store.docs):
        store.stats.not_found += 1
        raise web.HTTPNotFound()
    doc = store.docs[index]
    headers = {"ETag": doc.etag, "Last-Modified": format_datetime(doc.last_modified, usegmt=True)}
    if not store.ignore_validators and store.is_fresh(request, doc):
        store.stats.not_modified += 1
        return web.Response(status=304, headers=headers)
    store.stats.ok += 1
    store.stats.bytes_sent += len(doc.body)
    kind = store.corpus.specs[index].kind
    content_type = "application/rss+xml" if kind == "rss" else "application/atom+xml"
    return web.Response(body=doc.body, headers=headers, content_type=content_type, charset="utf-8")


async def advance_handler(request: web.Request) -> web.Response:
    """POST /_advance?entries=K[&feed=n]: add K entries to every feed (or feed n)."""
    store: FeedStore = request.app[STORE]
    try:
        entries = int(request.query.get("entries", "1"))
        feed = int(request.query["feed"]) if "feed" in request.query else None
        # Rendering 500 feeds takes a moment; keep the loop answering meanwhile.
        await asyncio.to_thread(store.advance, entries, feed)
    except (ValueError, IndexError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response({"distinct_entries": store.corpus.distinct_entries()})


async def stats_handler(request: web.Request) -> web.Response:
    """GET /_stats: counters since the last reset and the corpus totals."""
    store: FeedStore = request.app[STORE]
    corpus = store.corpus
    return web.json_response(
        {
            **asdict(store.stats),
            "feeds": len(corpus.specs),
            "distinct_entries": corpus.distinct_entries(),
            "corpus_bytes": sum(len(d.body) for d in store.docs),
            "ignore_validators": store.ignore_validators,
            "latency_ms": round(store.latency * 1000, 3),
        }
    )


async def reset_handler(request: web.Request) -> web.Response:
    """POST /_reset_stats: zero the counters."""
    request.app[STORE].stats = Stats()
    return web.json_response({"ok": True})


def make_app(store: FeedStore) -> web.Application:
    """The aiohttp application serving `store`."""
    app = web.Application()
    app[STORE] = store
    app.router.add_get("/feeds/{name}.xml", feed_handler)
    app.router.add_post("/_advance", advance_handler)
    app.router.add_get("/_stats", stats_handler)
    app.router.add_post("/_reset_stats", reset_handler)
    return app


async def serve(store: FeedStore, ports: int, stop: asyncio.Event) -> None:
    """Listen on `ports` loopback ports (0 = any free one), announce them, serve until `stop`."""
    runner = web.AppRunner(make_app(store), access_log=None)
    await runner.setup()
    try:
        bound: list[int] = []
        for _ in range(ports):
            site = web.TCPSite(runner, LOOPBACK, 0, backlog=1024)
            await site.start()
            bound.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        print(json.dumps({"host": LOOPBACK, "ports": bound}), flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def _stop_on_signals_and_stdin(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the parent went away
        loop.call_soon_threadsafe(stop.set)

    if not sys.stdin.isatty():
        loop.run_in_executor(None, watch_stdin)


async def amain(args: argparse.Namespace) -> None:
    """Build the corpus and serve it."""
    anchor = datetime.fromisoformat(args.anchor) if args.anchor else DEFAULT_ANCHOR
    corpus = Corpus(args.feeds, args.entries, seed=args.seed, anchor=anchor)
    store = FeedStore(
        corpus, latency=args.latency_ms / 1000, ignore_validators=args.ignore_validators
    )
    stop = asyncio.Event()
    _stop_on_signals_and_stdin(stop)
    await serve(store, args.ports, stop)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The server's command line."""
    parser = argparse.ArgumentParser(description="Serve a generated feed corpus on 127.0.0.1.")
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=40)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--anchor", default="", help="ISO time of the newest entries")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--ignore-validators", action="store_true")
    parser.add_argument("--ports", type=int, default=1, help="listen on this many ports")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    asyncio.run(amain(parse_args(argv)))


class ServerProcess:
    """Runs this server as a child process and talks to its control endpoints (for run.py)."""

    def __init__(self, python: str, args: Sequence[str], *, ready_timeout: float = 120.0) -> None:
        argv = [python, "-m", "bench.poll.server", *args]
        # stdin stays open while we live: the server stops when it closes.
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO_ROOT
        )
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], ready_timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.close()
            raise RuntimeError("the feed server did not start")
        self.ports: list[int] = json.loads(line)["ports"]
        self.base = f"http://{LOOPBACK}:{self.ports[0]}"

    def feed_url(self, index: int) -> str:
        """The URL of feed `index`, spread round-robin over the listening ports."""
        return f"http://{LOOPBACK}:{self.ports[index % len(self.ports)]}/feeds/{index}.xml"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(self.base + path, method=method)
        with self._opener.open(request, timeout=120) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def stats(self) -> dict[str, Any]:
        """GET /_stats."""
        return self._call("GET", "/_stats")

    def reset_stats(self) -> None:
        """POST /_reset_stats."""
        self._call("POST", "/_reset_stats")

    def advance(self, entries: int) -> dict[str, Any]:
        """POST /_advance?entries=K: K new entries in every feed."""
        return self._call("POST", f"/_advance?entries={entries}")

    def fetch(self, index: int) -> bytes:
        """GET one feed without validators."""
        with self._opener.open(self.feed_url(index), timeout=60) as resp:
            body: bytes = resp.read()
        return body

    def close(self) -> None:
        """Stop the server: close its stdin, then terminate it if it lingers."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    main()
