"""Safe YAML loading that remembers where every value came from.

PyYAML composes the document into nodes (which carry line/column marks); we build
plain Python values from those nodes ourselves so that we can
- refuse anything but the standard YAML tags (no Python objects),
- refuse duplicate keys (PyYAML silently keeps the last one),
- refuse alias bombs (a budget on how many nodes aliases may expand to),
- record a mark for every path, so later validation errors point at file:line:col.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from aligned_cli.core.location import Location
from aligned_cli.errors import ProjectError

Path_ = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (10x faster); same nodes and marks.
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG_MEMO_SIZE = 100_000


class _Composer(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader with implicit tags of plain scalars memoized.

    A scalar's implicit tag depends only on its text and style (the resolver's
    regexes), unless path resolvers are registered, which SafeLoader has none of;
    projects repeat the same few scalars (`{type: float}`) thousands of times, and
    resolving them was a fifth of composing a big project.
    """

    _tags: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._tags) >= _TAG_MEMO_SIZE:
                self._tags.clear()
            self._tags[key] = tag
        return tag


_COMPOSER = _Composer
_MAX_NODES = 200_000  # expanded nodes per document; far beyond any real project file
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:merge",
}


# The safe constructor's functions for plain scalars (pure functions of the node),
# called on one shared loader: a loader per file is a reference cycle (its parser
# state is a bound method of itself) that only the collector frees.
_SCALARS = yaml.SafeLoader("")
_SCALAR_CONSTRUCTORS = {
    tag: yaml.SafeLoader.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
    )
}


class Mark(Protocol):
    """Where a YAML node starts (0-based): PyYAML's `Mark`, or libyaml's alike."""

    line: int
    column: int


@dataclass
class LoadedYaml:
    """A YAML document as plain data plus the location of every path in it."""

    file: str
    data: Any
    # path -> PyYAML's mark of where it starts; made a Location only when asked for
    # (a big project has tens of thousands of paths and few are ever reported).
    marks: dict[Path_, Mark] = field(default_factory=dict)
    text: str | None = None  # the file's text, when the loader keeps it

    def location(self, path: Path_) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.marks:
                return _location(self.file, self.marks[probe])
            probe = probe[:-1]
        if () in self.marks:
            return _location(self.file, self.marks[()])
        return Location(file=self.file, line=1, col=1)


def load_yaml(text: str, file: str) -> LoadedYaml:
    """Parse one YAML document; malformed input raises ProjectError at file:line:col."""
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = _location(file, mark)
        problem = error.problem or "malformed YAML"
        context = f" ({error.context})" if error.context else ""
        raise ProjectError(
            f"malformed YAML: {problem}{context}",
            location=where,
            hint="check the indentation and that every `key: value` pair is well formed",
        ) from None
    except yaml.YAMLError as error:
        raise ProjectError(f"malformed YAML: {error}", location=Location(file=file)) from None
    loaded = LoadedYaml(file=file, data=None)
    if node is None:
        loaded.data = {}
        return loaded
    builder = _Builder(file, loaded.marks)
    loaded.data = builder.build(node, ())
    return loaded


def _location(file: str, mark: Any) -> Location:
    if mark is None:
        return Location(file=file)
    return Location(file=file, line=mark.line + 1, col=mark.column + 1)


class _Builder:
    def __init__(self, file: str, marks: dict[Path_, Mark]) -> None:
        self.file = file
        self.marks = marks
        self.budget = _MAX_NODES
        self.open: set[int] = set()  # the collections being built: an alias's ancestors

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise ProjectError(
                "YAML document expands to too many values (alias bomb?)",
                location=_location(self.file, node.start_mark),
                hint="avoid deeply nested anchors and aliases",
            )
        self.marks.setdefault(path, node.start_mark)
        if node.tag not in _STANDARD_TAGS:
            raise ProjectError(
                f"YAML tag '{node.tag}' is not allowed",
                location=_location(self.file, node.start_mark),
                hint="aligned loads YAML safely: only plain values, lists and mappings",
            )
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self.open:  # `&a [*a]`: an alias of its own ancestor
                raise ProjectError(
                    "a YAML alias refers to a value that contains it (an endless value)",
                    location=_location(self.file, node.start_mark),
                    hint="an alias (*name) may repeat an anchored value, not sit inside it",
                )
            self.open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        if node.tag == _STR_TAG:
            return node.value  # what the safe constructor gives a string scalar
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)  # dates stay text; aligned parses times itself
        construct = _SCALAR_CONSTRUCTORS.get(node.tag)
        try:
            if construct is not None and isinstance(node, yaml.ScalarNode):
                return construct(_SCALARS, node)
            return yaml.SafeLoader("").construct_object(node)  # anything else: the long way
        except (ValueError, KeyError, IndexError, TypeError, yaml.YAMLError):
            # An explicit tag on a value it cannot hold (`!!int x`, `!!map text`).
            tag = str(node.tag).removeprefix("tag:yaml.org,2002:")
            raise ProjectError(
                f"value {node.value!r} is not a valid !!{tag}",
                location=_location(self.file, node.start_mark),
                hint=f"remove the !!{tag} tag, or give it a value of that type",
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in self._flatten_merges(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise ProjectError(
                    "mapping keys must be plain names",
                    location=_location(self.file, key_node.start_mark),
                )
            key = str(key_node.value)
            if key in result:
                raise ProjectError(
                    f"duplicate key '{key}'",
                    location=_location(self.file, key_node.start_mark),
                    hint="each key may appear once in a mapping; remove or rename one",
                )
            self.marks[(*path, key)] = key_node.start_mark
            result[key] = self.build(value_node, (*path, key))
        return result

    def _flatten_merges(
        self, node: yaml.MappingNode, merging: frozenset[int] = frozenset()
    ) -> list[tuple[yaml.Node, yaml.Node]]:
        """Expand `<<: *anchor` merge keys; explicit keys win over merged ones."""
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        if all(key.tag != _MERGE_TAG for key, _ in pairs):
            return pairs  # most mappings: nothing to merge
        if id(node) in merging:  # `&a {<<: *a}`: merges itself
            raise ProjectError(
                "a YAML merge key `<<` merges a mapping into itself",
                location=_location(self.file, node.start_mark),
                hint="merge another anchored mapping, not the one being defined",
            )
        merging = merging | {id(node)}
        own: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise ProjectError(
                            "a merge key `<<` must name a mapping",
                            location=_location(self.file, source.start_mark),
                        )
                    self.budget -= len(source.value)
                    merged.extend(self._flatten_merges(source, merging))
            else:
                own.append((key_node, value_node))
        own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        return [(k, v) for k, v in merged if k.value not in own_keys] + own
