"""feedparser alone on the saved corpus, in one process: the baseline of the poll targets.

python -m bench.poll.baseline bench/poll/out/corpus [--fast]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.poll.measure import run_measured


def feedparser_only(corpus: Path, fast: bool) -> dict[str, Any]:
    """Parse every saved document in this process, sequentially; time the loop only."""
    import feedparser

    docs = [(p.stem, p.read_bytes()) for p in sorted(corpus.glob("*.xml"))]
    options = {"sanitize_html": False, "resolve_relative_uris": False} if fast else {}
    entries = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for name, body in docs:
        headers = {
            "content-location": f"http://127.0.0.1/feeds/{name}.xml",
            "content-type": "application/xml; charset=utf-8",
        }
        entries += len(
            feedparser.parse(io.BytesIO(body), response_headers=headers, **options).entries
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "feeds": len(docs), "entries": entries}


def time_feedparser(
    corpus: Path, timeout: float, cwd: Path, *, fast: bool, when: str = ""
) -> dict[str, Any] | None:
    """feedparser alone, with default options or with sanitising and URI resolution off."""
    label = "sanitize_html=False, resolve_relative_uris=False" if fast else "default options"
    label = f"{label}, {when}" if when else label
    argv = [sys.executable, "-m", "bench.poll.baseline", str(corpus)]
    run = run_measured([*argv, "--fast"] if fast else argv, cwd=cwd, timeout=timeout)
    if run.returncode != 0:
        print(run.stderr[-2000:], file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(run.stdout)
    result.update(label=label, max_rss_mb=run.max_rss_mb, fast=fast)
    print(f"feedparser alone, {label}: {result['wall_s']:.2f} s", flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    """Command line: print the timing of one parse of every document as JSON."""
    parser = argparse.ArgumentParser(description="Time feedparser alone on a saved corpus.")
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--fast", action="store_true", help="sanitising and URI resolution off")
    args = parser.parse_args(argv)
    print(json.dumps(feedparser_only(args.corpus, args.fast)))


if __name__ == "__main__":
    main()
