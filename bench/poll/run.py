"""The poll benchmark: briefbot's `poll --once --all` against a local feed server.

    python -m bench.poll.run [--feeds 500 --entries 40 --latency-ms 50] [--quick]

Four cycles (cold, unchanged, after an advance of 5 entries per feed, unchanged again)
against a server that honours validators and one that ignores them; feedparser alone on
the same bytes; rss2email and newsboat where installed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.poll.baseline import time_feedparser
from bench.poll.fixtures import bot_env, check_items, snapshot, write_catalog
from bench.poll.generate import Corpus
from bench.poll.measure import Measured, machine, run_measured
from bench.poll.peers import Peer, find_peers
from bench.poll.report import TARGET_SIZE, Cycle, evaluate, markdown
from bench.poll.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)
BRIEFBOT = PYTHON.parent / "briefbot"
OUT = ROOT / "bench" / "poll" / "out"
RESULTS = ROOT / "bench" / "poll" / "results"
README = ROOT / "bench" / "README.md"
CYCLES = ("cold", "unchanged", "advance", "unchanged-again")
ADVANCE = 5
MARK_START, MARK_END = "<!-- poll-results:start -->", "<!-- poll-results:end -->"
BASELINE_WHEN = ("before the cycles", "between the two servers", "after the cycles")


def baselines_by_server(around: list[dict[str, Any] | None]) -> dict[str, float]:
    """Per server mode, the mean default-options feedparser time of the runs around it."""
    walls = [r["wall_s"] if r is not None else None for r in around]
    found = {}
    for index, server in enumerate(("honoured", "ignored")):
        pair = [w for w in walls[index : index + 2] if w is not None]
        if pair:
            found[server] = sum(pair) / len(pair)
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The runner's command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=TARGET_SIZE[0])
    parser.add_argument("--entries", type=int, default=TARGET_SIZE[1])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--hosts",
        type=int,
        default=1,
        help="serve on this many loopback ports, feeds spread round-robin",
    )
    parser.add_argument("--quick", action="store_true", help="50 feeds x 20 entries, no peers")
    parser.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run rss2email and newsboat (default: on unless --quick)",
    )
    parser.add_argument("--r2e", type=Path, default=None, help="path of rss2email's r2e")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per cycle")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment setting for briefbot's cycles, e.g. FETCH_PER_HOST=32 (repeatable)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="where latest.json/md go (default: results/ for a full run)",
    )
    args = parser.parse_args(argv)
    bad = [item for item in args.setting if "=" not in item]
    if bad:
        parser.error(f"--setting wants NAME=VALUE, got {bad[0]!r}")
    args.settings = dict(item.split("=", 1) for item in args.setting)
    if args.quick:
        args.feeds, args.entries = 50, 20
    if args.peers is None:
        args.peers = not args.quick
    return args


# --- cycles ---------------------------------------------------------------------------


def _summary_line(stdout: str) -> str:
    lines = [line.strip() for line in stdout.splitlines() if line.strip().startswith("poll:")]
    return lines[-1] if lines else ""


def make_cycle(
    reader: str,
    server: str,
    name: str,
    run: Measured,
    stats: dict[str, Any],
    items: dict[str, int],
    before: int,
) -> Cycle:
    """A Cycle record from a measured run, the server's counters and the item check."""
    summary = _summary_line(run.stdout)
    failed = run.returncode != 0 or (summary and " errors=0" not in summary)
    # The CLI prints a table of failing feeds before its summary line, logs go to stderr.
    error = f"{run.stdout.strip()}\n{run.stderr.strip()}".strip()[-3000:] if failed else ""
    return Cycle(
        reader=reader,
        server=server,
        name=name,
        returncode=run.returncode,
        wall_s=run.wall_s,
        cpu_s=run.cpu_s,
        cpu_sampled_s=run.cpu_sampled_s,
        cpu_main_sampled_s=run.cpu_main_sampled_s,
        max_rss_mb=run.max_rss_mb,
        tree_rss_peak_mb=run.tree_rss_peak_mb,
        tree_pss_peak_mb=run.tree_pss_peak_mb,
        processes=run.processes,
        orphans=run.orphans,
        orphan_wait_s=run.orphan_wait_s,
        other_cpu_s=run.other_cpu_s,
        requests=stats["requests"],
        ok=stats["ok"],
        not_modified=stats["not_modified"],
        bytes_sent=stats["bytes_sent"],
        items=items["items"],
        new_items=items["items"] - before,
        expected=items["expected"],
        missed=items["missed"],
        extra=items["extra"],
        twice=items["twice"],
        summary=summary or ("timed out" if run.timed_out else ""),
        error=error,
    )


