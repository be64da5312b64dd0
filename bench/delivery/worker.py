"""One measured phase in its own process, so its peak RSS and CPU time are its own.

    python -m bench.delivery.worker prepare  --database-url U --chats N --groups G --seed S
    python -m bench.delivery.worker build    --database-url U --plan FILE [--direct]
    python -m bench.delivery.worker briefbot --database-url U --api URL --token T
    python -m bench.delivery.worker naive    --plan FILE --api URL --token T
    python -m bench.delivery.worker imports

Prints one JSON line. Only the phase's own modules are imported: building digests does
not load aiogram, and the naive loop does not load the sender.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

Phase = Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The worker's command line."""
    parser = argparse.ArgumentParser(description="One phase of the delivery benchmark.")
    parser.add_argument("phase", choices=("prepare", "build", "briefbot", "naive", "imports"))
    parser.add_argument("--database-url", default="")
    parser.add_argument("--chats", type=int, default=0)
    parser.add_argument("--groups", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plan", default="")
    parser.add_argument("--direct", action="store_true")
    parser.add_argument("--api", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--timeout", type=float, default=3600.0)
    return parser.parse_args(argv)


def pick(name: str) -> Phase:
    """The coroutine function of a phase, importing only its module."""
    if name in ("prepare", "build"):
        from bench.delivery import queueing

        return {"prepare": queueing.prepare, "build": queueing.build}[name]
    if name == "naive":
        from bench.delivery import naive

        return naive.naive
    from bench.delivery import contenders

    return {"briefbot": contenders.briefbot, "imports": contenders.imports}[name]


def main(argv: Sequence[str] | None = None) -> None:
    """Run one phase and print its result as JSON."""
    args = parse_args(argv)
    if args.phase in ("briefbot", "imports"):
        from bot.memory import return_freed_memory

        return_freed_memory()  # as `briefbot run` does first thing (bot/__main__.py)
    result = asyncio.run(pick(args.phase)(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
