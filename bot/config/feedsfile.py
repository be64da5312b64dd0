"""Adding feed entries to feeds.yaml in place (comments kept) and replacing the file atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.config.catalog import DEFAULT_MAX_BYTES, FeedSpec, parse_catalog
from bot.config.problems import read_capped
from bot.config.yamlnodes import dump_plain
from bot.errors import ConfigError


def _feeds_node(text: str, source: str) -> SequenceNode:
    """The block sequence under the top-level `feeds:` key."""
    # The text already passed parse_catalog, which refuses anchors, aliases and tags.
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(root, MappingNode):
        for key, value in root.value:
            if isinstance(key, ScalarNode) and key.value == "feeds":
                if isinstance(value, SequenceNode) and value.value and not value.flow_style:
                    return value
                break
    raise ConfigError([f"{source}: `feeds:` is not a block list; add the entries by hand"])


def _last_scalar(node: Node) -> Node:
    """The node that ends `node` in the text (its deepest last child)."""
    while isinstance(node, MappingNode | SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


def _insertion_point(text: str, feeds: SequenceNode) -> int:
    """Offset of the line after the last feed entry (before any comment that follows it)."""
    end = _last_scalar(feeds.value[-1]).end_mark
    if end.column == 0:  # block scalars end at the start of the next line
        return int(end.index)
    newline = text.find("\n", end.index)
    return len(text) if newline < 0 else newline + 1


def entries_yaml(feeds: Sequence[FeedSpec], *, indent: int = 0, comment: str = "") -> str:
    """The feeds as feeds.yaml list entries indented by `indent`, after a blank line."""
    pad = " " * indent
    chunks = [f"\n{pad}# {comment}\n"] if comment else []
    for number, feed in enumerate(feeds):
        data = feed.model_dump(mode="json", exclude_none=True)
        if data.get("enabled") is True:
            del data["enabled"]  # the default, left out as in the shipped file
        lines = dump_plain([data]).splitlines(keepends=True)
        gap = "" if comment and number == 0 else "\n"
        chunks.append(gap + "".join(pad + line if line.strip() else line for line in lines))
    return "".join(chunks)


def insert_feeds(
    text: str,
    feeds: Sequence[FeedSpec],
    *,
    source: str = "feeds.yaml",
    comment: str = "",
    allow_private: bool = False,
) -> tuple[str, str]:
    """(new feeds.yaml text, the inserted block); ConfigError unless both texts validate."""
    before = parse_catalog(text, source=source, allow_private=allow_private)
    node = _feeds_node(text, source)
    offset = _insertion_point(text, node)
    block = entries_yaml(feeds, indent=node.start_mark.column, comment=comment)
    if "\r\n" in text:
        block = block.replace("\n", "\r\n")
    prefix = text[:offset]
    if prefix and not prefix.endswith("\n"):
        prefix += "\r\n" if "\r\n" in text else "\n"
    merged = prefix + block + text[offset:]
    try:
        after = parse_catalog(
            merged, source=f"{source} + imported feeds", allow_private=allow_private
        )
    except ConfigError as exc:
        raise ConfigError(["the merged catalog does not validate:", *exc.problems]) from None
    if list(after.feeds) != [*before.feeds, *feeds] or after.topics != before.topics:
        raise ConfigError([f"{source}: the entries did not land in `feeds:`; add them by hand"])
    return merged, block


def replace_text(path: Path, text: str, *, expected: str) -> None:
    """Write `text` beside `path` and rename it over `path`, unless the file changed meanwhile."""
    target = path.resolve()  # a symlinked feeds.yaml stays a symlink
    if read_capped(target, max_bytes=DEFAULT_MAX_BYTES) != expected:
        raise ConfigError([f"{path}: changed while importing; nothing written, run again"])
    _atomic_write(target, text, stat.S_IMODE(target.stat().st_mode))


def write_new_file(path: Path, text: str) -> None:
    """Create or replace `path` with `text` through a temporary file and a rename."""
    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    _atomic_write(target, text, mode)


def _atomic_write(target: Path, text: str, mode: int) -> None:
    """A temporary file in the same directory, synced, then renamed over `target`."""
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(mode)
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where directories can be synced
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
