from __future__ import annotations

import networkx as nx
import pytest
from shop_project import dag_of, shop_project

from aligned_cli.graph import child_map, execution_order, parent_map

DAG = dag_of(shop_project())


def test_full_order_respects_every_edge_and_is_deterministic() -> None:
    order = execution_order(DAG, DAG.nodes)
    position = {node: i for i, node in enumerate(order)}
    assert sorted(order) == sorted(DAG.nodes)
    assert all(position[u] < position[v] for u, v in DAG.edges)
    assert execution_order(dag_of(shop_project()), reversed(list(DAG.nodes))) == order


def test_order_respects_dependencies_through_unselected_nodes() -> None:
    # a -> b -> c: c must follow a although b is not selected, and lexicographic
    # order alone ('a_z' > 'c') would put c first.
    graph = nx.DiGraph([("z", "b"), ("b", "c"), ("a", "d")])
    assert execution_order(graph, {"z", "c", "a"}) == ["a", "z", "c"]


def test_order_of_a_subset() -> None:
    subset = {"model.shop.spend", "view.shop.orders", "source.shop.orders_csv"}
    assert execution_order(DAG, subset) == [
        "source.shop.orders_csv",
        "view.shop.orders",
        "model.shop.spend",
    ]


def test_unknown_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"view\.shop\.nope"):
        execution_order(DAG, {"view.shop.nope"})


def test_parent_and_child_maps() -> None:
    parents = parent_map(DAG)
    assert parents["model.shop.spend"] == [
        "feature.shop.orders.amount",
        "feature.shop.orders.amount_sum_7d",
        "source.shop.orders_csv",
    ]
    assert child_map(DAG)["view.shop.orders"][-1] == "view.shop.order_stats"
    assert set(parents) == set(DAG.nodes)
