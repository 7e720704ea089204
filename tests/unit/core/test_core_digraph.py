"""The plain-dict DiGraph behaves as networkx's DiGraph for what the compile uses."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aligned_cli.core.digraph import DiGraph

NODES = [f"n{i}" for i in range(12)]
EDGES = st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=40)
ADDED = st.lists(st.sampled_from(NODES), max_size=12, unique=True)


def _both(added: list[str], edges: list[tuple[str, str]]) -> tuple[DiGraph[str], nx.DiGraph]:
    ours: DiGraph[str] = DiGraph(project="p")
    theirs = nx.DiGraph(project="p")
    for node in added:
        ours.add_node(node, label=node.upper())
        theirs.add_node(node, label=node.upper())
    for parent, child in edges:
        ours.add_edge(parent, child)
        theirs.add_edge(parent, child)
    return ours, theirs


@settings(max_examples=300, deadline=None)
@given(added=ADDED, edges=EDGES)
def test_same_graph_as_networkx(added: list[str], edges: list[tuple[str, str]]) -> None:
    ours, theirs = _both(added, edges)
    assert list(ours.nodes) == list(theirs.nodes)
    assert dict(ours.nodes) == dict(theirs.nodes(data=True))
    assert list(ours.edges()) == list(theirs.edges())
    assert {n: list(ps) for n, ps in ours.pred.items()} == {
        n: list(theirs.predecessors(n)) for n in theirs.nodes
    }
    converted = ours.to_networkx()
    assert converted.graph == theirs.graph
    assert list(converted.nodes(data=True)) == list(theirs.nodes(data=True))
    assert list(converted.edges()) == list(theirs.edges())


@settings(max_examples=300, deadline=None)
@given(added=ADDED, edges=EDGES)
def test_orders_and_cycles_as_networkx(added: list[str], edges: list[tuple[str, str]]) -> None:
    ours, theirs = _both(added, edges)
    acyclic = nx.is_directed_acyclic_graph(theirs)
    assert ours.is_acyclic() == acyclic
    if acyclic:
        assert ours.lexicographical_topological_order() == list(
            nx.lexicographical_topological_sort(theirs)
        )
        order = ours.topological_order()
        position = {node: i for i, node in enumerate(order)}
        assert sorted(order) == sorted(theirs.nodes)
        assert all(position[u] < position[v] for u, v in theirs.edges)
    else:
        with pytest.raises(ValueError, match="cycle"):
            ours.lexicographical_topological_order()
        with pytest.raises(ValueError, match="cycle"):
            ours.topological_order()
        # The cycle networkx names is the same whichever way the graph was built.
        assert nx.find_cycle(ours.to_networkx()) == nx.find_cycle(theirs)


def test_add_node_updates_attributes_of_a_known_node() -> None:
    graph: DiGraph[str] = DiGraph()
    graph.add_edge("a", "b")
    graph.add_node("a", kind="view")
    graph.add_node("a", name="x")
    assert graph.nodes == {"a": {"kind": "view", "name": "x"}, "b": {}}
    assert "a" in graph and "c" not in graph and len(graph) == 2
