"""Result records of the poll benchmark, the targets, and their markdown rendering."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TARGET_SIZE = (500, 40)


@dataclass(slots=True)
class Cycle:
    """One poll of every feed by one reader, and what the server and the store saw."""

    reader: str  # briefbot, rss2email, newsboat
    server: str  # "honoured" or "ignored": what the server did with validators
    name: str  # cold, unchanged, advance, unchanged-again
    returncode: int
    wall_s: float
    cpu_s: float
    cpu_sampled_s: float
    cpu_main_sampled_s: float  # briefbot's own process; the rest is parse workers
    max_rss_mb: float
    tree_rss_peak_mb: float
    tree_pss_peak_mb: float
    processes: int
    orphans: int  # processes that outlived briefbot (reaped by the reaper)
    orphan_wait_s: float
    other_cpu_s: float  # CPU used meanwhile outside the measured tree (server, other jobs)
    requests: int
    ok: int
    not_modified: int
    bytes_sent: int
    items: int
    new_items: int
    expected: int
    missed: int
    extra: int
    twice: int
    summary: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """One acceptance target and its verdict."""

    name: str
    limit: str
    measured: str
    passed: bool | None  # None: could not be measured


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def cycle_rows(cycles: Iterable[Cycle]) -> list[str]:
    """Markdown table of cycles."""
    rows = [
        "| reader | server validators | cycle | wall s | CPU s (main process) | other CPU s"
        " | peak RSS MB: tree sum / largest process | requests | 200 | 304 | new items"
        " | items stored | expected | missed | twice |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in cycles:
        failed = f" (exit {c.returncode})" if c.returncode else ""
        rows.append(
            f"| {c.reader} | {c.server} | {c.name}{failed} | {_fmt(c.wall_s)} | {_fmt(c.cpu_s)} "
            f"({_fmt(c.cpu_main_sampled_s, 1)}) "
            f"| {_fmt(c.other_cpu_s)} "
            f"| {c.tree_rss_peak_mb:.0f} / {c.max_rss_mb:.0f} | {c.requests} | {c.ok} "
            f"| {c.not_modified} | {c.new_items} | {c.items} | {c.expected} | {c.missed} "
            f"| {c.twice} |"
        )
    return rows


def feedparser_rows(results: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown table of the feedparser-alone timings."""
    rows = [
        "| feedparser alone (one process) | wall s | CPU s | feeds | entries |",
        "|---|--:|--:|--:|--:|",
    ]
    for r in results:
        rows.append(
            f"| {r['label']} | {_fmt(r['wall_s'])} | {_fmt(r['cpu_s'])} | {r['feeds']} "
            f"| {r['entries']} |"
        )
    return rows


def _find(cycles: Sequence[Cycle], reader: str, server: str, name: str) -> Cycle | None:
    for c in cycles:
        if (c.reader, c.server, c.name) == (reader, server, name):
            return c
    return None


def _wall_target(name: str, cycle: Cycle | None, limit: float, limit_text: str) -> Target:
    if cycle is None or cycle.returncode != 0:
        why = "not run" if cycle is None else f"exit {cycle.returncode}"
        return Target(name, limit_text, why, None if cycle is None else False)
    return Target(name, limit_text, f"{cycle.wall_s:.2f} s", cycle.wall_s <= limit)


def evaluate(cycles: Sequence[Cycle], baselines: Mapping[str, float]) -> list[Target]:
    """Check the briefbot cycles against the issue's targets.

    `baselines`: per server mode, feedparser alone (default options) timed around its cycles.
    """
    bot = [c for c in cycles if c.reader == "briefbot"]
    targets: list[Target] = []
    for server in ("honoured", "ignored"):
        for name in ("cold", "advance"):
            label = f"{name} cycle wall, validators {server}"
            cycle = _find(bot, "briefbot", server, name)
            baseline = baselines.get(server)
            if baseline is None:
                targets.append(Target(label, "<= 0.5 x feedparser", "no baseline", None))
                continue
            limit = 0.5 * baseline
            text = f"<= 0.5 x feedparser alone timed around it ({baseline:.2f} s) = {limit:.2f} s"
            targets.append(_wall_target(label, cycle, limit, text))
    for server, limit in (("honoured", 2.0), ("ignored", 4.0)):
        for name in ("unchanged", "unchanged-again"):
            cycle = _find(bot, "briefbot", server, name)
            label = f"{name} cycle wall, validators {server}"
            targets.append(_wall_target(label, cycle, limit, f"<= {limit:g} s"))
    targets.extend(_memory_and_items(bot))
    return targets


