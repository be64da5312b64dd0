"""`briefbot match` and `briefbot rules test` as subprocesses, from a catalog with no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.feedserver import FeedServer
from tests.test_cli import REPO, briefbot
from tests.test_matching_hook import CATALOG
from tests.test_poller import rss

ITEMS = [
    {"id": "a", "title": "EU widens sanctions on Belarus", "summary": "", "language": "en"},
    {"id": "b", "title": "Новыя санкцыі супраць Беларусі", "language": "be", "scope": "belarus"},
    {"id": "c", "title": "US sanctions Iranian shipping firms", "summary": "Oil trade."},
    {"id": "d", "title": "Minsk weather: snow", "summary": "", "scope": "belarus"},
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "feeds.yaml").write_text(CATALOG, encoding="utf-8")
    return {
        "FEEDS_FILE": str(tmp_path / "feeds.yaml"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
        # The feed below is dated May 2026: keep it inside the retention horizon.
        "RETENTION_DAYS": "36500",
    }


def lines(items: list[dict[str, str]]) -> str:
    return "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)


async def test_match_writes_one_verdict_per_input_line(tmp_path: Path, env: dict[str, str]) -> None:
    run = await briefbot("match", "-", stdin=lines(ITEMS), env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c", "d"]
    assert [o["relevant"] for o in out] == [True, True, False, False]
    assert out[0]["themes"] == ["sanctions"]
    assert out[0]["recommendations"] == []
    assert out[0]["urgent"] is True
    assert out[0]["why"][0]["word"] == "sanctions"
    assert set(out[0]) == {
        "id",
        "relevant",
        "recommendations",
        "themes",
        "score",
        "urgent",
        "why",
        "story",
    }


async def test_match_explain_is_readable(tmp_path: Path, env: dict[str, str]) -> None:
    run = await briefbot("match", "--explain", stdin=lines(ITEMS[:3]), env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "[a] EU widens sanctions on Belarus" in run.stdout
    assert "sanctions: sanction* matched 'sanctions' in title" in run.stdout
    assert "a global-feed item must also mention Belarus" in run.stdout


async def test_bad_lines_are_named_and_the_good_ones_still_matched(
    tmp_path: Path, env: dict[str, str]
) -> None:
    text = lines(ITEMS[:1]) + "{not json\n" + '{"id": "z", "title": ""}\n' + lines(ITEMS[1:2])
    run = await briefbot("match", "-", stdin=text, env=env, cwd=tmp_path)
    assert run.code == 1
    assert "line 2: not JSON" in run.stderr
    assert "line 3: 'title' must be a non-empty string" in run.stderr
    assert [json.loads(x)["id"] for x in run.stdout.splitlines()] == ["a", "b"]


async def test_rules_test_reports_a_syntax_error_with_a_pointer(
    tmp_path: Path, env: dict[str, str]
) -> None:
    run = await briefbot("rules", "test", "санкц* AND (", stdin="", env=env, cwd=tmp_path)
    assert run.code == 2
    assert "^" in run.stderr
    assert "Traceback" not in run.stderr


async def test_rules_test_on_an_empty_database_counts_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    run = await briefbot("rules", "test", "@belarus AND санкц*", stdin="", env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "0 of 0 items from the last 30 days" in run.stdout


async def test_rules_test_backtests_stored_items(
    tmp_path: Path, env: dict[str, str], feed_server: FeedServer
) -> None:
    feed_server.add(
        "/f.xml",
        rss(
            [
                ("1", "https://n.example/1", "Лукашенко ответил на санкции ЕС"),
                ("2", "https://n.example/2", "Санкцыі: новы пакет"),
                ("3", "https://n.example/3", "Погода в Минске"),
            ]
        ),
    )
    feeds = CATALOG.replace('"https://example.org/wire.xml"', f'"{feed_server.url("/f.xml")}"')
    (tmp_path / "feeds.yaml").write_text(feeds, encoding="utf-8")
    env["ALLOW_PRIVATE_NETWORKS"] = "true"
    polled = await briefbot("poll", "--once", stdin="", env=env, cwd=tmp_path)
    assert "new_items=3" in polled.stdout, polled.stderr
    run = await briefbot("rules", "test", "санкц*", "--days", "7", stdin="", env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "2 of 3 items from the last 7 days" in run.stdout
    assert "by feed: wire 2" in run.stdout
    assert "Санкцыі: новы пакет" in run.stdout
