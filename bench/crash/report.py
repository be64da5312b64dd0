"""Result records of the crash run and their markdown."""

from __future__ import annotations

import os
import platform
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.crash.model import SeedResult

ROOT = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    """Where and when the run happened."""
    dirty = _git("status", "--porcelain", "bot")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "git_head": _git("rev-parse", "--short", "HEAD"),
        "bot_uncommitted_files": len(dirty.splitlines()) if dirty != "unknown" else None,
        "load_average_start": list(os.getloadavg()),
    }


def seed_record(result: SeedResult) -> dict[str, Any]:
    """One seed as JSON."""
    s, o = result.scenario, result.outcome
    return {
        "backend": s.backend,
        "seed": s.seed,
        "kills": [asdict(k) for k in result.kills],
        "uncertain": o.uncertain,
        "uncertain_delivered": o.uncertain_delivered,
        "uncertain_bound": len(result.kills) * s.concurrency,
        "rows_by_state": o.rows_by_state,
        "digest_rows": o.digest_rows,
        "alert_rows": o.alert_rows,
        "messages": o.messages,
        "chats": s.chats,
        "groups": result.groups,
        "alert_chats": result.alert_chats,
        "digest_part0_once": o.digest_part0_once,
        "items": o.items,
        "expected_items": o.expected_items,
        "relevant_entries": o.relevant_entries,
        "violations": o.violations,
        "wall_seconds": round(result.wall_seconds, 1),
        "settle_seconds": round(result.settle_seconds, 1),
    }


def summary(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Totals per backend."""
    out: dict[str, dict[str, Any]] = {}
    for backend in dict.fromkeys(r["backend"] for r in records):
        mine = [r for r in records if r["backend"] == backend]
        modes = Counter(k["mode"] for r in mine for k in r["kills"])
        out[backend] = {
            "seeds": len(mine),
            "kills": sum(len(r["kills"]) for r in mine),
            "kills_by_mode": dict(sorted(modes.items())),
            "kills_by_fallback": sum(k["fired_by"] != "trigger" for r in mine for k in r["kills"]),
            "uncertain": sum(r["uncertain"] for r in mine),
            "uncertain_delivered": sum(r["uncertain_delivered"] for r in mine),
            "max_uncertain_per_seed": max((r["uncertain"] for r in mine), default=0),
            "messages": sum(r["messages"] for r in mine),
            "violations": sum(len(r["violations"]) for r in mine),
            "wall_seconds": round(sum(r["wall_seconds"] for r in mine), 1),
        }
    return out


def markdown(result: dict[str, Any]) -> str:
    """The report: settings, machine, totals, one row per seed, violations."""
    m, cfg = result["machine"], result["settings"]
    lines = [
        f"# Crash run, {m['date']}",
        "",
        f"{cfg['feeds']} feeds x {cfg['entries']} entries, {cfg['chats']} chats "
        f"({cfg['alert_share']:.0%} with urgent alerts), {cfg['kills']} SIGKILLs per seed, "
        f"SEND_CONCURRENCY={cfg['concurrency']}, SEND_RATE_PER_SECOND={cfg['send_rate']:g} "
        f"(the fake Bot API's global limit too; per-chat and group limits as Telegram's), "
        f"OUTBOX_LEASE_SECONDS={cfg['lease_seconds']}, {cfg['parallel']} seed(s) at a time.",
        "",
        f"Machine: nproc {m['nproc']}, {m['cpu']}, {m['system']}, Python {m['python']}; "
        f"git HEAD {m['git_head']} at the start, {m.get('git_head_end', '?')} at the end "
        f"({m['bot_uncommitted_files']} uncommitted files under bot/ at the start); "
        f"load average at the start {' '.join(f'{x:.2f}' for x in m['load_average_start'])}. "
        f"Total wall time {result['wall_seconds'] / 60:.1f} min.",
        "",
        "| backend | seeds | kills | kills by mode | fallback kills | uncertain (delivered) "
        "| max uncertain / seed | messages | violations | wall s |",
        "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for backend, t in result["summary"].items():
        modes = ", ".join(f"{k} {v}" for k, v in t["kills_by_mode"].items())
        lines.append(
            f"| {backend} | {t['seeds']} | {t['kills']} | {modes} | {t['kills_by_fallback']} "
            f"| {t['uncertain']} ({t['uncertain_delivered']}) | {t['max_uncertain_per_seed']} "
            f"| {t['messages']} | **{t['violations']}** | {t['wall_seconds']} |"
        )
    lines += [
        "",
        "| backend | seed | kills (mode: trigger, s after start) | uncertain (delivered) / bound "
        "| rows sent | digest rows | alert rows | messages | digests' first message once "
        "| items / expected | violations | settle s | wall s |",
        "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in result["seeds"]:
        kills = "; ".join(
            f"{k['mode']}: {k['planned']}{'' if k['fired_by'] == 'trigger' else ' (fallback)'}"
            f", {k['at_seconds']:.1f}"
            for k in r["kills"]
        )
        lines.append(
            f"| {r['backend']} | {r['seed']} | {kills} "
            f"| {r['uncertain']} ({r['uncertain_delivered']}) / {r['uncertain_bound']} "
            f"| {r['rows_by_state'].get('sent', 0)} | {r['digest_rows']} | {r['alert_rows']} "
            f"| {r['messages']} | {r['digest_part0_once']} / {r['chats']} "
            f"| {r['items']} / {r['expected_items']} | {len(r['violations'])} "
            f"| {r['settle_seconds']} | {r['wall_seconds']} |"
        )
    broken = [
        f"- {r['backend']} seed {r['seed']}: {v}" for r in result["seeds"] for v in r["violations"]
    ]
    lines += ["", "## Violations", "", *(broken or ["None."]), ""]
    return "\n".join(lines)
