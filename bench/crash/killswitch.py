"""The service as a child process in its own session, and a fake Bot API that can kill it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.botapi import FakeBotAPI, Faults
from tests.fakes.botapi_methods import ApiError, Params

Process = asyncio.subprocess.Process


class KillSwitchBotAPI(FakeBotAPI):
    """The fake Bot API with a trap: call `fire` around the n-th sendMessage it receives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.send_requests = 0
        self._trap: tuple[int, str, float, Callable[[], None]] | None = None

    def arm(self, at: int, phase: str, lag: float, fire: Callable[[], None]) -> None:
        """Fire at request `at`: phase "before" it is recorded, "after", or "later" (+`lag` s)."""
        self._trap = (at, phase, lag, fire)

    def disarm(self) -> None:
        """Remove the trap."""
        self._trap = None

    def _spring(self, phase: str) -> bool:
        if self._trap is None or self.send_requests < self._trap[0]:
            return False
        _, wanted, lag, fire = self._trap
        if wanted == phase:
            self._trap = None
            fire()
            return True
        if wanted == "later" and phase == "after":
            self._trap = None
            asyncio.get_running_loop().call_later(lag, fire)
        return False

    async def send_message(self, params: Params) -> Any:
        """sendMessage with the trap around the recording."""
        self.send_requests += 1
        if self._spring("before"):
            raise ApiError(Faults.INTERNAL)  # killed before Telegram took it: nothing delivered
        result = await super().send_message(params)
        self._spring("after")
        return result


def kill_group(pid: int) -> None:
    """SIGKILL a child's whole session (the service and its parser processes); gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _log_fd(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


async def spawn(args: tuple[str, ...], *, cwd: Path, env: dict[str, str], log: Path) -> Process:
    """`python -m bot ARGS` in a new session, stdout and stderr appended to `log`."""
    fd = _log_fd(log)
    try:
        return await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", *args),
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            start_new_session=True,
        )
    finally:
        os.close(fd)


async def stop(proc: Process, violations: list[str], *, within: float = 30.0) -> None:
    """SIGTERM, then insist on a clean exit (what is left of the session is killed)."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        code: int | None = await asyncio.wait_for(proc.wait(), timeout=within)
    except TimeoutError:
        violations.append(f"final run ignored SIGTERM for {within:.0f} s")
        code = None
    kill_group(proc.pid)
    await proc.wait()
    if code not in (0, None):
        violations.append(f"final run exited with {code} after SIGTERM")


def log_tail(folder: Path | None, lines: int = 15) -> str:
    """The last lines of every log in `folder` (for a failure message)."""
    if folder is None:
        return ""
    parts = []
    for log in sorted(folder.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name}\n" + "\n".join(text))
    return "\n".join(parts)
