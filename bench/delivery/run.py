"""The delivery benchmark: one digest to each of N chats through a faulty, rate-limited fake.

    python -m bench.delivery.run [--chats 10000] [--quick] [--database-url postgresql://...]

Populates a database, queues the digests (DigestBuilder, or --direct rows), then sends them
twice against a fresh fake Bot API each time: briefbot's Sender, and a naive loop of
aiogram send_message calls. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.delivery import report
from bench.delivery.processes import ServerProcess, phase, rss_mb
from bench.poll.measure import busy_seconds, machine

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "delivery" / "out"
RESULTS = ROOT / "bench" / "delivery" / "results"
FULL_CHATS = 10_000
GROUP_SHARE = 0.02  # 200 groups in 10,000 chats
TOKEN = "123456789:AAHbenchDeliveryToken_0123456789-abc"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The runner's command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=FULL_CHATS)
    parser.add_argument("--groups", type=int, default=None, help="default: 2%% of the chats")
    parser.add_argument("--quick", action="store_true", help="1,000 chats (about 2 x 40 s)")
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server database to create a scratch database from "
        "(postgresql://127.0.0.1:5432/test); default: an SQLite file under out/",
    )
    parser.add_argument("--direct", action="store_true", help="insert rows, skip DigestBuilder")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    parser.add_argument("--error-rate", type=float, default=0.02)
    parser.add_argument("--blocked-share", type=float, default=0.01)
    parser.add_argument("--storm-seconds", type=float, default=5.0)
    parser.add_argument("--storm-retry-after", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per contender")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.chats = 1000
    if args.groups is None:
        args.groups = round(args.chats * GROUP_SHARE)
    return args


def results_dir(args: argparse.Namespace) -> Path:
    """results/ (results/postgresql/) for a full-size run, out/results otherwise."""
    if args.results is not None:
        return Path(args.results)
    if args.chats != FULL_CHATS or args.direct or args.latency_ms:
        return OUT / "results"
    return RESULTS / "postgresql" if args.database_url else RESULTS


# --- database -------------------------------------------------------------------------


async def scratch_postgres(admin_url: str) -> tuple[str, str]:
    """Create an empty database next to `admin_url`'s; return its name and URL."""
    name = f"briefbot_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, f"{admin_url.rsplit('/', 1)[0]}/{name}"


async def drop_postgres(admin_url: str, name: str) -> None:
    """Drop the scratch database."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- phases ---------------------------------------------------------------------------


def contender(name: str, server_args: list[str], options: list[str]) -> tuple[dict[str, Any], ...]:
    """One contender against a fresh fake server: its own figures and the server's report."""
    busy, children, began = busy_seconds(), children_cpu(), time.monotonic()
    with ServerProcess(server_args) as server:
        print(f"{name}: sending ...", flush=True)
        worker = phase(name, "--api", server.api, "--token", TOKEN, *options)
        seen = server.report()
    # Both children are reaped now: their CPU is in RUSAGE_CHILDREN. The rest of the machine's
    # busy time is other work sharing the cores (other sessions' tests, say).
    ours = children_cpu() - children
    worker["phase_s"] = time.monotonic() - began  # with start-up: what busy time spans
    worker["fake_server_cpu_s"] = ours - worker["cpu_s"]
    worker["other_cpu_s"] = busy_seconds() - busy - ours
    # The raw records stay in out/ for a closer look (the accepted messages are not in results).
    (OUT / f"{name}-server.json").write_text(json.dumps(seen))
    return worker, seen


