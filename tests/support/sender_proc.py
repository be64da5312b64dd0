"""briefbot Senders in processes of their own, for tests that SIGKILL them (ADVERSARIAL E46).

One sender, in the foreground::

    python -m tests.support.sender_proc run DATABASE_URL API_BASE [--rate R] [--concurrency N]
        [--lease SECONDS]

It prints `owner=<lease owner>` once it is ready, drains the outbox through the (fake) Bot API
at API_BASE until SIGTERM or SIGINT, then exits 0. Nothing in it is mocked: a real engine, a
real aiogram Bot over HTTP, and the production Sender.

Importing aiogram costs several CPU-seconds, so tests start a *zygote* instead
(``python -m tests.support.sender_proc zygote``, see SenderFarm): it imports everything once,
then forks one sender process per JSON line it reads on stdin
(``{"id": I, "argv": [...], "log": path}``), each in a session of its own with stdout and
stderr going to `log`. It answers ``{"id": I, "pid": N}`` per line, and
``{"exited": N, "code": C}`` when a child ends (C as in `Popen.returncode`: -9 for SIGKILL).
When its stdin closes it kills what is left of its children and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.db.engine import Database, create_engine
from bot.delivery.pacing import SendLimits
from bot.delivery.sender import Sender, SenderPolicy
from bot.delivery.telegram import TelegramTransport
from tests.fakes.botapi import DEFAULT_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The arguments of one sender."""
    parser = argparse.ArgumentParser(prog="sender_proc run")
    parser.add_argument("database_url")
    parser.add_argument("api_base")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lease", type=float, default=5.0)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run one Sender until a stop signal."""
    engine = create_engine(args.database_url)
    api = TelegramAPIServer.from_base(args.api_base)
    bot = Bot(DEFAULT_TOKEN, session=AiohttpSession(api=api))
    limits = SendLimits(per_second=args.rate, burst=args.rate / 10, chat_interval_seconds=0.0)
    sender = Sender(
        database=Database.on(engine),
        transport=TelegramTransport(bot),
        policy=SenderPolicy(
            limits=limits,
            concurrency=args.concurrency,
            lease=timedelta(seconds=args.lease),
            idle_poll_seconds=0.05,
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"owner={sender.owner}", flush=True)
    try:
        await sender.run(stop)
    finally:
        await bot.session.close()
        await engine.dispose()


def _child(argv: list[str], log: str) -> None:
    """In a fresh fork: own session, output to `log`, one sender; never returns."""
    code = 0
    try:
        os.setsid()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        # Fresh file objects: the zygote's own may hold locks or buffered bytes.
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        asyncio.run(serve(parse_args(argv)))
    except BaseException:  # reported in the log and the exit code
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def zygote() -> None:
    """Fork a sender per request line on stdin; report pids and exits on stdout."""
    children: set[int] = set()
    pending = b""

    def say(message: dict[str, int]) -> None:
        """One JSON line to the parent."""
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    try:
        while True:
            ready, _, _ = select.select([0], [], [], 0.02)
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children.discard(pid)
                    say({"exited": pid, "code": os.waitstatus_to_exitcode(status)})
            if not ready:
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(list(request["argv"]), str(request["log"]))
                children.add(pid)
                say({"id": int(request["id"]), "pid": pid})
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


class SenderFarm:
    """Test side of the zygote: spawn senders, wait for their exit codes (thread-safe reads)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "tests.support.sender_proc", "zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._lock = threading.Lock()
        self._requests = 0
        self._pids: dict[int, int] = {}  # request id -> pid
        self._exits: dict[int, int] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            message: dict[str, Any] = json.loads(line)
            with self._lock:
                if "pid" in message:
                    self._pids[int(message["id"])] = int(message["pid"])
                else:
                    self._exits[int(message["exited"])] = int(message["code"])

    async def spawn(self, argv: list[str], log: Path, *, within: float = 90.0) -> int:
        """Fork a sender running `run ARGV` (see serve); returns its pid once forked."""
        assert self._proc.stdin is not None
        self._requests += 1
        request = {"id": self._requests, "argv": argv, "log": str(log)}
        self._proc.stdin.write(json.dumps(request).encode() + b"\n")
        self._proc.stdin.flush()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self._lock:
                if request["id"] in self._pids:
                    return self._pids[request["id"]]
            await asyncio.sleep(0.01)
        raise TimeoutError("the sender zygote did not fork")

    async def wait(self, pid: int, *, within: float) -> int | None:
        """The exit code of child `pid` (None if it is still running after `within` s)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self._lock:
                if pid in self._exits:
                    return self._exits[pid]
            await asyncio.sleep(0.01)
        return None

    @staticmethod
    def owner(log: Path) -> str | None:
        """The lease owner a child printed to its log (None until it is ready)."""
        if not log.exists():
            return None
        lines = log.read_text().splitlines()
        return next((x.removeprefix("owner=") for x in lines if x.startswith("owner=")), None)

    def close(self) -> None:
        """Stop the zygote (it kills whatever children are left)."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def main() -> None:
    """`run ARGS` (one sender) or `zygote`."""
    if sys.argv[1:2] == ["zygote"]:
        zygote()
    elif sys.argv[1:2] == ["run"]:
        asyncio.run(serve(parse_args(sys.argv[2:])))
    else:
        sys.exit("usage: python -m tests.support.sender_proc run|zygote ...")


if __name__ == "__main__":
    main()
