"""What must hold once the last run settled: items stored once, owed messages sent once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import col

from bench.crash.corpus import Corpus
from bench.crash.population import Population
from bot.db.engine import Database
from bot.db.tables import Chat, Item, OutboxRow
from bot.delivery.outbox import DEAD, SENT, UNCERTAIN, UNSETTLED
from tests.fakes.botapi_methods import SentMessage

SHOWN = 10  # violations of one kind spelled out; the rest are counted


@dataclass(slots=True)
class Outcome:
    """Counts from the database and the fake Bot API, and every invariant broken."""

    items: int = 0
    expected_items: int = 0
    relevant_entries: int = 0
    rows_by_state: dict[str, int] = field(default_factory=dict)
    digest_rows: int = 0
    alert_rows: int = 0
    uncertain: int = 0
    uncertain_delivered: int = 0  # the request reached the fake before the kill
    messages: int = 0
    digest_part0_once: int = 0  # chats whose digest's first message arrived exactly once
    violations: list[str] = field(default_factory=list)


async def settled(database: Database, *, chats: int, items: int) -> bool:
    """Every item stored, every chat's digest queued, and nothing left to send."""
    async with database.read() as session:
        stored = await session.scalar(select(func.count()).select_from(Item))
        unsettled = await session.scalar(
            select(func.count()).where(col(OutboxRow.state).in_(UNSETTLED))
        )
        digest_chats = await session.scalar(
            select(func.count(func.distinct(OutboxRow.chat_pk))).where(
                col(OutboxRow.kind) == "digest"
            )
        )
    return (stored or 0) >= items and unsettled == 0 and (digest_chats or 0) >= chats


def _report(outcome: Outcome, kind: str, problems: Sequence[str]) -> None:
    outcome.violations.extend(f"{kind}: {p}" for p in problems[:SHOWN])
    if len(problems) > SHOWN:
        outcome.violations.append(f"{kind}: ... and {len(problems) - SHOWN} more")


async def _check_items(database: Database, corpus: Corpus, outcome: Outcome) -> None:
    async with database.read() as session:
        rows = (
            await session.execute(select(col(Item.feed_id), col(Item.key), col(Item.guid)))
        ).all()
    expected = corpus.expected
    outcome.items, outcome.expected_items = len(rows), len(expected)
    outcome.relevant_entries = corpus.relevant_entries
    twice = [f"{k} x{n}" for k, n in Counter((f, k) for f, k, _ in rows).items() if n > 1]
    _report(outcome, "item stored twice", twice)
    stored = {(f, g) for f, _, g in rows}
    _report(outcome, "item missing", sorted(f"{f} {g}" for f, g in expected - stored))
    _report(outcome, "item unknown", sorted(f"{f} {g}" for f, g in stored - expected))


def _check_rows(
    rows: Sequence[tuple[int, str, str, int, str, str]],
    population: Population,
    outcome: Outcome,
) -> None:
    outcome.rows_by_state = dict(Counter(state for *_, state, _ in rows))
    bad = [
        f"chat {c} {k} {r} part {p}: {s}" for c, k, r, p, s, _ in rows if s in (*UNSETTLED, DEAD)
    ]
    _report(outcome, "row not settled or dead", bad)
    digests: dict[int, set[str]] = {}
    for chat_id, kind, ref, *_ in rows:
        if kind == "digest":
            digests.setdefault(chat_id, set()).add(ref)
    outcome.digest_rows = sum(1 for _, kind, *_ in rows if kind == "digest")
    outcome.alert_rows = sum(1 for _, kind, *_ in rows if kind == "alert")
    wrong = [
        f"chat {c}: {sorted(digests.get(c, ()))}"
        for c in population.chat_ids
        if len(digests.get(c, ())) != 1
    ]
    _report(outcome, "digest periods not exactly one", wrong)


def _check_messages(
    rows: Sequence[tuple[int, str, str, int, str, str]],
    messages: Sequence[SentMessage],
    outcome: Outcome,
) -> None:
    received = Counter((m.chat_id, m.text) for m in messages)
    outcome.messages = len(messages)
    owed: dict[tuple[int, str | None], list[str]] = {}
    for chat_id, _, _, _, state, body in rows:
        owed.setdefault((chat_id, body), []).append(state)
    wrong: list[str] = []
    for key, states in owed.items():
        chat_id, got = key[0], received.pop(key, 0)
        sure, maybe = states.count(SENT), states.count(UNCERTAIN)
        outcome.uncertain += maybe
        outcome.uncertain_delivered += min(max(got - sure, 0), maybe)
        if not sure <= got <= sure + maybe:
            wrong.append(f"chat {chat_id}: received {got}, rows sent {sure} uncertain {maybe}")
    _report(outcome, "message count", wrong)
    unknown = [f"chat {c}: {n} x {str(t)[:60]!r}" for (c, t), n in received.items()]
    _report(outcome, "message with no outbox row", unknown)
    firsts = {(c, body) for c, kind, _, part, _, body in rows if kind == "digest" and part == 0}
    part0 = Counter(m.chat_id for m in messages if (m.chat_id, m.text) in firsts)
    outcome.digest_part0_once = sum(1 for n in part0.values() if n == 1)


async def check(
    database: Database,
    corpus: Corpus,
    population: Population,
    messages: Sequence[SentMessage],
    *,
    kills: int,
    concurrency: int,
) -> Outcome:
    """Every invariant, with counts; `violations` is empty when all hold."""
    outcome = Outcome()
    await _check_items(database, corpus, outcome)
    async with database.read() as session:
        chat_ids = set((await session.execute(select(col(Chat.chat_id)))).scalars())
        rows = (
            await session.execute(
                select(
                    col(Chat.chat_id),
                    col(OutboxRow.kind),
                    col(OutboxRow.ref),
                    col(OutboxRow.part),
                    col(OutboxRow.state),
                    col(OutboxRow.body),
                ).join(Chat, col(Chat.id) == col(OutboxRow.chat_pk))
            )
        ).all()
    typed = [(c, k, r, p, s, b) for c, k, r, p, s, b in rows]
    gone = sorted(set(population.chat_ids) - chat_ids)
    _report(outcome, "chat deleted", [str(c) for c in gone])
    _check_rows(typed, population, outcome)
    _check_messages(typed, messages, outcome)
    bound = kills * concurrency
    if outcome.uncertain > bound:
        outcome.violations.append(
            f"uncertain rows {outcome.uncertain} > kills x SEND_CONCURRENCY = {bound}"
        )
    return outcome