def children_cpu() -> float:
    """User + system CPU seconds of every reaped child so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def read_plan(path: Path) -> dict[int, int]:
    """Chat id -> how many messages it is owed (line by line: the runner stays small)."""
    owed = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            chat_id, bodies = json.loads(line)
            owed[int(chat_id)] = len(bodies)
    return owed


def queue(args: argparse.Namespace, url: str) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """Populate the database and queue the digests: the set-up, the build, the chat ids."""
    population = phase(
        "prepare",
        *("--database-url", url, "--chats", str(args.chats), "--groups", str(args.groups)),
        *("--seed", str(args.seed)),
    )
    ids: list[int] = population.pop("chat_ids")
    print(f"populated {len(ids)} chats in {population['seconds']:.1f} s", flush=True)
    direct = ["--direct"] if args.direct else []
    build = phase("build", "--database-url", url, "--plan", str(OUT / "plan.jsonl"), *direct)
    print(f"queued {build['rows']} rows in {build['seconds']:.1f} s ({build['mode']})", flush=True)
    return population, build, ids


def race(args: argparse.Namespace, url: str, ids: list[int]) -> dict[str, Any]:
    """Both contenders against the same faults; the figures of each."""
    plan = OUT / "plan.jsonl"
    expected = read_plan(plan)
    blocked = blocked_chats(ids, args.blocked_share, args.seed)
    (OUT / "blocked.json").write_text(json.dumps(blocked))
    unreachable = set(blocked)
    storm_after = sum(n for c, n in expected.items() if c not in unreachable) // 2
    server_args = [
        *("--token", TOKEN, "--blocked", str(OUT / "blocked.json"), "--seed", str(args.seed)),
        *("--error-rate", str(args.error_rate), "--storm-after", str(storm_after)),
        *("--storm-seconds", str(args.storm_seconds)),
        *("--storm-retry-after", str(args.storm_retry_after)),
        *("--latency-ms", str(args.latency_ms)),
    ]
    runner_rss = rss_mb()
    options = ["--database-url", url, "--timeout", str(args.timeout)]
    worker, seen = contender("briefbot", server_args, options)
    bot = report.measure(worker, seen, expected, unreachable)
    print(f"briefbot: {bot['accepted']} accepted in {bot['wall_s']:.1f} s", flush=True)
    naive = None
    if not args.no_naive:
        worker, seen = contender("naive", server_args, ["--plan", str(plan)])
        naive = report.measure(worker, seen, expected, unreachable)
        print(f"naive: {naive['accepted']} accepted in {naive['wall_s']:.1f} s", flush=True)
    return {
        "blocked": len(blocked),
        "storm_after": storm_after,
        "runner_rss_mb": runner_rss,
        "briefbot": bot,
        "naive": naive,
    }


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare, queue, send with both contenders; return the whole result."""
    OUT.mkdir(parents=True, exist_ok=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    started = datetime.now(UTC)
    scratch = ""
    if args.database_url:
        scratch, url = asyncio.run(scratch_postgres(args.database_url))
    else:
        for stale in OUT.glob("bench.db*"):
            stale.unlink()
        url = f"sqlite:///{OUT / 'bench.db'}"
    code = code_version()  # before the workers import bot/: it may change while they run
    imports = phase("imports")
    try:
        population, build, ids = queue(args, url)
        raced = race(args, url, ids)
    finally:
        if scratch:
            asyncio.run(drop_postgres(args.database_url, scratch))
    bot = raced["briefbot"]
    peak = max(build["peak_rss_mb"], bot["worker"]["peak_rss_mb"])
    params = {
        "chats": args.chats,
        "groups": args.groups,
        "database": "postgresql" if scratch else "sqlite",
        "error_rate": args.error_rate,
        "blocked": raced.pop("blocked"),
        "storm_seconds": args.storm_seconds,
        "storm_retry_after": args.storm_retry_after,
        "storm_after": raced.pop("storm_after"),
        "latency_ms": args.latency_ms,
        "seed": args.seed,
    }
    return {
        "params": params,
        "machine": machine(Path(sys.executable)),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": load,
        "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        "code": code,
        "populate": population,
        "imports": imports,
        "build": build,
        **raced,
        "targets": report.targets(bot, peak),
    }


def blocked_chats(ids: list[int], share: float, seed: int) -> list[int]:
    """The chats whose every send answers 403: a seeded sample."""
    return sorted(random.Random(seed + 2).sample(ids, round(len(ids) * share)))


def code_version() -> dict[str, str]:
    """The code measured: git HEAD, a hash of bot/**/*.py, and whether bot/ differs from HEAD."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {
        "git_head": git("rev-parse", "--short", "HEAD") or "none",
        "bot_sources_sha256": digest.hexdigest(),
        "bot_modified": "yes" if git("status", "--porcelain", "bot") else "no",
    }


def write_results(args: argparse.Namespace, result: dict[str, Any]) -> Path:
    """Print the report and write latest.json and latest.md."""
    text = report.markdown(result)
    print("\n" + text)
    folder = results_dir(args)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (folder / "latest.md").write_text(text)
    return folder


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    print(
        f"delivery benchmark: {args.chats} chats ({args.groups} groups), "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}",
        flush=True,
    )
    folder = write_results(args, benchmark(args))
    print(f"results: {folder / 'latest.json'}, {folder / 'latest.md'}")


if __name__ == "__main__":
    main()