def _print_cycle(c: Cycle) -> None:
    status = f"exit {c.returncode}" if c.returncode else c.summary
    print(
        f"  {c.reader:9} {c.server:10} {c.name:16} wall {c.wall_s:6.2f} s  cpu {c.cpu_s:6.2f} s"
        f"  tree RSS {c.tree_rss_peak_mb:4.0f} MB  req {c.requests} 304 {c.not_modified}"
        f"  new {c.new_items}  missed {c.missed} twice {c.twice}  {status}",
        flush=True,
    )
    if c.error:
        print("    " + c.error.replace("\n", "\n    ")[-800:], flush=True)


def bot_cycles(args: argparse.Namespace, anchor: datetime, mode: str, work: Path) -> list[Cycle]:
    """The four briefbot cycles against one server (validators honoured or ignored)."""
    work.mkdir(parents=True, exist_ok=True)
    db, catalog = work / "bench.db", work / "feeds.yaml"
    for stale in work.glob("bench.db*"):
        stale.unlink()
    tracker = Corpus(args.feeds, args.entries, anchor=anchor)
    argv = [str(BRIEFBOT), "poll", "--once", "--all"]
    env = {**bot_env(db, catalog), **args.settings}
    cycles = []

    def step() -> tuple[Measured, dict[str, int]]:
        run = run_measured(argv, env=env, cwd=work, timeout=args.timeout)
        return run, check_items(db, tracker)

    with ServerProcess(str(PYTHON), server_args(args, anchor, ignore=mode == "ignored")) as server:
        write_catalog(catalog, tracker, server)
        for name, run, stats, items, before in _cycle_loop(server, tracker, step):
            cycles.append(make_cycle("briefbot", mode, name, run, stats, items, before))
            _print_cycle(cycles[-1])
    return cycles


def _cycle_loop(
    server: ServerProcess, tracker: Corpus, step: Callable[[], tuple[Measured, dict[str, int]]]
) -> list[tuple[str, Measured, dict[str, Any], dict[str, int], int]]:
    """Run the four cycles, advancing before the third; collect run, stats, items, before."""
    done = []
    before = 0
    for name in CYCLES:
        if name == "advance":
            server.advance(ADVANCE)
            tracker.advance(ADVANCE)
        server.reset_stats()
        run, items = step()
        done.append((name, run, server.stats(), items, before))
        before = items["items"]
    return done


def peer_cycles(
    args: argparse.Namespace, anchor: datetime, work: Path
) -> tuple[list[Cycle], dict[str, str]]:
    """The same four cycles for each installed peer, each against a fresh server."""
    found, missing = find_peers(args.r2e)
    cycles: list[Cycle] = []
    for name, prepare in found.items():
        tracker = Corpus(args.feeds, args.entries, anchor=anchor)
        folder = work / name
        if folder.exists():
            shutil.rmtree(folder)
        with ServerProcess(str(PYTHON), server_args(args, anchor, ignore=False)) as server:
            try:
                peer = prepare(folder, [server.feed_url(i) for i in range(args.feeds)])
            except (OSError, subprocess.SubprocessError) as exc:
                missing[name] = f"could not be set up: {exc}"
                continue

            def step(
                peer: Peer = peer, tracker: Corpus = tracker
            ) -> tuple[Measured, dict[str, int]]:
                run = run_measured(peer.argv, env=peer.env, cwd=peer.workdir, timeout=args.timeout)
                stored, twice = peer.stored()
                expected = tracker.distinct_entries()
                return run, {
                    "items": stored,
                    "expected": expected,
                    "twice": twice,
                    "extra": 0,
                    "missed": max(0, expected - stored),
                }

            for cycle, run, stats, items, before in _cycle_loop(server, tracker, step):
                cycles.append(make_cycle(name, "honoured", cycle, run, stats, items, before))
                cycles[-1].summary = peer.version
                _print_cycle(cycles[-1])
    return cycles, missing


def server_args(args: argparse.Namespace, anchor: datetime, *, ignore: bool) -> list[str]:
    """The feed server's command line for this run."""
    argv = [
        "--feeds",
        str(args.feeds),
        "--entries",
        str(args.entries),
        "--anchor",
        anchor.isoformat(),
        "--latency-ms",
        str(args.latency_ms),
        "--ports",
        str(args.hosts),
    ]
    return [*argv, "--ignore-validators"] if ignore else argv