def _memory_and_items(bot: Sequence[Cycle]) -> list[Target]:
    ran = [c for c in bot if c.returncode == 0]
    if not ran:
        return [
            Target("peak RSS", "<= 300 MB", "not run", None),
            Target("items", "none missed, none twice", "not run", None),
        ]
    tree = max(c.tree_rss_peak_mb for c in ran)
    pss = max(c.tree_pss_peak_mb for c in ran)
    largest = max(c.max_rss_mb for c in ran)
    memory = Target(
        "peak RSS (sum over the process tree, sampled every 0.1 s)",
        "<= 300 MB",
        f"{tree:.0f} MB (PSS {pss:.0f} MB; largest single process {largest:.0f} MB)",
        tree <= 300,
    )
    missed = sum(c.missed for c in bot)
    twice = sum(c.twice for c in bot)
    extra = sum(c.extra for c in bot)
    complete = all(c.returncode == 0 for c in bot)
    items = Target(
        "items: none missed, none stored twice",
        "0 missed, 0 twice",
        f"{missed} missed, {twice} twice, {extra} unknown rows over {len(bot)} cycles",
        complete and missed == 0 and twice == 0 and extra == 0,
    )
    return [memory, items]


def target_rows(targets: Sequence[Target]) -> list[str]:
    """Markdown table of targets with pass/fail."""
    rows = ["| target | limit | measured | result |", "|---|---|---|---|"]
    for t in targets:
        verdict = "n/a" if t.passed is None else ("PASS" if t.passed else "FAIL")
        rows.append(f"| {t.name} | {t.limit} | {t.measured} | {verdict} |")
    return rows


def markdown(result: dict[str, Any], cycles: Sequence[Cycle], targets: Sequence[Target]) -> str:
    """The whole report: parameters, machine, cycles, feedparser, peers, targets."""
    p, m = result["params"], result["machine"]
    lines = [
        f"Poll benchmark, {result['finished_at']}: {p['feeds']} feeds x {p['entries']} entries "
        f"({result['corpus_mb']:.1f} MB), {p['latency_ms']:g} ms latency per response, "
        f"served on {p['hosts']} loopback port(s).",
        "",
        f"Machine: nproc {m['nproc']}, {m['cpu_model']}, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}, Python {m['python']}; load average at the start "
        f"{' '.join(result.get('loadavg_at_start', []))}.",
        "",
        f"Code: git HEAD {result['code']['git_head']}, bot/ sources sha256 "
        f"{result['code']['bot_sources_sha256'][:12]}.",
    ]
    if p.get("settings"):
        chosen = ", ".join(f"{name}={value}" for name, value in p["settings"].items())
        lines += ["", f"briefbot's settings changed for this run: {chosen}."]
    if (p["feeds"], p["entries"]) != TARGET_SIZE:
        lines += ["", "The targets are set for 500 feeds x 40 entries; this run is smaller."]
    lines += ["", *cycle_rows(cycles), "", *feedparser_rows(result["feedparser"]), ""]
    lines += [*notes(result, cycles), "", *target_rows(targets), ""]
    return "\n".join(lines)


def notes(result: dict[str, Any], cycles: Sequence[Cycle]) -> list[str]:
    """Bullet points: start-up cost, briefbot's own summaries, peers not run."""
    lines = []
    startup = result.get("startup")
    if startup:
        lines.append(
            f"- `briefbot --help` (interpreter start and imports, no polling): "
            f"{startup['wall_s']:.2f} s wall, {startup['cpu_s']:.2f} s CPU."
        )
    for c in cycles:
        if c.reader == "briefbot" and c.summary:
            lines.append(f"- briefbot, validators {c.server}, {c.name}: `{c.summary}`")
    for name, why in result.get("peers_missing", {}).items():
        lines.append(f"- {name}: {why}")
    return lines
