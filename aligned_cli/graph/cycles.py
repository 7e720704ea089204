"""Cycle detection with a message a user can act on (SPEC §9: "Cycle -> the cycle")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aligned_cli.core.digraph import DiGraph
from aligned_cli.core.location import Location
from aligned_cli.errors import ProjectError
from aligned_cli.graph.ids import node_label

if TYPE_CHECKING:
    import networkx as nx


def check_acyclic(dag: nx.DiGraph | DiGraph[str]) -> None:
    """Raise ProjectError naming one cycle (`view:a -> view:b -> view:a`), if any."""
    # The common case, no cycle, by one topological pass (several times faster than
    # `find_cycle`); the cycle is searched for only when there is one to name, with
    # networkx (the same graph as networkx: the same cycle named).
    if isinstance(dag, DiGraph):
        if dag.is_acyclic():
            return
        dag = dag.to_networkx()
    import networkx as nx

    if nx.is_directed_acyclic_graph(dag):
        return
    try:
        edges = nx.find_cycle(dag)
    except nx.NetworkXNoCycle:
        return
    cycle = _rotate_to_smallest([u for u, _ in edges])
    path = " -> ".join(_label(dag, node) for node in [*cycle, cycle[0]])
    first = dag.nodes[cycle[0]]
    location = Location(file=first["file"], line=first["line"]) if first.get("file") else None
    raise ProjectError(
        f"cycle in the project: {path}",
        location=location,
        hint="a view cannot be built on itself, and derived features cannot read each other "
        "in a circle; break one of these references",
    )


def _rotate_to_smallest(cycle: list[str]) -> list[str]:
    """Start the cycle at its smallest node so the message is the same every run."""
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def _label(dag: nx.DiGraph, node: str) -> str:
    attrs = dag.nodes[node]
    return node_label(str(attrs["kind"]), str(attrs["name"]))