# --- the whole run --------------------------------------------------------------------


def results_dir(args: argparse.Namespace) -> Path:
    """results/ for a full-size run, out/results otherwise, unless --results says."""
    if args.results is not None:
        return Path(args.results)
    full = (args.feeds, args.entries) == TARGET_SIZE and not args.quick
    return RESULTS if full else OUT / "results"


def startup_cost(work: Path) -> dict[str, float]:
    """What `briefbot --help` costs: interpreter start and imports, no polling."""
    run = run_measured([str(BRIEFBOT), "--help"], cwd=work, timeout=120)
    return {"wall_s": run.wall_s, "cpu_s": run.cpu_s, "returncode": run.returncode}


def update_readme(table: str) -> None:
    """Replace the results block of bench/README.md, if it has the markers."""
    if not README.is_file():
        return
    text = README.read_text(encoding="utf-8")
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        tail = rest.split(MARK_END, 1)[1]
        README.write_text(f"{head}{MARK_START}\n{table}\n{MARK_END}{tail}", encoding="utf-8")


def write_results(args: argparse.Namespace, result: dict[str, Any], cycles: list[Cycle]) -> Path:
    """Print the report and write latest.json and latest.md (and the README for full runs)."""
    targets = evaluate(cycles, result["baselines"])
    result["targets"] = [asdict(t) for t in targets]
    result["cycles"] = [asdict(c) for c in cycles]
    text = markdown(result, cycles, targets)
    print("\n" + text)
    folder = results_dir(args)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (folder / "latest.md").write_text(text)
    if folder == RESULTS:
        update_readme(text)
    return folder


def code_version() -> dict[str, str]:
    """Which briefbot code was measured: git HEAD (if any) and a hash of bot/**/*.py."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return {"git_head": head.stdout.strip() or "none", "bot_sources_sha256": digest.hexdigest()}


def benchmark(args: argparse.Namespace) -> None:
    """Run everything and write the results."""
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    load = Path("/proc/loadavg").read_text().split()[:3]
    started = datetime.now(UTC)
    OUT.mkdir(parents=True, exist_ok=True)
    # A wheel install (the Docker image) compiles bot/; the editable install of `make` does
    # not, and where PYTHONDONTWRITEBYTECODE is set every cycle would compile it again.
    compileall.compile_dir(ROOT / "bot", quiet=1)
    print(
        f"poll benchmark: {args.feeds} feeds x {args.entries} entries, "
        f"{args.latency_ms:g} ms latency, {args.hosts} port(s)",
        flush=True,
    )
    with ServerProcess(str(PYTHON), server_args(args, anchor, ignore=False)) as server:
        corpus_bytes = snapshot(server, args.feeds, OUT / "corpus")
    cycles: list[Cycle] = []
    # The default-options baseline is timed before, between and after the two servers' cycles:
    # this machine's speed drifts by a quarter within minutes, so each server's cycles are
    # held against the mean of the two timings around them, not one taken minutes away.
    corpus = OUT / "corpus"
    around = [time_feedparser(corpus, args.timeout, ROOT, fast=False, when=BASELINE_WHEN[0])]
    for mode, when in zip(("honoured", "ignored"), BASELINE_WHEN[1:], strict=True):
        cycles += bot_cycles(args, anchor, mode, OUT / f"briefbot-{mode}")
        around.append(time_feedparser(corpus, args.timeout, ROOT, fast=False, when=when))
    fast = time_feedparser(corpus, args.timeout, ROOT, fast=True)
    feedparser = [r for r in (*around, fast) if r is not None]
    result_baselines = baselines_by_server(around)
    peers, missing = peer_cycles(args, anchor, OUT / "peers") if args.peers else ([], {})
    cycles += peers
    result: dict[str, Any] = {
        "params": {
            "feeds": args.feeds,
            "entries": args.entries,
            "latency_ms": args.latency_ms,
            "hosts": args.hosts,
            "advance": ADVANCE,
            "quick": args.quick,
            "settings": args.settings,
        },
        "machine": machine(PYTHON),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus_mb": corpus_bytes / 1e6,
        "loadavg_at_start": load,
        "code": code_version(),
        "startup": startup_cost(OUT),
        "feedparser": feedparser,
        "baselines": result_baselines,
        "peers_missing": missing,
    }
    folder = write_results(args, result, cycles)
    print(f"results: {folder / 'latest.json'}, {folder / 'latest.md'}")


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    benchmark(args)


if __name__ == "__main__":
    main()
