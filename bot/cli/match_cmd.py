"""`briefbot match` and `briefbot rules test`: the matcher from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

from bot.cli.common import catalog_or_exit, err, out, run_async, settings_or_exit, utcnow

if TYPE_CHECKING:
    from bot.matching.backtest import Backtest
    from bot.matching.matcher import MatchInput, Verdict

rules_app = typer.Typer(help="Keyword rules.", no_args_is_help=True)
SCOPES = ("belarus", "global")


class BadLineError(ValueError):
    """One input line that is not a usable item."""


def read_item(line: str, number: int) -> MatchInput:
    """Parse one JSON line into a MatchInput; BadLineError names what is wrong."""
    from bot.matching.matcher import MatchInput

    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLineError(f"line {number}: not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise BadLineError(f"line {number}: expected a JSON object")
    title, summary = data.get("title"), data.get("summary") or ""
    if not isinstance(title, str) or not title.strip():
        raise BadLineError(f"line {number}: 'title' must be a non-empty string")
    if not isinstance(summary, str):
        raise BadLineError(f"line {number}: 'summary' must be a string")
    scope = data.get("scope") or "global"
    if scope not in SCOPES:
        raise BadLineError(f"line {number}: 'scope' must be belarus or global, not {scope!r}")
    return MatchInput(
        id=str(data.get("id", number)),
        title=title,
        summary=summary,
        language=str(data.get("language") or "en"),
        scope=scope,
        link=data.get("link") if isinstance(data.get("link"), str) else None,
    )


def _lines(source: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(source, start=1):
        if line.strip():
            yield number, line


def explain(item: MatchInput, verdict: Verdict, story: str) -> str:
    """A readable account of one verdict."""
    head = "RELEVANT" if verdict.relevant else "not relevant"
    lines = [f"[{item.id}] {item.title}", f"  {head}  score {verdict.score:.2f}"]
    if verdict.relevant:
        tags = ", ".join(verdict.recommendations) or "no recommendation"
        lines.append(f"  recommendations: {tags}; themes: {', '.join(verdict.themes) or '-'}")
        lines.append(f"  urgent: {'yes' if verdict.urgent else 'no'}; story: {story}")
        lines += [
            f"  - {h.topic}: {h.term} matched '{h.word}' in {h.field}: {h.snippet}"
            for h in verdict.why
        ]
    elif verdict.without_context:
        topics = ", ".join(verdict.without_context)
        lines.append(f"  matched {topics}, but a global-feed item must also mention Belarus")
    else:
        lines.append("  no topic rule matched")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `match` to the top-level app and the `rules` group."""
    app.add_typer(rules_app, name="rules")

    @app.command("match")
    def match_command(
        source: str = typer.Argument("-", help="A JSON-lines file, or - for standard input."),
        explain_items: bool = typer.Option(False, "--explain", help="Readable output."),
    ) -> None:
        """Match JSON-lines items against feeds.yaml's topics; write one verdict per line."""
        from bot.matching.cluster_batch import assign_batch_stories
        from bot.matching.matcher import Matcher

        settings = settings_or_exit()
        matcher = Matcher.from_catalog(catalog_or_exit(settings))
        stream: TextIO = sys.stdin if source == "-" else _open(Path(source))
        items: list[MatchInput] = []
        bad = 0
        for number, line in _lines(stream):
            try:
                items.append(read_item(line, number))
            except BadLineError as exc:
                bad += 1
                err.print(f"error: {exc}", highlight=False, markup=False)
        verdicts = [matcher.match(item) for item in items]
        stories = assign_batch_stories(items, verdicts)
        for item, verdict, story in zip(items, verdicts, stories, strict=True):
            if explain_items:
                out.print(explain(item, verdict, story), highlight=False, markup=False)
            else:
                record: dict[str, Any] = {"id": item.id, **verdict.as_dict(), "story": story}
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        if bad:
            raise typer.Exit(1)

    @rules_app.command("test")
    def rules_test_command(
        query: str = typer.Argument(..., help="A rule, e.g. 'санкц* AND @lukashenka'."),
        days: int = typer.Option(30, min=1, max=3650, help="How far back to look."),
        examples: int = typer.Option(10, min=0, max=200, help="How many matches to show."),
    ) -> None:
        """Backtest a rule on stored items before enabling it: counts and examples."""
        from bot.matching.backtest import backtest
        from bot.matching.matcher import Matcher
        from bot.matching.rules import RuleSyntaxError
        from bot.runtime import open_database

        settings = settings_or_exit()
        matcher = Matcher.from_catalog(catalog_or_exit(settings))
        try:
            matcher.compile_query(query)
        except RuleSyntaxError as exc:
            err.print(f"error: {exc.message}\n{exc.pointer()}", highlight=False, markup=False)
            raise typer.Exit(2) from None

        async def go() -> Backtest:
            async with open_database(settings) as db, db.sessions() as session:
                return await backtest(
                    session=session,
                    matcher=matcher,
                    query=query,
                    since=utcnow() - timedelta(days=days),
                )

        _print_backtest(query, days, run_async(go()), examples)


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        err.print(f"error: cannot read {path}: {exc.strerror}", highlight=False, markup=False)
        raise typer.Exit(2) from None


def _print_backtest(query: str, days: int, result: Backtest, examples: int) -> None:
    from rich.table import Table

    hits = result.hits
    out.print(
        f"{len(hits)} of {result.total} items from the last {days} days match {query!r}",
        markup=False,
    )
    if not hits:
        return
    by_feed, by_language = result.by_feed(), result.by_language()
    out.print("by feed: " + ", ".join(f"{k} {v}" for k, v in by_feed), markup=False)
    out.print("by language: " + ", ".join(f"{k} {v}" for k, v in by_language), markup=False)
    table = Table(title="examples (newest first)")
    for column in ("date", "feed", "title"):
        table.add_column(column, overflow="fold")
    for hit in result.newest(examples):
        table.add_row(hit.published_at.strftime("%Y-%m-%d"), hit.feed_id, hit.title)
    out.print(table)
