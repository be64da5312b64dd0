"""Other feed readers polled on the same corpus for comparison: rss2email and newsboat."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

R2E_VENV = Path("/tmp/briefbot-bench-peers")
R2E_INSTALL = f"python3 -m venv {R2E_VENV} && {R2E_VENV}/bin/pip install rss2email"
NEWSBOAT_INSTALL = "apt-get update && apt-get install -y newsboat"


@dataclass(frozen=True, slots=True)
class Peer:
    """A prepared peer: how to run one poll, and how to count what it stored."""

    name: str
    version: str
    argv: list[str]
    env: dict[str, str]
    workdir: Path

    def stored(self) -> tuple[int, int]:
        """(items stored, items stored twice) after the last poll."""
        if self.name == "rss2email":
            return _r2e_seen(self.workdir / "rss2email.json"), 0
        return _newsboat_items(self.workdir / "cache.db")


def _version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].split(" - ")[0] if lines else ""


def _isolated_env(home: Path) -> dict[str, str]:
    """An environment whose HOME and XDG folders are inside `home`, without proxies."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data")
    )
    return env


def find_r2e(explicit: Path | None) -> Path | None:
    """The r2e executable: the one given, the bench venv's, or one on PATH."""
    for candidate in (explicit, R2E_VENV / "bin" / "r2e"):
        if candidate is not None and candidate.is_file():
            return candidate
    found = shutil.which("r2e")
    return Path(found) if found else None


def prepare_rss2email(r2e: Path, workdir: Path, urls: Sequence[str]) -> Peer:
    """Create an rss2email config holding every feed; the run fetches but sends no mail."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = _isolated_env(workdir)
    config, data = workdir / "rss2email.cfg", workdir / "rss2email.json"
    base = [str(r2e), "-c", str(config), "-d", str(data)]
    subprocess.run(
        [*base, "new", "bench@example.invalid"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with config.open("a", encoding="utf-8") as cfg:
        for i, url in enumerate(urls):
            cfg.write(f"\n[feed.bench-{i:04d}]\nurl = {url}\n")
    version = _version([str(r2e), "--version"])
    return Peer("rss2email", version, [*base, "run", "--no-send"], env, workdir)


def _r2e_seen(data: Path) -> int:
    """Entries rss2email recorded as seen, over all feeds."""
    try:
        state = json.loads(data.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return sum(len(feed.get("seen") or {}) for feed in state.get("feeds", []))


def prepare_newsboat(newsboat: Path, workdir: Path, urls: Sequence[str]) -> Peer:
    """A urls file and an empty config; `-x reload` polls every feed without a terminal."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "urls").write_text("".join(f"{u}\n" for u in urls), encoding="utf-8")
    (workdir / "config").write_text("", encoding="utf-8")
    argv = [
        str(newsboat),
        "-u",
        str(workdir / "urls"),
        "-c",
        str(workdir / "cache.db"),
        "-C",
        str(workdir / "config"),
        "-x",
        "reload",
    ]
    version = _version([str(newsboat), "--version"])
    return Peer("newsboat", version, argv, _isolated_env(workdir), workdir)


def _newsboat_items(cache: Path) -> tuple[int, int]:
    """Items in newsboat's cache, and how many (feed, guid) pairs it holds twice."""
    if not cache.is_file():
        return 0, 0
    with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as db:
        total = db.execute("SELECT COUNT(*) FROM rss_item").fetchone()[0]
        twice = db.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM rss_item"
            " GROUP BY feedurl, guid HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    return int(total), int(twice)


Preparer = Callable[[Path, Sequence[str]], Peer]


def find_peers(r2e: Path | None) -> tuple[dict[str, Preparer], dict[str, str]]:
    """Preparers for the installed peers; for the others, why not and how to install."""
    found: dict[str, Preparer] = {}
    missing: dict[str, str] = {}
    r2e_path = find_r2e(r2e)
    if r2e_path is None:
        missing["rss2email"] = f"not installed; install with: {R2E_INSTALL}"
    else:
        found["rss2email"] = partial(prepare_rss2email, r2e_path)
    newsboat = shutil.which("newsboat")
    if newsboat is None:
        missing["newsboat"] = f"not installed; install with: {NEWSBOAT_INSTALL}"
    else:
        found["newsboat"] = partial(prepare_newsboat, Path(newsboat))
    return found, missing
