"""Without BOT_TOKEN, `briefbot run` delivers to the terminal; `digest preview` prints a digest."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.support.feedserver import FeedServer
from tests.test_cli import REPO, briefbot

RSS = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Loop</title>"
    "<item><guid>n1</guid><link>https://news.example/1</link>"
    "<title>ЕС продлил санкции против Беларуси</title><description>Decision</description></item>"
    "<item><guid>n2</guid><link>https://news.example/2</link><title>Weather in Minsk</title>"
    "<description>Sunny</description></item></channel></rss>"
)


def write_catalog(path: Path, url: str) -> Path:
    """A catalog with one feed and one topic."""
    path.write_text(
        f"""version: 1
feeds:
  - {{id: loop, url: "{url}", title: Loop News, publisher: independent-media,
     language: ru, scope: belarus, interval: 15m}}
topics:
  - id: sanctions
    titles: {{en: Sanctions, be: Санкцыі, ru: Санкции}}
    urgent: true
    rules: ["санкц*", "sanction*"]
""",
        encoding="utf-8",
    )
    return path


def env_for(tmp_path: Path, feed_server: FeedServer) -> dict[str, str]:
    catalog = write_catalog(tmp_path / "feeds.yaml", feed_server.url("/feed.xml"))
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}",
        "FEEDS_FILE": str(catalog),
        "ALLOW_PRIVATE_NETWORKS": "true",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
        "DIGEST_TICK_SECONDS": "1",
        "BOT_TOKEN": "",
    }


async def test_run_without_a_token_prints_the_first_digest(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/feed.xml", RSS)
    env = env_for(tmp_path, feed_server)
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
    assert proc.stdout is not None
    printed: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("Also" in line or "Loop News" in line for line in printed):
                line = await proc.stdout.readline()
                if not line:
                    break
                printed.append(line.decode())
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    text = "".join(printed) + rest.decode()
    assert proc.returncode == 0, err.decode()
    assert "Daily digest" in text
    assert "ЕС продлил санкции против Беларуси (https://news.example/1)" in text
    assert "Weather in Minsk" not in text
    assert "<b>" not in text  # rendered for a terminal, not raw HTML
    assert "printed here instead of Telegram" in err.decode()


async def test_digest_preview_prints_stored_items_in_the_chosen_language(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/feed.xml", RSS)
    env = env_for(tmp_path, feed_server)
    polled = await briefbot("poll", "--once", env=env, cwd=tmp_path)
    assert polled.code == 0, polled.stderr
    shown = await briefbot(
        "digest", "preview", "--period", "week", "--lang", "be", env=env, cwd=tmp_path
    )
    assert shown.code == 0, shown.stderr
    assert "ЕС продлил санкции" in shown.stdout
    assert "Санкцыі" in shown.stdout
    none = await briefbot("digest", "preview", "--topics", "war", env=env, cwd=tmp_path)
    assert none.code == 2
    assert "unknown war" in none.stderr
    assert "sanctions" in none.stderr
