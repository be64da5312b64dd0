"""Problems found in a YAML config file, each worded for staff and placed at its line."""

from __future__ import annotations

import difflib
import stat
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic_core import ErrorDetails

from bot.config.yamlnodes import YamlPath, YamlTree
from bot.errors import ConfigError

# Enough to fix a file in one go; more would flood a terminal or a Telegram message.
MAX_PROBLEMS = 200


def read_capped(path: Path, *, max_bytes: int) -> str:
    """The file's UTF-8 text, refusing non-regular or oversize files before reading them."""
    source = str(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([f"{source}: not a regular file"])
        if info.st_size > max_bytes:
            size = info.st_size
            raise ConfigError([f"{source}: {size} bytes is over the {max_bytes}-byte limit"])
        with path.open("rb") as handle:
            # The file can grow between stat() and read(), so the read is capped as well.
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read the file ({exc.strerror or exc})"]) from None
    if len(data) > max_bytes:
        raise ConfigError([f"{source}: the file is over the {max_bytes}-byte limit"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([f"{source}:{line}: not UTF-8 text"]) from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def wording(error: ErrorDetails, known_keys: Collection[str]) -> str:
    """A pydantic error as a short staff-readable sentence."""
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]) if loc else "", known_keys, n=1)
        return "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else "")
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    message = error["msg"][:1].lower() + error["msg"][1:]
    given = error.get("input")
    if given is None or isinstance(given, str | int | float | bool):
        message += f" (got {_shown(given)})"
    return message


def label(data: Any, path: YamlPath) -> str:
    """`feeds[3] (id svaboda): url` for a path, naming the entry by its id when it has one."""
    parts: list[str] = []
    rest: Sequence[str | int] = path
    if len(path) >= 2 and isinstance(path[1], int):
        parts.append(f"{path[0]}[{path[1]}]")
        entry = _get(data, path[:2])
        name = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(name, str) and name:
            parts[0] += f" (id {name if name.isprintable() else _shown(name)})"
        rest = path[2:]
    inner = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
    return ": ".join([*parts, inner] if inner else parts)


def _get(data: Any, path: YamlPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


@dataclass
class Report:
    """Collects problems against a composed YAML tree and renders them one per line."""

    source: str
    tree: YamlTree
    known_keys: Collection[str] = ()
    # Messages may be deferred: wording thousands of errors that are never shown is slow.
    found: list[tuple[int, YamlPath, str | Callable[[], str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.found.extend((p.line, p.path, p.message) for p in self.tree.problems)

    def line(self, path: YamlPath) -> int:
        """The line of the longest prefix of `path` the file spells out."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.tree.lines:
                return self.tree.lines[path[:end]]
        return 1

    def add(self, path: YamlPath, message: str | Callable[[], str]) -> None:
        """Record one problem at the path's line."""
        self.found.append((self.line(path), path, message))

    def flagged(self, prefix: YamlPath) -> bool:
        """True when any problem lies at or under `prefix`."""
        return any(path[: len(prefix)] == prefix for _, path, _ in self.found)

    def validation(self, errors: list[ErrorDetails], prefix: YamlPath = ()) -> None:
        """Record pydantic errors, skipping values already refused while reading the YAML."""
        refused = self.tree.refused
        for error in errors:
            path = (*prefix, *error["loc"])
            if not any(path[: len(r)] == r for r in refused):
                self.add(path, partial(wording, error, self.known_keys))

    def duplicates(
        self, key: str, entries: list[Any], fields: dict[str, Callable[[str], str | None]]
    ) -> set[int]:
        """Indices of entries repeating an earlier entry's field (compared by its key function)."""
        repeated: set[int] = set()
        for name, canonical in fields.items():
            seen: dict[str, int] = {}
            for index, entry in enumerate(entries):
                raw = entry.get(name) if isinstance(entry, dict) else None
                value = canonical(raw) if isinstance(raw, str) else None
                if value is None:
                    continue
                if value in seen:
                    first = seen[value]
                    where = f"{key}[{first}] (line {self.line((key, first))})"
                    self.add((key, index, name), f"same {name} as {where}")
                    repeated.add(index)
                else:
                    seen[value] = index
        return repeated

    def render(self) -> list[str]:
        """`source:LINE: where: what` lines in file order, capped at MAX_PROBLEMS."""
        ordered = sorted(self.found, key=lambda item: item[0])
        lines = []
        for line, path, message in ordered[:MAX_PROBLEMS]:
            where = label(self.tree.value, path)
            text = message if isinstance(message, str) else message()
            lines.append(f"{self.source}:{line}: {where + ': ' if where else ''}{text}")
        if len(ordered) > MAX_PROBLEMS:
            lines.append(f"{self.source}: ... and {len(ordered) - MAX_PROBLEMS} more problems")
        return lines
