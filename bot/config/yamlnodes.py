"""YAML to plain Python values with line numbers, refusing anchors, aliases and custom tags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, cast

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

YamlPath = tuple[str | int, ...]

CORE = "tag:yaml.org,2002:"
MAP_TAG, SEQ_TAG = f"{CORE}map", f"{CORE}seq"
# Kept as the text written: timestamps are not a type any catalog field needs.
TEXT_TAGS = frozenset({f"{CORE}str", f"{CORE}timestamp"})
VALUE_TAGS = frozenset({f"{CORE}int", f"{CORE}float", f"{CORE}bool", f"{CORE}null"})
COLLECTION_TAGS: dict[type[Node], frozenset[str]] = {
    MappingNode: frozenset({MAP_TAG}),
    SequenceNode: frozenset({SEQ_TAG}),
}
# The catalog is at most four levels deep; anything far deeper is an attack or a mistake.
MAX_DEPTH = 16


class YamlSyntaxError(Exception):
    """The text is not a single well-formed YAML document; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class NodeProblem(NamedTuple):
    """Something refused while walking the node tree, at a 1-based line."""

    line: int
    path: YamlPath
    message: str


class Refused:
    """Stands in for a value that was refused, so model validation can never accept it."""

    def __repr__(self) -> str:
        return "<refused>"


REFUSED = Refused()


@dataclass
class YamlTree:
    """Plain values of a document, the line of every path, and what was refused where."""

    value: Any
    lines: dict[YamlPath, int] = field(default_factory=dict)
    problems: list[NodeProblem] = field(default_factory=list)
    refused: set[YamlPath] = field(default_factory=set)


class _Composing(Protocol):
    """What the alias guard needs from a loader: the parser's events and the guard's notes."""

    alias_nodes: dict[int, str]
    anchored_nodes: dict[int, str]
    anchors: dict[Any, Node]

    def get_single_node(self) -> Node | None: ...
    def dispose(self) -> None: ...
    def check_event(self, *choices: Any) -> bool: ...
    def get_event(self) -> Any: ...
    def peek_event(self) -> Any: ...


def _compose_guarded(loader: _Composing, compose: Callable[[], Node | None]) -> Node | None:
    """Compose one node but never resolve an alias, so nothing can expand (billion laughs)."""
    if loader.check_event(AliasEvent):
        event = loader.get_event()
        mark = cast("Mark", event.start_mark)
        placeholder = ScalarNode(f"{CORE}null", "", mark, mark)
        loader.alias_nodes[id(placeholder)] = str(event.anchor)
        return placeholder
    anchor = getattr(loader.peek_event(), "anchor", None)
    node = compose()
    if anchor is not None and node is not None:
        loader.anchored_nodes[id(node)] = str(anchor)
    # Anchors are refused anyway; forgetting them keeps a repeated name from being fatal.
    loader.anchors = {}
    return node


class _PureLoader(yaml.SafeLoader):
    """SafeLoader used to compose only (no construction), with the alias guard."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_nodes: dict[int, str] = {}
        self.anchored_nodes: dict[int, str] = {}

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose one node through the alias guard."""
        return _compose_guarded(self, lambda: super(_PureLoader, self).compose_node(parent, index))


LoaderClass = Callable[[str], "_Composing"]
FAST_LOADER: LoaderClass | None = None
try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python parser does the same work
    pass
else:

    class _FastLoader(CParser, Composer, Resolver):
        """The same, with libyaml scanning and parsing (several times faster on big files)."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            Resolver.__init__(self)
            self.alias_nodes: dict[int, str] = {}
            self.anchored_nodes: dict[int, str] = {}

        def get_single_node(self) -> Node | None:
            """Compose in Python (so the guard runs) from libyaml's events."""
            return Composer.get_single_node(self)

        def compose_node(self, parent: Node | None, index: int) -> Node | None:
            """Compose one node through the alias guard."""
            return _compose_guarded(self, lambda: Composer.compose_node(self, parent, index))

    FAST_LOADER = _FastLoader


def line_of(node: Node) -> int:
    """The 1-based line a node starts on."""
    mark = node.start_mark
    return int(mark.line) + 1 if mark is not None else 0


def shown_tag(tag: str) -> str:
    """A tag the way it is written in YAML (`!!python/...` rather than the expanded URI)."""
    return f"!!{tag.removeprefix(CORE)}" if tag.startswith(CORE) else tag


