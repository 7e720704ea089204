"""Feature lineage: raw source columns through mapping, expressions and view-on-view."""

from __future__ import annotations

import pytest
from shop_project import dag_of, shop_project

from aligned_cli.graph import feature_lineage

LINEAGE = feature_lineage(shop_project(), dag_of(shop_project()))


@pytest.mark.parametrize(
    ("feature", "columns"),
    [
        # mapping Age -> age: the lineage names the RAW column
        ("customers.age", ["customers_csv.Age"]),
        # not in the mapping: the raw column has the feature's name
        ("customers.customer_id", ["customers_csv.customer_id"]),
        # derived, and derived on derived
        ("customers.age_filled", ["customers_csv.Age"]),
        ("customers.is_adult", ["customers_csv.Age"]),
        ("orders.amount_x2", ["orders_csv.Amount"]),
        # aggregation: its `of`
        ("orders.amount_sum_7d", ["orders_csv.Amount"]),
        # view-on-view pass-through
        ("order_stats.amount", ["orders_csv.Amount"]),
        # view-on-view expression over two upstream features
        ("order_stats.big_order", ["orders_csv.Amount", "orders_csv.CustId"]),
        # an upstream key column that is not a feature (orders' event_ts <- TS)
        ("order_stats.hour", ["orders_csv.TS"]),
    ],
)
def test_feature_lineage(feature: str, columns: list[str]) -> None:
    assert LINEAGE[f"feature.shop.{feature}"] == [f"source.shop.{c}" for c in columns]


def test_lineage_covers_every_feature_and_only_features() -> None:
    dag = dag_of(shop_project())
    features = {uid for uid, kind in dag.nodes(data="kind") if kind == "feature"}
    assert set(LINEAGE) == features
    assert list(LINEAGE) == sorted(LINEAGE)
