"""What the fake server saw for one contender, the targets, and the markdown report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

CAP_PER_SECOND = 30.0
TIMELINE_SECONDS = 10.0
TARGET_THROUGHPUT = 0.95
TARGET_429_OUTSIDE = 0.01
TARGET_RSS_MB = 200.0


def delivery_check(
    accepted: Sequence[Sequence[Any]], expected: dict[int, int], blocked: set[int]
) -> dict[str, int]:
    """Per chat: did every reachable chat get exactly its messages, and the 403 ones none."""
    got = Counter(int(row[0]) for row in accepted)
    reachable = {c: n for c, n in expected.items() if c not in blocked}
    return {
        "reachable_chats": len(reachable),
        "chats_exact": sum(1 for c, n in reachable.items() if got[c] == n),
        "chats_missing": sum(1 for c, n in reachable.items() if got[c] < n),
        "chats_twice": sum(1 for c, n in reachable.items() if got[c] > n),
        "messages_extra": sum(max(0, got[c] - n) for c, n in reachable.items()),
        "blocked_received": sum(got[c] for c in blocked),
        "unknown_chats": sum(1 for c in got if c not in expected),
    }


def timeline(accepted: Sequence[Sequence[Any]], started: float, ended: float) -> list[float]:
    """Accepted sends per second in consecutive 10-second windows of the sending phase."""
    windows = max(1, int((ended - started) // TIMELINE_SECONDS) + 1)
    counts = [0] * windows
    for row in accepted:
        index = int((float(row[1]) - started) // TIMELINE_SECONDS)
        if 0 <= index < windows:
            counts[index] += 1
    last = (ended - started) - (windows - 1) * TIMELINE_SECONDS
    spans = [TIMELINE_SECONDS] * (windows - 1) + [max(last, 1e-9)]
    return [round(n / span, 1) for n, span in zip(counts, spans, strict=True)]


def measure(
    worker: dict[str, Any], server: dict[str, Any], expected: dict[int, int], blocked: set[int]
) -> dict[str, Any]:
    """The figures for one contender: throughput, exactly-once, 429s, 5xx, resources."""
    accepted = server["accepted"]
    wall = float(worker["wall_s"])
    window = server.get("storm_window")
    storm_s = (window[1] - window[0]) if window else 0.0
    times_429 = server["times_429"]
    outside = [t for t in times_429 if not window or not window[0] <= t <= window[1]]
    requests = int(server["send_requests"])
    statuses = server["statuses"]
    injected = server["injected"]
    active = sorted(float(r[1]) for r in accepted)
    started = float(worker["started"])
    return {
        "wall_s": wall,
        "accepted": len(accepted),
        "throughput": len(accepted) / (wall * CAP_PER_SECOND) if wall else 0.0,
        "throughput_excluding_storm": (
            len(accepted) / ((wall - storm_s) * CAP_PER_SECOND) if wall > storm_s else 0.0
        ),
        "first_to_last_accept_s": (active[-1] - active[0]) if active else 0.0,
        "half_accepted_after_s": active[len(active) // 2] - started if active else None,
        "p99_accepted_after_s": active[len(active) * 99 // 100] - started if active else None,
        "refused_requests_s": (requests - len(accepted)) / CAP_PER_SECOND,
        "storm_seconds": storm_s,
        "storm_started_after_s": (window[0] - worker["started"]) if window else None,
        "send_requests": requests,
        "answers": statuses,
        "injected": injected,
        "answers_5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "answers_403": int(statuses.get("403", 0)),
        "answers_429": len(times_429),
        "answers_429_in_storm": len(times_429) - len(outside),
        "answers_429_outside_storm": len(outside),
        "share_429_outside_storm": len(outside) / requests if requests else 0.0,
        **delivery_check(accepted, expected, blocked),
        "timeline_per_s": timeline(accepted, started, float(worker["ended"])),
        "worker": worker,
    }


def targets(bot: dict[str, Any], peak_rss_mb: float) -> list[dict[str, Any]]:
    """briefbot's figures against the issue's targets."""
    exact = bot["chats_missing"] == 0 and bot["chats_twice"] == 0 and bot["blocked_received"] == 0
    return [
        {
            "name": "throughput: accepted / (sending wall x 30/s)",
            "limit": f">= {TARGET_THROUGHPUT:.0%}",
            "measured": f"{bot['throughput']:.1%}",
            "passed": bot["throughput"] >= TARGET_THROUGHPUT,
        },
        {
            "name": "throughput, storm seconds taken off the wall time",
            "limit": f">= {TARGET_THROUGHPUT:.0%}",
            "measured": f"{bot['throughput_excluding_storm']:.1%}",
            "passed": bot["throughput_excluding_storm"] >= TARGET_THROUGHPUT,
        },
        {
            "name": "every reachable chat got exactly its digest, none twice",
            "limit": "0 missing, 0 twice",
            "measured": f"{bot['chats_exact']}/{bot['reachable_chats']} exact, "
            f"{bot['chats_missing']} missing, {bot['chats_twice']} twice",
            "passed": exact,
        },
        {
            "name": "429 answers outside the storm",
            "limit": f"<= {TARGET_429_OUTSIDE:.0%} of send requests",
            "measured": f"{bot['answers_429_outside_storm']} "
            f"({bot['share_429_outside_storm']:.2%} of {bot['send_requests']})",
            "passed": bot["share_429_outside_storm"] <= TARGET_429_OUTSIDE,
        },
        {
            "name": "peak RSS (getrusage, build and send processes)",
            "limit": f"<= {TARGET_RSS_MB:.0f} MB",
            "measured": f"{peak_rss_mb:.0f} MB",
            "passed": peak_rss_mb <= TARGET_RSS_MB,
        },
    ]


def _other_cpu(worker: dict[str, Any]) -> str:
    other, span = worker.get("other_cpu_s", 0.0), worker.get("phase_s", 0.0)
    return f"{other:.0f} ({other / span:.2f} cores)" if span else "not measured"


def _cells(f: dict[str, Any]) -> dict[str, str]:
    w = f["worker"]
    return {
        "wall": f"{f['wall_s']:.1f}",
        "accepted": f"{f['accepted']}",
        "throughput": f"{f['throughput']:.1%}",
        "ex_storm": f"{f['throughput_excluding_storm']:.1%}",
        "exact": f"{f['chats_exact']}/{f['reachable_chats']}",
        "missing": f"{f['chats_missing']}",
        "twice": f"{f['chats_twice']}",
        "blocked": f"{f['blocked_received']}",
        "requests": f"{f['send_requests']}",
        "5xx": f"{f['answers_5xx']}",
        "403": f"{f['answers_403']}",
        "429": f"{f['answers_429']} ({f['answers_429_in_storm']} in the storm)",
        "429out": f"{f['answers_429_outside_storm']} ({f['share_429_outside_storm']:.2%})",
        "p99": f"{f['p99_accepted_after_s']:.1f}",
        "refused": f"{f['refused_requests_s']:.1f}",
        "rss": f"{w['peak_rss_mb']:.0f} ({w['vm_hwm_mb']:.0f})",
        "cpu": f"{w['cpu_s']:.1f}",
        "fake_cpu": f"{w.get('fake_server_cpu_s', 0):.1f}",
        "other_cpu": _other_cpu(w),
    }


LABELS = (
    ("sending wall s", "wall"),
    ("messages accepted", "accepted"),
    ("throughput: accepted / (wall x 30)", "throughput"),
    ("the same, storm seconds off the wall", "ex_storm"),
    ("99% of the accepted messages in, after s", "p99"),
    ("refused requests (not 200) / 30, in s", "refused"),
    ("reachable chats with exactly their digest", "exact"),
    ("reachable chats missing it", "missing"),
    ("chats that got it twice or more", "twice"),
    ("messages accepted for 403 chats", "blocked"),
    ("send requests", "requests"),
    ("5xx answers", "5xx"),
    ("403 answers", "403"),
    ("429 answers", "429"),
    ("429 outside the storm (share of requests)", "429out"),
    ("peak RSS MB of the process: getrusage (VmHWM)", "rss"),
    ("CPU s of the process", "cpu"),
    ("CPU s of the fake server", "fake_cpu"),
    ("CPU s of other work on the machine meanwhile (cores busy on average)", "other_cpu"),
)


def markdown(result: dict[str, Any]) -> str:
    """The report: set-up, machine, both contenders side by side, targets, notes."""
    p, m, build = result["params"], result["machine"], result["build"]
    bot, naive, imports = result["briefbot"], result.get("naive"), result["imports"]
    lines = [
        f"Delivery benchmark, {result['finished_at']}: {p['chats']} chats ({p['groups']} groups), "
        f"one digest each queued by {build['mode']}, database {p['database']}; fake Bot API "
        f"at 30/s, 1/s per chat, 20/min per group; {p['error_rate']:.0%} of sends answered "
        f"5xx, {p['blocked']} chats answering 403, one {p['storm_seconds']:g} s 429 storm "
        f"(retry_after={p['storm_retry_after']}) after {p['storm_after']} accepted messages; "
        f"{p.get('latency_ms', 0):g} ms added to every request.",
        "",
        f"Machine: nproc {m['nproc']}, {m['cpu_model']}, Linux {m['kernel']}, "
        f"Python {m['python']}; load average {' '.join(result['loadavg_at_start'])} at the "
        f"start, {' '.join(result['loadavg_at_end'])} at the end.",
        f"Code: git HEAD {result['code']['git_head']} (bot/ differs from HEAD: "
        f"{result['code']['bot_modified']}), bot/ sources sha256 "
        f"{result['code']['bot_sources_sha256'][:12]}.",
        "",
        f"Queueing: {build['mode']} queued {build['chats_queued']} chats' digests in "
        f"{build['seconds']:.1f} s ({build['rows']} outbox rows; parts per chat "
        f"{build['parts_per_chat']}; body bytes min {build['body_bytes']['min']}, median "
        f"{build['body_bytes']['median']}, p90 {build['body_bytes']['p90']}, max "
        f"{build['body_bytes']['max']}; process peak RSS {build['peak_rss_mb']:.0f} MB). "
        f"Populating the database beforehand took {result['populate']['seconds']:.1f} s.",
        "",
        f"Imports alone (aiogram, SQLAlchemy, the sender; no work): peak RSS "
        f"{imports['peak_rss_mb']:.0f} MB, {imports['cpu_s']:.1f} CPU s. The runner that "
        f"starts the workers was at {result['runner_rss_mb']:.0f} MB.",
        "",
        "| | briefbot Sender | naive send_message loop |",
        "|---|--:|--:|",
    ]
    for label, key in LABELS:
        naive_cell = _cells(naive)[key] if naive else "not run"
        lines.append(f"| {label} | {_cells(bot)[key]} | {naive_cell} |")
    w = bot["worker"]
    lines += [
        "",
        f"briefbot: sender stats sent={w['sent']} retry_after={w['retry_after']} "
        f"failures={w['failures']}; outbox afterwards {w['states']}; chats left "
        f"{w['chats_left']} (403 chats are deleted with their rows); halted={w['halted']}; "
        f"timed out={w['timed_out']}.",
    ]
    if naive:
        skipped = {k: v for k, v in naive["worker"].items() if k.startswith("skipped_")}
        lines.append(
            f"naive: sent={naive['worker'].get('sent', 0)} slept on "
            f"{naive['worker'].get('retry_after', 0)} 429s; skipped {skipped}."
        )
    for name, figures in (("briefbot", bot), ("naive", naive)):
        if figures:
            rates = " ".join(f"{r:g}" for r in figures["timeline_per_s"])
            lines.append(f"\n{name}, accepted per second in 10 s windows: {rates}")
    lines += ["", "| target (briefbot) | limit | measured | result |", "|---|---|---|---|"]
    for t in result["targets"]:
        verdict = "PASS" if t["passed"] else "FAIL"
        lines.append(f"| {t['name']} | {t['limit']} | {t['measured']} | {verdict} |")
    return "\n".join(lines) + "\n"
