"""Runs a command as a child subreaper, so the CPU of every descendant can be counted.

    python bench/poll/reaper.py REPORT.json -- COMMAND [ARGS...]

A process that outlives its parent (a multiprocessing fork server and its workers, say) is
re-parented to the nearest subreaper instead of init; this wrapper reaps each such orphan,
so RUSAGE_CHILDREN ends up with the whole tree's CPU time and its largest RSS. Run by path
by bench.poll.measure; it imports only the standard library.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
ORPHAN_GRACE_SECONDS = 30.0


def become_subreaper() -> bool:
    """Ask Linux to re-parent orphaned descendants to this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0


def my_children() -> list[int]:
    """Live or zombie processes whose parent is this process."""
    me, found = os.getpid(), []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(entry.name))
    return found


def reap_orphans(grace: float) -> int:
    """Reap every remaining descendant, killing those still running after `grace` seconds."""
    deadline, reaped = time.monotonic() + grace, 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid:
            reaped += 1
            continue
        if time.monotonic() > deadline:
            for child in my_children():
                os.kill(child, signal.SIGKILL)
        time.sleep(0.01)


def main() -> None:
    """Run the command, wait for it, reap its orphans, write the report."""
    report, argv = Path(sys.argv[1]), sys.argv[3:]
    subreaper = become_subreaper()
    started = time.perf_counter()
    proc = subprocess.Popen(argv)
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    tail_started = time.perf_counter()
    orphans = reap_orphans(ORPHAN_GRACE_SECONDS)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "returncode": code,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
        "orphans": orphans,
        "orphan_wait_s": time.perf_counter() - tail_started,
        "subreaper": subreaper,
    }
    report.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
