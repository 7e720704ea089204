"""Deterministic orders and adjacency maps over the DAG (for run, compile, manifest)."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx


def execution_order(dag: nx.DiGraph, subset: Iterable[str]) -> list[str]:
    """`subset` in dependency order, ties broken by unique id; same order every run.

    The full graph is sorted and then filtered, so a dependency that passes through
    an unselected node (a -> b -> c with only a and c selected) is still respected.
    Raises ValueError for ids that are not nodes of `dag`.
    """
    wanted = set(subset)
    unknown = wanted - set(dag.nodes)
    if unknown:
        raise ValueError(f"not nodes of the DAG: {', '.join(sorted(unknown))}")
    return [node for node in nx.lexicographical_topological_sort(dag) if node in wanted]


def parent_map(dag: nx.DiGraph) -> dict[str, list[str]]:
    """{unique_id: sorted direct parents}, for the manifest's `parent_map`/`depends_on`."""
    return {node: sorted(dag.predecessors(node)) for node in sorted(dag.nodes)}


def child_map(dag: nx.DiGraph) -> dict[str, list[str]]:
    """{unique_id: sorted direct children}, for the manifest's `child_map`."""
    return {node: sorted(dag.successors(node)) for node in sorted(dag.nodes)}