def compose_text(text: str, *, accelerated: bool = True) -> YamlTree:
    """Compose `text` (no object construction) and walk it; raise YamlSyntaxError if not YAML."""
    loader_class = FAST_LOADER if accelerated and FAST_LOADER else _PureLoader
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:
        message = f"character U+{exc.character:04X} is not allowed in YAML"
        raise YamlSyntaxError(message, text.count("\n", 0, exc.position) + 1) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise YamlSyntaxError("the file is empty")
        return _Walker(loader).tree(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = int(mark.line) + 1 if mark is not None else None
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise YamlSyntaxError(f"not valid YAML: {what}", at) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"not valid YAML: {exc}") from None
    except RecursionError:
        # Only the composer recurses this deep; the walker stops at MAX_DEPTH.
        raise YamlSyntaxError("nested far too deeply") from None
    finally:
        loader.dispose()


class _PlainDumper(yaml.SafeDumper):
    """Never writes anchors or aliases, which compose_text refuses."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_plain(data: Any, *, header: str = "") -> str:
    """Plain values as block YAML that compose_text reads back unchanged."""
    body = yaml.dump(
        data, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=4096, indent=2
    )
    return f"# {header}\n{body}" if header else body


class _Walker:
    """Turns composed nodes into dicts, lists and scalars, recording lines and refusals."""

    def __init__(self, loader: _Composing) -> None:
        self.loader = loader
        scalars = SafeConstructor()
        self.lines: dict[YamlPath, int] = {}
        self.problems: list[NodeProblem] = []
        self.refused: set[YamlPath] = set()
        self.convert: dict[str, Callable[[ScalarNode], Any]] = {
            f"{CORE}int": scalars.construct_yaml_int,
            f"{CORE}float": scalars.construct_yaml_float,
            f"{CORE}bool": scalars.construct_yaml_bool,
            f"{CORE}null": scalars.construct_yaml_null,
        }

    def tree(self, root: Node) -> YamlTree:
        """Walk the document from its root."""
        value = self.walk(root, (), 0)
        return YamlTree(value, self.lines, self.problems, self.refused)

    def refuse(self, node: Node, path: YamlPath, message: str) -> Refused:
        """Record a refusal at the node's line and return the placeholder value."""
        self.problems.append(NodeProblem(line_of(node), path, message))
        self.refused.add(path)
        return REFUSED

    def walk(self, node: Node, path: YamlPath, depth: int) -> Any:
        """The plain value of `node`, or REFUSED after recording why."""
        self.lines.setdefault(path, line_of(node))
        reason = self.refusal(node, depth)
        if reason is not None:
            return self.refuse(node, path, reason)
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [self.walk(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)  # the composer makes only these three kinds
        return self.scalar(node, path)

    def refusal(self, node: Node, depth: int) -> str | None:
        """Why this node is refused before its content is looked at, or None."""
        if id(node) in self.loader.alias_nodes:
            name = self.loader.alias_nodes[id(node)]
            return f"aliases (*{name}) are not allowed; write the value out in full"
        if id(node) in self.loader.anchored_nodes:
            name = self.loader.anchored_nodes[id(node)]
            return f"anchors (&{name}) are not allowed; write each value out in full"
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        allowed = COLLECTION_TAGS.get(type(node), TEXT_TAGS | VALUE_TAGS)
        if node.tag not in allowed:
            return f"the tag {shown_tag(node.tag)} is not allowed"
        return None

    def mapping(self, node: MappingNode, path: YamlPath, depth: int) -> dict[str, Any]:
        """A dict of the mapping; duplicate and non-text keys are refused, the first value wins."""
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            if key is None:
                continue
            if key in result:
                first = self.lines.get((*path, key), 0)
                message = f"duplicate key {key!r} (first at line {first})"
                self.problems.append(NodeProblem(line_of(key_node), (*path, key), message))
                continue
            self.lines[(*path, key)] = line_of(key_node)
            result[key] = self.walk(value_node, (*path, key), depth + 1)
        return result

    def key(self, node: Node, path: YamlPath) -> str | None:
        """The key as written (YAML 1.1 would read `no:` as false), or None if refused."""
        reason = self.refusal(node, 0)
        if reason is None and not isinstance(node, ScalarNode):
            reason = "keys must be plain text, not a list or a mapping"
        if reason is not None:
            self.problems.append(NodeProblem(line_of(node), path, reason))
            return None
        return str(node.value)

    def scalar(self, node: ScalarNode, path: YamlPath) -> Any:
        """The scalar as str, int, float, bool or None, following the tag the resolver chose."""
        if node.tag in TEXT_TAGS:
            return str(node.value)
        try:
            return self.convert[node.tag](node)
        except (ValueError, KeyError, yaml.YAMLError):
            return self.refuse(node, path, f"{node.value!r} is not a valid {shown_tag(node.tag)}")
