"""The long crash run: many seeds of SIGKILL-and-restart on SQLite and PostgreSQL.

    python -m bench.crash.run            # 200 feeds, 2,000 chats, 20 seeds, both backends
    python -m bench.crash.run --quick    # 20 feeds, 150 chats, 2 seeds
    python -m bench.crash.run --seeds 5 --backends sqlite --kills 3 --parallel 2

A full-size run (>= 200 feeds, >= 2,000 chats, >= 20 seeds, both backends) writes
bench/crash/results/latest.json and latest.md; other runs write to bench/crash/out/results/.
Exit status 1 when any invariant was violated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.crash.harness import run_seed
from bench.crash.model import Scenario, SeedResult
from bench.crash.population import templates
from bench.crash.report import machine, markdown, seed_record, summary

HERE = Path(__file__).resolve().parent
FULL = {"feeds": 200, "chats": 2000, "seeds": 20}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.crash.run", description=__doc__)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=8, help="entries per feed")
    parser.add_argument("--chats", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per seed")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--concurrency", type=int, default=1, help="SEND_CONCURRENCY")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="SEND_RATE_PER_SECOND and the fake's limit"
    )
    parser.add_argument("--alert-share", type=float, default=0.05)
    parser.add_argument("--parallel", type=int, default=1, help="seeds run at once")
    parser.add_argument("--quick", action="store_true", help="20 feeds, 150 chats, 2 seeds")
    parser.add_argument("--keep", action="store_true", help="keep logs and databases of passes")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.chats, args.seeds = 20, 150, 2
    return args


def _is_full(args: argparse.Namespace) -> bool:
    return (
        all(getattr(args, k) >= v for k, v in FULL.items())
        and {"sqlite", "postgres"} <= set(args.backends)
        and args.concurrency == 1
    )


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    return [
        Scenario(
            backend,
            seed,
            feeds=args.feeds,
            entries=args.entries,
            chats=args.chats,
            kills=args.kills,
            concurrency=args.concurrency,
            send_rate=args.rate,
            alert_share=args.alert_share,
            startup_window=15.0,
            fallback_kill_after=90.0,
            settle_timeout=600.0,
        )
        for seed in seeds
        for backend in args.backends
    ]


def _progress(result: SeedResult) -> None:
    s, o = result.scenario, result.outcome
    kills = ", ".join(f"{k.mode}@{k.at_seconds:.1f}s" for k in result.kills)
    print(
        f"{s.backend:8} seed {s.seed:3}: kills [{kills}] uncertain {o.uncertain} "
        f"messages {o.messages} items {o.items}/{o.expected_items} "
        f"violations {len(o.violations)} wall {result.wall_seconds:.0f}s",
        flush=True,
    )
    for violation in o.violations:
        print(f"    {violation}", flush=True)


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every seed on every backend; the result record."""
    began = time.monotonic()
    main_task = asyncio.current_task()
    assert main_task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop cleanly: kill the services, drop the DBs
        asyncio.get_running_loop().add_signal_handler(sig, main_task.cancel)
    about = machine()
    gate = asyncio.Semaphore(max(1, args.parallel))
    results: list[SeedResult] = []
    async with templates(args.backends, workdir) as made:

        async def one(scenario: Scenario) -> None:
            async with gate:
                result = await run_seed(scenario, made[scenario.backend], workdir)
            results.append(result)
            _progress(result)
            if not result.violations and not args.keep and result.logs is not None:
                shutil.rmtree(result.logs, ignore_errors=True)

        await asyncio.gather(*(one(s) for s in _scenarios(args)))
    results.sort(key=lambda r: (args.backends.index(r.scenario.backend), r.scenario.seed))
    records = [seed_record(r) for r in results]
    settings = {
        k: getattr(args, k)
        for k in ("feeds", "entries", "chats", "seeds", "kills", "concurrency", "parallel")
    }
    settings.update(send_rate=args.rate, alert_share=args.alert_share, lease_seconds=30)
    about["git_head_end"] = machine()["git_head"]  # bot/ may change under a long run
    return {
        "machine": about,
        "settings": settings,
        "summary": summary(records),
        "wall_seconds": round(time.monotonic() - began, 1),
        "seeds": records,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run, write latest.json and latest.md, print the totals."""
    args = parse_args(argv)
    workdir = HERE / "out" / "work"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    folder = args.results or (HERE / "results" if _is_full(args) else HERE / "out" / "results")
    try:
        result = asyncio.run(run(args, workdir))
    except asyncio.CancelledError:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (folder / "latest.md").write_text(markdown(result))
    for backend, totals in result["summary"].items():
        print(f"{backend}: {json.dumps(totals)}")
    print(f"results: {folder / 'latest.md'}")
    violations = sum(t["violations"] for t in result["summary"].values())
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
