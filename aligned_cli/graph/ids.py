"""Stable unique ids of DAG nodes (SPEC §7) and their selector-style labels.

Ids are `<kind>.<project>.<name>`; a feature's is `feature.<project>.<view>.<feature>`.
Project and node names match `[A-Za-z_][A-Za-z0-9_]*`, so a dot never occurs inside a
part and ids split unambiguously.
"""

from __future__ import annotations

from typing import Literal, get_args

NodeKind = Literal["source", "view", "feature", "model", "test"]
NODE_KINDS: tuple[NodeKind, ...] = get_args(NodeKind)


def source_id(project: str, name: str) -> str:
    return f"source.{project}.{name}"


def view_id(project: str, name: str) -> str:
    return f"view.{project}.{name}"


def feature_id(project: str, view: str, feature: str) -> str:
    return f"feature.{project}.{view}.{feature}"


def model_id(project: str, name: str) -> str:
    return f"model.{project}.{name}"


def test_id(project: str, name: str) -> str:
    return f"test.{project}.{name}"


test_id.__test__ = False  # type: ignore[attr-defined]  # not a pytest test function


def column_id(project: str, source: str, column: str) -> str:
    """A raw source column in feature lineage: `source.<project>.<source>.<column>`.

    It is the source's unique id plus the raw (pre-`mapping`) column name, so a
    consumer can find the source node by dropping the last part.
    """
    return f"{source_id(project, source)}.{column}"


def unique_id(project: str, kind: NodeKind, name: str) -> str:
    """The id of a node given its kind and display name (`view:feature` for features)."""
    if kind == "feature":
        view, _, feature = name.partition(":")
        return feature_id(project, view, feature)
    return f"{kind}.{project}.{name}"


def kind_and_name(uid: str) -> tuple[NodeKind, str]:
    """`feature.p.passenger.age` -> ("feature", "passenger:age"); `view.p.x` -> ("view", "x").

    Raises ValueError when `uid` is not a node id.
    """
    parts = uid.split(".")
    kind = parts[0]
    expected = 4 if kind == "feature" else 3
    if kind not in NODE_KINDS or len(parts) != expected or not all(parts):
        raise ValueError(f"'{uid}' is not a node unique id")
    name = f"{parts[2]}:{parts[3]}" if kind == "feature" else parts[2]
    return kind, name


def node_label(kind: str, name: str) -> str:
    """How messages name a node: the selector that picks it (`view:passenger`)."""
    return f"{kind}:{name}"
