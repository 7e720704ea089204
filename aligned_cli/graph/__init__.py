"""The lineage DAG, node selection, checksums and feature lineage (SPEC §5, §7)."""

from aligned_cli.graph.checksums import canonical_sql, node_checksum
from aligned_cli.graph.dag import build_dag
from aligned_cli.graph.ids import NODE_KINDS, NodeKind, kind_and_name, unique_id
from aligned_cli.graph.lineage import feature_lineage
from aligned_cli.graph.order import child_map, execution_order, parent_map
from aligned_cli.graph.selection import add_indirect_tests, select_nodes

__all__ = [
    "NODE_KINDS",
    "NodeKind",
    "add_indirect_tests",
    "build_dag",
    "canonical_sql",
    "child_map",
    "execution_order",
    "feature_lineage",
    "kind_and_name",
    "node_checksum",
    "parent_map",
    "select_nodes",
    "unique_id",
]
