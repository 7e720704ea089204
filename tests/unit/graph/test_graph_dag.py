"""The DAG's nodes, attributes and exact edge set (SPEC §5)."""

from __future__ import annotations

from shop_project import CRM, SALES, STATS, dag_of, label, shop_project

# Every edge of the shop project, by SPEC §5's rules (label -> label).
EXPECTED_EDGES = {
    # source -> view that reads it; view -> view built on it
    ("source:customers_csv", "view:customers"),
    ("source:orders_csv", "view:orders"),
    ("view:orders", "view:order_stats"),
    # view -> each of its features (aggregations included)
    ("view:customers", "feature:customers:customer_id"),
    ("view:customers", "feature:customers:age"),
    ("view:customers", "feature:customers:age_filled"),
    ("view:customers", "feature:customers:is_adult"),
    ("view:orders", "feature:orders:order_id"),
    ("view:orders", "feature:orders:customer_id"),
    ("view:orders", "feature:orders:amount"),
    ("view:orders", "feature:orders:amount_x2"),
    ("view:orders", "feature:orders:amount_sum_7d"),
    ("view:order_stats", "feature:order_stats:amount"),
    ("view:order_stats", "feature:order_stats:big_order"),
    ("view:order_stats", "feature:order_stats:hour"),
    # input feature -> derived feature; aggregation <- its `of`
    ("feature:customers:age", "feature:customers:age_filled"),
    ("feature:customers:age_filled", "feature:customers:is_adult"),
    ("feature:orders:amount", "feature:orders:amount_x2"),
    ("feature:orders:amount", "feature:orders:amount_sum_7d"),
    # view-on-view: pass-through and expression inputs from the upstream view
    ("feature:orders:amount", "feature:order_stats:amount"),
    ("feature:orders:amount_x2", "feature:order_stats:big_order"),
    ("feature:orders:customer_id", "feature:order_stats:big_order"),
    # feature -> model (features and target); spine source -> model
    ("feature:customers:is_adult", "model:churn"),
    ("feature:order_stats:big_order", "model:churn"),
    ("source:customers_csv", "model:churn"),
    ("feature:orders:amount_sum_7d", "model:spend"),
    ("feature:orders:amount", "model:spend"),
    ("source:orders_csv", "model:spend"),
    # feature -> constraint tests; view -> unique and custom tests
    ("feature:customers:age", "test:customers__age__lower_bound"),
    ("feature:orders:customer_id", "test:orders__customer_id__relationships"),
    ("feature:orders:amount", "test:orders__amount__required"),
    ("view:customers", "test:customers__unique"),
    ("view:orders", "test:orders__unique"),
    ("view:order_stats", "test:order_stats__unique"),
    ("view:order_stats", "test:stats_positive"),
}


def test_edges_are_exactly_the_spec_edges() -> None:
    dag = dag_of(shop_project())
    assert {(label(dag, u), label(dag, v)) for u, v in dag.edges} == EXPECTED_EDGES


def test_node_ids_and_kinds() -> None:
    dag = dag_of(shop_project())
    kinds = {uid: attrs["kind"] for uid, attrs in dag.nodes(data=True)}
    assert kinds["source.shop.orders_csv"] == "source"
    assert kinds["view.shop.order_stats"] == "view"
    assert kinds["feature.shop.orders.amount_sum_7d"] == "feature"
    assert kinds["model.shop.spend"] == "model"
    assert kinds["test.shop.orders__amount__required"] == "test"
    assert len(dag) == 2 + 3 + 12 + 2 + 7
    assert dag.graph["project"] == "shop"


def test_features_and_tests_inherit_file_line_and_tags_from_their_view() -> None:
    dag = dag_of(shop_project())
    amount = dag.nodes["feature.shop.orders.amount"]  # declared without a location
    assert (amount["name"], amount["file"], amount["line"]) == ("orders:amount", SALES, 10)
    assert amount["tags"] == ["sales", "nightly"]
    assert amount["view"] == "orders"
    age = dag.nodes["feature.shop.customers.age"]  # has its own location
    assert (age["file"], age["line"], age["tags"]) == (CRM, 14, ["crm"])
    bound = dag.nodes["test.shop.customers__age__lower_bound"]
    assert (bound["file"], bound["line"], bound["tags"]) == (CRM, 15, ["crm"])
    custom = dag.nodes["test.shop.stats_positive"]
    assert (custom["file"], custom["line"], custom["tags"]) == (STATS, 1, ["sales"])


def test_nodes_carry_their_ir_object_and_a_checksum() -> None:
    project = shop_project()
    dag = dag_of(project)
    assert dag.nodes["view.shop.orders"]["obj"] is project.views["orders"]
    assert dag.nodes["model.shop.churn"]["obj"] is project.models["churn"]
    assert all(len(attrs["checksum"]) == 64 for _, attrs in dag.nodes(data=True))
