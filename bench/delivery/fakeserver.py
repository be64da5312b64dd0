"""The fake Bot API with the benchmark's faults, run as a child process with a control port.

    python -m bench.delivery.fakeserver --token T --blocked FILE --storm-after N

tests/fakes/botapi.py's FakeBotAPI (rate limits, 403 chats, the 429 storm) plus what it
lacks: a seeded share of sends answered 5xx, a storm that starts by itself once N messages
were accepted (so every contender meets it at the same point of its run), and an optional
delay before each request is handled, standing for the round trip to Telegram. A second
aiohttp app on another loopback port answers GET /_report. The server stops when its stdin
closes (the parent went away) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.botapi import SEND_METHODS, FakeBotAPI
from tests.fakes.botapi_faults import Fault, Faults

LOOPBACK = "127.0.0.1"
SERVER_ERRORS = (Faults.INTERNAL, Faults.BAD_GATEWAY)


class FaultyBotAPI(FakeBotAPI):
    """FakeBotAPI answering a random share of sends with 5xx and starting one 429 storm."""

    def __init__(
        self,
        token: str,
        *,
        error_rate: float,
        seed: int,
        storm_after: int,
        storm_seconds: float,
        storm_retry_after: int,
        latency: float = 0.0,
    ) -> None:
        super().__init__(token)
        self.latency = latency
        self.error_rate = error_rate
        self.rng = random.Random(seed)
        self.storm_after = storm_after
        self.storm_seconds = storm_seconds
        self.storm_retry_after = storm_retry_after
        self.storm_window: tuple[float, float] | None = None
        self.injected: Counter[str] = Counter()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # The way to Telegram and back: the request reaches the limiter this much later.
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super()._handle(request)

    def _pick_fault(self, method: str, chat_id: int | None) -> Fault | None:
        if method not in SEND_METHODS:
            return super()._pick_fault(method, chat_id)
        if self.storm_window is None and self.storm_after and len(self.sent) >= self.storm_after:
            start = self.clock()
            self.storm_window = (start, start + self.storm_seconds)
            self.storm_429(self.storm_seconds, retry_after=self.storm_retry_after)
        fault = super()._pick_fault(method, chat_id)
        if fault is not None:
            self.injected["storm_429" if fault.status == 429 else f"chat_{fault.status}"] += 1
            return fault
        if self.rng.random() < self.error_rate:
            fault = self.rng.choice(SERVER_ERRORS)
            self.injected[f"random_{fault.status}"] += 1
            return fault
        return None

    def report(self) -> dict[str, Any]:
        """What happened to every send request, and every accepted message per chat."""
        sends = [c for c in self.call_log if c.method.lower() in SEND_METHODS]
        return {
            "storm_window": self.storm_window,
            "injected": dict(self.injected),
            "send_requests": len(sends),
            "statuses": dict(Counter(str(c.status) for c in sends)),
            "times_429": [c.at for c in sends if c.status == 429],
            "accepted": [[m.chat_id, m.accepted_at, len(m.text or "")] for m in self.sent],
        }


def _stop_at_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    sys.stdin.read()  # returns when the parent closes our stdin (or dies)
    with contextlib.suppress(RuntimeError):  # the loop may be closed already
        loop.call_soon_threadsafe(stop.set)


async def serve(args: argparse.Namespace, blocked: Sequence[int]) -> None:
    """Start the fake and its control app, print both ports, run until told to stop."""
    fake = FaultyBotAPI(
        args.token,
        error_rate=args.error_rate,
        seed=args.seed,
        storm_after=args.storm_after,
        storm_seconds=args.storm_seconds,
        storm_retry_after=args.storm_retry_after,
        latency=args.latency_ms / 1000,
    )
    for chat_id in blocked:
        fake.fail_chat(chat_id, Faults.BLOCKED if chat_id > 0 else Faults.KICKED)

    async def report(_: web.Request) -> web.Response:
        return web.json_response(fake.report())

    control = web.Application()
    control.router.add_get("/_report", report)
    runner = web.AppRunner(control, access_log=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # A daemon thread: a blocked read must not keep the process alive after SIGTERM.
    threading.Thread(target=_stop_at_eof, args=(loop, stop), daemon=True).start()
    async with fake:
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(json.dumps({"api": fake.base_url, "control": f"http://{LOOPBACK}:{port}"}))
        sys.stdout.flush()
        await stop.wait()
        await runner.cleanup()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The server's command line."""
    parser = argparse.ArgumentParser(description="Fake Bot API with the benchmark's faults.")
    parser.add_argument("--token", required=True)
    parser.add_argument("--blocked", default="", help="JSON list of chat ids answering 403")
    parser.add_argument("--error-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--storm-after", type=int, default=0, help="accepted sends; 0: none")
    parser.add_argument("--storm-seconds", type=float, default=5.0)
    parser.add_argument("--storm-retry-after", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    return parser.parse_args(argv)


def main() -> None:
    """Command line entry point."""
    started = time.monotonic()
    args = parse_args()
    blocked = json.loads(Path(args.blocked).read_text()) if args.blocked else []
    asyncio.run(serve(args, blocked))
    print(f"fake Bot API stopped after {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
