"""The briefbot command line, run as a real subprocess against loopback feeds and a real DB."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.feedserver import FeedServer

REPO = Path(__file__).resolve().parents[1]
RSS = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Loopback</title>"
    "<item><guid>n1</guid><link>https://news.example/1</link><title>Лукашэнка і санкцыі</title>"
    "<description>First</description></item>"
    "<item><guid>n2</guid><link>https://news.example/2</link><title>Viasna counts prisoners</title>"
    "<description>Second</description></item></channel></rss>"
)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def catalog(path: Path, feeds: dict[str, str]) -> Path:
    """Write a feeds.yaml with one belarus-scope feed per id -> url."""
    lines = ["version: 1", "feeds:"]
    for feed_id, url in feeds.items():
        lines += [
            f"  - id: {feed_id}",
            f"    url: {url}",
            f"    title: Feed {feed_id}",
            "    publisher: independent-media",
            "    language: be",
            "    scope: belarus",
            "    interval: 15m",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def briefbot(*args: str, env: dict[str, str], cwd: Path, stdin: str = "") -> Run:
    """Run `python -m bot ARGS` and collect its output (the loop keeps serving meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ALLOW_PRIVATE_NETWORKS": "true",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }


def stored_titles(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        return [row[0] for row in conn.execute("SELECT title FROM items ORDER BY title")]


async def test_validate_accepts_the_shipped_catalog(tmp_path: Path, env: dict[str, str]) -> None:
    env["FEEDS_FILE"] = str(REPO / "feeds.yaml")
    run = await briefbot("config", "validate", env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "feeds.yaml: OK" in run.stdout


async def test_validate_reports_every_problem_with_its_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    env["FEEDS_FILE"] = str(REPO / "tests/data/catalog/many_errors.yaml")
    run = await briefbot("config", "validate", env=env, cwd=tmp_path)
    assert run.code == 2
    problems = [line for line in run.stderr.splitlines() if "many_errors.yaml:" in line]
    assert len(problems) >= 8
    assert any("many_errors.yaml:12: feeds[1]" in line and "ftp" in line for line in problems)
    assert any("many_errors.yaml:18:" in line and "same id" in line for line in problems)
    assert "Traceback" not in run.stderr


async def test_run_with_a_broken_catalog_exits_2_with_the_same_report(
    tmp_path: Path, env: dict[str, str]
) -> None:
    env["FEEDS_FILE"] = str(REPO / "tests/data/catalog/many_errors.yaml")
    validate = await briefbot("config", "validate", env=env, cwd=tmp_path)
    run = await briefbot("run", env=env, cwd=tmp_path)
    assert run.code == 2
    assert run.stderr == validate.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATABASE_URL", "mysql://db/x"), ("TIMEZONE", "Nowhere/City"), ("STAFF_IDS", "abc")],
)
async def test_a_bad_setting_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], variable: str, value: str
) -> None:
    env[variable] = value
    run = await briefbot("db", "upgrade", env=env, cwd=tmp_path)
    assert run.code == 2
    assert run.stderr.strip().count("\n") == 0
    assert run.stderr.startswith(f"error: {variable}:")


async def test_db_upgrade_creates_then_reports_current(tmp_path: Path, env: dict[str, str]) -> None:
    first = await briefbot("db", "upgrade", env=env, cwd=tmp_path)
    second = await briefbot("db", "upgrade", env=env, cwd=tmp_path)
    assert first.code == second.code == 0
    assert "upgraded from empty" in first.stdout
    assert "already at revision" in second.stdout


async def test_poll_once_stores_items_then_sees_304(
    tmp_path: Path, env: dict[str, str], feed_server: FeedServer
) -> None:
    feed_server.add("/a.xml", RSS, etag='"a1"')
    env["FEEDS_FILE"] = str(catalog(tmp_path / "feeds.yaml", {"loop": feed_server.url("/a.xml")}))
    first = await briefbot("poll", "--once", env=env, cwd=tmp_path)
    assert first.code == 0, first.stderr
    assert "new_items=2" in first.stdout
    assert stored_titles(tmp_path) == ["Viasna counts prisoners", "Лукашэнка і санкцыі"]
    second = await briefbot("poll", "--once", "--all", env=env, cwd=tmp_path)
    assert "not_modified=1" in second.stdout
    assert feed_server.not_modified("/a.xml") == 1
    listing = await briefbot("feeds", "list", env=env, cwd=tmp_path)
    row = next(line for line in listing.stdout.splitlines() if "loop" in line)
    assert "ok" in row
    assert " 2 " in row


async def test_poll_reports_unreachable_feeds_clearly(
    tmp_path: Path, env: dict[str, str], unused_tcp_port: int
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/feed.xml"
    env["FEEDS_FILE"] = str(catalog(tmp_path / "feeds.yaml", {"gone": url}))
    run = await briefbot("poll", "--once", env=env, cwd=tmp_path)
    assert run.code == 0
    assert "Feeds that failed this cycle" in run.stdout
    assert "connect_failed" in run.stdout
    assert "errors=1" in run.stdout


async def test_feeds_check_shows_entries_and_stores_nothing(
    tmp_path: Path, env: dict[str, str], feed_server: FeedServer
) -> None:
    feed_server.add("/a.xml", RSS)
    env["FEEDS_FILE"] = str(catalog(tmp_path / "feeds.yaml", {"loop": feed_server.url("/a.xml")}))
    run = await briefbot("feeds", "check", feed_server.url("/a.xml"), env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "Viasna counts prisoners" in run.stdout
    assert "would store 2 new of 2 entries; nothing was stored" in run.stdout
    assert stored_titles(tmp_path) == []


async def test_feeds_check_refuses_a_private_url_without_the_flag(
    tmp_path: Path, env: dict[str, str]
) -> None:
    env["ALLOW_PRIVATE_NETWORKS"] = "false"
    run = await briefbot("feeds", "check", "http://169.254.169.254/latest/", env=env, cwd=tmp_path)
    assert run.code == 1
    assert "private_address" in run.stderr
    assert "Traceback" not in run.stderr


async def test_run_polls_on_schedule_and_stops_cleanly_on_sigterm(
    tmp_path: Path, env: dict[str, str], feed_server: FeedServer
) -> None:
    feed_server.add("/a.xml", RSS)
    env["FEEDS_FILE"] = str(catalog(tmp_path / "feeds.yaml", {"loop": feed_server.url("/a.xml")}))
    env["LOG_LEVEL"] = "INFO"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(100):
            if (
                feed_server.hits("/a.xml")
                and (tmp_path / "cli.db").exists()
                and stored_titles(tmp_path)
            ):
                break
            await asyncio.sleep(0.1)
        assert len(stored_titles(tmp_path)) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    log = err.decode()
    assert proc.returncode == 0, log
    assert "printed here instead of Telegram" in log
    assert "matched items=2" in log
    assert "briefbot stopped" in log


async def test_look_alike_hosts_are_shown_in_punycode(tmp_path: Path, env: dict[str, str]) -> None:
    env["FEEDS_FILE"] = str(catalog(tmp_path / "feeds.yaml", {"lookalike": "https://gоv.by/rss"}))
    run = await briefbot("config", "validate", env=env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    expected = "warning: feed lookalike: gоv.by contains non-ASCII letters; it is really xn--"
    assert expected in run.stderr
