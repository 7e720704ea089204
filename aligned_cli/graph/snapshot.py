"""A read-only snapshot of the DAG in plain dicts, for the lookups every command makes.

networkx is the DAG's structure for graph walks, but importing it costs ~0.2 s, more
than a small `aligned run` spends in its query. Selection by name, run order, a
node's parents and children and its attributes need no graph algorithm: they read
this snapshot, which a compile builds from the plain-dict DAG (`core.digraph`) and a
cached compile loads, both without networkx. Graph walks (`+x`, descendants to
skip) rebuild the networkx graph on demand with `to_networkx()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aligned_cli.core.digraph import DiGraph

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class DagSnapshot:
    # unique_id -> node attributes (the same dicts as the networkx graph's)
    nodes: Mapping[str, dict[str, Any]]
    parents: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    # Every node in dependency order, ties broken by unique id (same order every run).
    order: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)  # the graph's own attributes

    @classmethod
    def of(cls, dag: nx.DiGraph | DiGraph[str]) -> DagSnapshot:
        if isinstance(dag, DiGraph):
            return cls(
                nodes=dag.nodes,
                parents={uid: tuple(sorted(ps)) for uid, ps in dag.pred.items()},
                children={uid: tuple(sorted(cs)) for uid, cs in dag.succ.items()},
                order=tuple(dag.lexicographical_topological_order()),
                attrs=dict(dag.graph),
            )
        import networkx as nx

        return cls(
            nodes={uid: dag.nodes[uid] for uid in dag.nodes},
            parents={uid: tuple(sorted(dag.predecessors(uid))) for uid in dag.nodes},
            children={uid: tuple(sorted(dag.successors(uid))) for uid in dag.nodes},
            order=tuple(nx.lexicographical_topological_sort(dag)),
            attrs=dict(dag.graph),
        )

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as networkx (node attributes copied, as networkx does)."""
        import networkx as nx

        dag = nx.DiGraph(**self.attrs)
        dag.add_nodes_from(self.nodes.items())
        dag.add_edges_from((parent, uid) for uid, ps in self.parents.items() for parent in ps)
        return dag

    def kind(self, uid: str) -> str:
        return str(self.nodes[uid]["kind"])

    def ordered(self, subset: set[str]) -> list[str]:
        """`subset` in dependency order (a dependency through an unselected node holds).
        Raises ValueError for ids that are not nodes."""
        unknown = subset - self.nodes.keys()
        if unknown:
            raise ValueError(f"not nodes of the DAG: {', '.join(sorted(unknown))}")
        return [uid for uid in self.order if uid in subset]

    def values(self, attribute: str) -> Iterator[tuple[str, Any]]:
        """(unique_id, attribute value or None) for every node, like `dag.nodes(data=...)`."""
        return ((uid, data.get(attribute)) for uid, data in self.nodes.items())
