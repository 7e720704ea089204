"""The lineage DAG, node selection, checksums and feature lineage (SPEC §5, §7).

The names below load their submodule on first use (PEP 562), so a command that only
selects nodes by name imports neither networkx nor sqlglot.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aligned_cli.graph.checksums import canonical_sql, node_checksum
    from aligned_cli.graph.dag import build_dag
    from aligned_cli.graph.ids import NODE_KINDS, NodeKind, kind_and_name, unique_id
    from aligned_cli.graph.lineage import feature_lineage
    from aligned_cli.graph.selection import add_indirect_tests, select_nodes

_HOMES = {
    "NODE_KINDS": "ids",
    "NodeKind": "ids",
    "add_indirect_tests": "selection",
    "build_dag": "dag",
    "canonical_sql": "checksums",
    "feature_lineage": "lineage",
    "kind_and_name": "ids",
    "node_checksum": "checksums",
    "select_nodes": "selection",
    "unique_id": "ids",
}

__all__ = [
    "NODE_KINDS",
    "NodeKind",
    "add_indirect_tests",
    "build_dag",
    "canonical_sql",
    "feature_lineage",
    "kind_and_name",
    "node_checksum",
    "select_nodes",
    "unique_id",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'aligned_cli.graph' has no attribute '{name}'")
    return getattr(import_module(f"aligned_cli.graph.{_HOMES[name]}"), name)
