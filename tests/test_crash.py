"""`briefbot run` SIGKILLed at random moments and restarted: nothing lost, nothing sent twice.

The short version of bench/crash (see its README): on SQLite and PostgreSQL, two seeds each,
20 feeds, 150 chats each owed one daily digest, 3 kills per seed, SEND_CONCURRENCY=1. The four
seeds run at once to keep the wall time near a minute (most of it is waiting for the outbox
lease of the killed process to expire).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.crash.harness import run_seed
from bench.crash.killswitch import log_tail
from bench.crash.model import Scenario, SeedResult
from bench.crash.population import templates

BACKENDS = ("sqlite", "postgres")
# Digests only (no backlog poll for alerts) and send kills within the first 40 sends: each
# process start costs several CPU-seconds, and a killed sender's leased rows wait 30 s.
SCENARIOS = [
    Scenario(backend, seed, alert_share=0.0, send_kill_span=40)
    for backend in BACKENDS
    for seed in (1, 2)
]


def _explain(result: SeedResult) -> str:
    s = result.scenario
    kills = "; ".join(f"{k.mode} {k.planned} -> {k.fired_by} {k.at_seconds}s" for k in result.kills)
    return f"{s.backend} seed {s.seed}: kills [{kills}]\n" + "\n".join(result.violations)


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_sigkill_at_random_moments_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    async with templates(BACKENDS, tmp_path) as made:
        results = await asyncio.gather(*(run_seed(s, made[s.backend], tmp_path) for s in SCENARIOS))
    failed = [r for r in results if r.violations]
    assert not failed, "\n\n".join(_explain(r) + "\n" + log_tail(r.logs) for r in failed)
    for result in results:
        outcome = result.outcome
        assert len(result.kills) == 3
        assert outcome.items == outcome.expected_items == 160
        assert outcome.digest_rows >= 150
        assert outcome.uncertain <= 3
        # Every chat got its digest's first message once, unless that row is uncertain.
        assert outcome.digest_part0_once >= 150 - outcome.uncertain
