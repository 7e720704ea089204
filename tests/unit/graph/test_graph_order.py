from __future__ import annotations

import networkx as nx
import pytest
from shop_project import dag_of, shop_project

from aligned_cli.graph.snapshot import DagSnapshot

DAG = dag_of(shop_project())
SNAPSHOT = DagSnapshot.of(DAG)


def test_full_order_respects_every_edge_and_is_deterministic() -> None:
    order = SNAPSHOT.ordered(set(DAG.nodes))
    position = {node: i for i, node in enumerate(order)}
    assert sorted(order) == sorted(DAG.nodes)
    assert all(position[u] < position[v] for u, v in DAG.edges)
    assert DagSnapshot.of(dag_of(shop_project())).ordered(set(reversed(list(DAG.nodes)))) == order


def test_order_respects_dependencies_through_unselected_nodes() -> None:
    # a -> b -> c: c must follow a although b is not selected, and lexicographic
    # order alone ('a_z' > 'c') would put c first.
    graph = nx.DiGraph([("z", "b"), ("b", "c"), ("a", "d")])
    assert DagSnapshot.of(graph).ordered({"z", "c", "a"}) == ["a", "z", "c"]


def test_order_of_a_subset() -> None:
    subset = {"model.shop.spend", "view.shop.orders", "source.shop.orders_csv"}
    assert SNAPSHOT.ordered(subset) == [
        "source.shop.orders_csv",
        "view.shop.orders",
        "model.shop.spend",
    ]


def test_unknown_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"view\.shop\.nope"):
        SNAPSHOT.ordered({"view.shop.nope"})


def test_parents_and_children() -> None:
    assert SNAPSHOT.parents["model.shop.spend"] == (
        "feature.shop.orders.amount",
        "feature.shop.orders.amount_sum_7d",
        "source.shop.orders_csv",
    )
    assert SNAPSHOT.children["view.shop.orders"][-1] == "view.shop.order_stats"
    assert set(SNAPSHOT.parents) == set(DAG.nodes)


def test_networkx_round_trip_keeps_nodes_edges_and_attributes() -> None:
    rebuilt = SNAPSHOT.to_networkx()
    assert set(rebuilt.edges) == set(DAG.edges)
    assert dict(rebuilt.nodes(data=True)) == dict(DAG.nodes(data=True))
    assert rebuilt.graph == DAG.graph
