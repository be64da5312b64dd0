"""Child processes of the runner: the fake Bot API server and the measured phases.

The runner itself imports neither aiogram nor SQLAlchemy, so a child's getrusage peak
(which Linux carries over from the parent's RSS at fork time) is the child's own.
"""

from __future__ import annotations

import json
import resource
import select
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[2]


def usage() -> dict[str, float]:
    """This process so far: getrusage's peak RSS, the kernel's VmHWM (MB), CPU seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    status = Path("/proc/self/status").read_text()
    hwm = int(status.split("VmHWM:", 1)[1].split()[0]) if "VmHWM:" in status else 0
    return {
        "peak_rss_mb": own.ru_maxrss / 1024,
        "vm_hwm_mb": hwm / 1024,
        "cpu_s": own.ru_utime + own.ru_stime,
    }


def rss_mb() -> float:
    """This process's resident set size now (MB)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:", 1)[1].split()[0]) / 1024


def phase(name: str, *options: str) -> dict[str, Any]:
    """Run one phase of bench.delivery.worker in a child process; its JSON result."""
    argv = [sys.executable, "-m", "bench.delivery.worker", name, *options]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class ServerProcess:
    """The fake as a child process: its API base URL and its report (for run.py)."""

    def __init__(self, args: Sequence[str], *, ready_timeout: float = 60.0) -> None:
        argv = [sys.executable, "-m", "bench.delivery.fakeserver", *args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], ready_timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.close()
            raise RuntimeError("the fake Bot API did not start")
        ports = json.loads(line)
        self.api: str = ports["api"]
        self._control: str = ports["control"]

    def report(self) -> dict[str, Any]:
        """GET /_report."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self._control}/_report", timeout=120) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def close(self) -> None:
        """Stop the child: close its stdin, terminate it if it lingers."""
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
