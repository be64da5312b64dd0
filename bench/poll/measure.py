"""Runs a command and measures its process tree: wall, CPU and memory, from wait4 and /proc."""

from __future__ import annotations

import json
import os
import platform
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.1
REAPER = Path(__file__).with_name("reaper.py")
Rusage = resource.struct_rusage


@dataclass(frozen=True, slots=True)
class Measured:
    """One finished command and what it cost."""

    returncode: int
    wall_s: float  # from spawning the command to its exit (not its orphans')
    cpu_s: float  # user+sys of every descendant (reaper's RUSAGE_CHILDREN)
    max_rss_mb: float  # the largest single process of the tree (ru_maxrss)
    tree_rss_peak_mb: float  # peak of the summed RSS of all live processes, sampled
    tree_pss_peak_mb: float  # the same for PSS: shared pages counted once
    cpu_sampled_s: float  # user+sys summed over every process seen in /proc, sampled
    cpu_main_sampled_s: float  # the same for the command's own process alone
    processes: int  # most processes alive in the tree at one sample
    orphans: int  # descendants that outlived their parent and were reaped by the reaper
    orphan_wait_s: float  # how long after the command's exit the last of them ended
    other_cpu_s: float  # CPU the rest of the machine used meanwhile (/proc/stat minus cpu_s)
    stdout: str
    stderr: str
    timed_out: bool = False


@dataclass(slots=True)
class _Peaks:
    rss: int = 0
    pss: int = 0
    processes: int = 0


def busy_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (/proc/stat, all but idle)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / TICKS


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (index 0 is field 3, state)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def descendants(root: int) -> list[int]:
    """`root` and every live process below it, found by scanning /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def _rss_pss(pid: int) -> tuple[int, int]:
    """Resident and proportional set size of one process, in bytes (0 when it is gone)."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        pss = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
    except (OSError, IndexError, ValueError):
        return 0, 0
    return rss, pss


class TreeSampler(threading.Thread):
    """Samples the memory and CPU of a process tree every SAMPLE_SECONDS until stopped."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peaks = _Peaks()
        self.cpu_ticks: dict[int, int] = {}
        self.main_pid: int | None = None  # the command itself: the reaper's first child
        self._halt = threading.Event()

    def main_cpu_seconds(self) -> float:
        """Sampled CPU of the command's own process (all its threads), not its helpers."""
        return self.cpu_ticks.get(self.main_pid, 0) / TICKS if self.main_pid else 0.0

    def sample(self) -> None:
        """Take one sample of the tree."""
        rss_sum = pss_sum = 0
        tree = descendants(self.root)[1:]  # without the root: the reaper is not measured
        if self.main_pid is None and tree:
            self.main_pid = tree[0]
        for pid in tree:
            rss, pss = _rss_pss(pid)
            rss_sum += rss
            pss_sum += pss
            fields = _proc_stat(pid)
            if fields is not None and fields[0] != "Z":
                self.cpu_ticks[pid] = int(fields[11]) + int(fields[12])
        self.peaks.rss = max(self.peaks.rss, rss_sum)
        self.peaks.pss = max(self.peaks.pss, pss_sum)
        self.peaks.processes = max(self.peaks.processes, len(tree))

    def run(self) -> None:
        """Sample until stop() is called."""
        while not self._halt.wait(SAMPLE_SECONDS):
            self.sample()

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._halt.set()
        self.join()


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, Rusage, bool]:
    """Wait for `proc` with a deadline (killing its session past it); return status, rusage."""
    pidfd = os.pidfd_open(proc.pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        if not ready:
            os.killpg(proc.pid, signal.SIGKILL)  # our own session: the command and its workers
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        os.close(pidfd)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage, not ready


def run_measured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 900.0,
) -> Measured:
    """Run `argv` under the reaper in its own session and measure it; never raises on failure."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        wrapped = [sys.executable, str(REAPER), str(report), "--", *argv]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            busy, started = busy_seconds(), time.perf_counter()
            proc = subprocess.Popen(
                wrapped,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
            sampler = TreeSampler(proc.pid)
            sampler.start()
            code, usage, timed_out = _wait(proc, timeout)
            wall, busy = time.perf_counter() - started, busy_seconds() - busy
            sampler.stop()
        inner = json.loads(report.read_text()) if report.is_file() else {}
        texts = out.read_bytes().decode(errors="replace"), err.read_bytes().decode(errors="replace")
    return _measured(inner, code, wall, usage, busy, sampler, texts, timed_out)


def _measured(
    inner: dict[str, Any],
    code: int,
    wall: float,
    usage: Rusage,
    busy: float,
    sampler: TreeSampler,
    texts: tuple[str, str],
    timed_out: bool,
) -> Measured:
    """Prefer the reaper's own figures; fall back on the outer ones when it was killed."""
    outer_cpu = usage.ru_utime + usage.ru_stime
    return Measured(
        returncode=int(inner.get("returncode", code)),
        wall_s=float(inner.get("wall_s", wall)),
        cpu_s=float(inner.get("cpu_s", outer_cpu)),
        other_cpu_s=max(0.0, busy - outer_cpu),
        max_rss_mb=float(inner.get("max_rss_kb", usage.ru_maxrss)) / 1024,
        tree_rss_peak_mb=sampler.peaks.rss / 2**20,
        tree_pss_peak_mb=sampler.peaks.pss / 2**20,
        cpu_sampled_s=sum(sampler.cpu_ticks.values()) / TICKS,
        cpu_main_sampled_s=sampler.main_cpu_seconds(),
        processes=sampler.peaks.processes,
        orphans=int(inner.get("orphans", 0)),
        orphan_wait_s=float(inner.get("orphan_wait_s", 0.0)),
        stdout=texts[0],
        stderr=texts[1],
        timed_out=timed_out,
    )


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    """Total memory from /proc/meminfo, in GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return 0.0


def machine(python: Path) -> dict[str, object]:
    """The machine the benchmark ran on: cores, CPU model, memory, OS and Python."""
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "memory_gib": memory_gib(),
        "kernel": platform.release(),
        "python": version or sys.version.split()[0],
    }
