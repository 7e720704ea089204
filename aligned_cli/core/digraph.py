"""A small directed graph in plain dicts, for building and checking the DAG quickly.

networkx is the DAG's structure for graph walks, but importing it costs ~0.15 s, a
tenth of compiling a 500-view project, and its general-purpose bookkeeping another
few percent. Building, checking and ordering the DAG needs none of its algorithms:
this graph holds nodes and edges with networkx's semantics (nodes and each node's
successors and predecessors in insertion order; an edge adds missing nodes with no
attributes), so `to_networkx()` gives the graph networkx would have built, edge for
edge. Ordering and the acyclicity check are the standard library's `graphlib`;
what needs more (naming a cycle, walks) converts to networkx.
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import networkx as nx

N = TypeVar("N", bound=Hashable)


class DiGraph(Generic[N]):
    """Nodes with attribute dicts and directed edges (no edge attributes)."""

    __slots__ = ("graph", "nodes", "pred", "succ")

    def __init__(self, **attrs: Any) -> None:
        self.graph: dict[str, Any] = dict(attrs)  # the graph's own attributes
        self.nodes: dict[N, dict[str, Any]] = {}  # node -> its attribute dict
        self.succ: dict[N, dict[N, None]] = {}  # node -> successors, in insertion order
        self.pred: dict[N, dict[N, None]] = {}  # node -> predecessors, in insertion order

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def add_node(self, node: N, **attrs: Any) -> None:
        """A new node, or more attributes for an existing one (as networkx does)."""
        known = self.nodes.get(node)
        if known is None:
            self.nodes[node] = attrs
            self.succ[node] = {}
            self.pred[node] = {}
        else:
            known.update(attrs)

    def add_edge(self, parent: N, child: N) -> None:
        """`parent -> child`; a node not seen yet is added without attributes."""
        for node in (parent, child):
            if node not in self.nodes:
                self.add_node(node)
        self.succ[parent][child] = None
        self.pred[child][parent] = None

    def is_acyclic(self) -> bool:
        """Whether the graph has no directed cycle."""
        try:
            self._sorter().prepare()
        except graphlib.CycleError:
            return False
        return True

    def topological_order(self) -> list[N]:
        """Every node, parents before children; graphlib.CycleError if there is a cycle."""
        return list(self._sorter().static_order())

    def lexicographical_topological_order(self) -> list[N]:
        """The topological order that always takes the smallest node whose parents are
        all done: networkx's `lexicographical_topological_sort` (the order is unique,
        so the same). graphlib.CycleError if there is a cycle."""
        sorter = self._sorter()
        sorter.prepare()
        ready: list[Any] = list(sorter.get_ready())
        heapq.heapify(ready)
        order: list[N] = []
        while ready:
            node = heapq.heappop(ready)
            order.append(node)
            sorter.done(node)
            for child in sorter.get_ready():
                heapq.heappush(ready, child)
        return order

    def _sorter(self) -> graphlib.TopologicalSorter[N]:
        """The standard library's topological sorter over this graph (node -> parents)."""
        return graphlib.TopologicalSorter(self.pred)

    def edges(self) -> Iterator[tuple[N, N]]:
        """Every edge, grouped by parent in node order (networkx's `edges()` order)."""
        for parent, children in self.succ.items():
            for child in children:
                yield parent, child

    def to_networkx(self) -> nx.DiGraph:
        """The networkx graph with the same nodes, attributes (copied, as networkx
        copies them) and successors in the same order (its walks and `find_cycle` match
        the graph built with networkx directly)."""
        import networkx as nx

        dag = nx.DiGraph(**self.graph)
        dag.add_nodes_from(self.nodes.items())
        dag.add_edges_from(self.edges())
        return dag
