"""A small two-source, three-view, two-model project built straight from the IR.

customers_csv -> customers (age, age_filled, is_adult)           features/crm/...
orders_csv    -> orders (amount, amount_x2, amount_sum_7d, ...)  features/sales/...
                   -> order_stats (view-on-view: amount, big_order, hour)
churn  <- customers:is_adult, order_stats:big_order; spine customers_csv
spend  <- orders:amount_sum_7d; target orders:amount; spine orders_csv
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from aligned_cli.core.ir import (
    Aggregation,
    Constraint,
    CustomTest,
    Feature,
    FeatureRef,
    FeatureView,
    Model,
    Project,
    Source,
    SourceRef,
    Spine,
    Target,
)
from aligned_cli.core.location import Location
from aligned_cli.core.tests import project_tests
from aligned_cli.core.types import DataType
from aligned_cli.graph import build_dag

CRM = "features/crm/customers.yml"
SALES = "features/sales/orders.yml"
STATS = "features/sales/stats.yml"


def at(file: str, line: int) -> Location:
    return Location(file=file, line=line)


def shop_project(**overrides: Any) -> Project:
    sources = {
        "customers_csv": Source(
            name="customers_csv",
            file="data/customers.csv",
            mapping={"Age": "age"},
            location=at(CRM, 2),
        ),
        "orders_csv": Source(
            name="orders_csv",
            file="data/orders.csv",
            mapping={
                "OrderId": "order_id",
                "CustId": "customer_id",
                "Amount": "amount",
                "TS": "event_ts",
            },
            tags=["raw"],
            location=at(SALES, 2),
        ),
    }
    customers = FeatureView(
        name="customers",
        source=SourceRef(kind="source", name="customers_csv"),
        entities=["customer_id"],
        tags=["crm"],
        location=at(CRM, 10),
        features=[
            Feature(name="customer_id", dtype=DataType.INT32),
            Feature(
                name="age",
                dtype=DataType.FLOAT,
                constraints=[Constraint(kind="lower_bound", value=0, location=at(CRM, 15))],
                location=at(CRM, 14),
            ),
            Feature(name="age_filled", expression="coalesce(age, 0)", location=at(CRM, 16)),
            Feature(name="is_adult", expression="age_filled >= 18", location=at(CRM, 17)),
        ],
    )
    orders = FeatureView(
        name="orders",
        source=SourceRef(kind="source", name="orders_csv"),
        entities=["order_id"],
        event_timestamp="event_ts",
        tags=["sales", "nightly"],
        location=at(SALES, 10),
        features=[
            Feature(name="order_id", dtype=DataType.INT64),
            Feature(
                name="customer_id",
                dtype=DataType.INT64,
                constraints=[
                    Constraint(
                        kind="relationships", value={"to": "customers", "field": "customer_id"}
                    )
                ],
            ),
            Feature(name="amount", dtype=DataType.FLOAT, constraints=[Constraint(kind="required")]),
            Feature(name="amount_x2", expression="amount * 2"),
        ],
        aggregations=[
            Aggregation(name="amount_sum_7d", function="sum", of="amount", window=604800)
        ],
    )
    order_stats = FeatureView(
        name="order_stats",
        source=SourceRef(kind="view", name="orders"),
        entities=["order_id"],
        tags=["sales"],
        location=at(STATS, 1),
        features=[
            Feature(name="amount"),
            Feature(name="big_order", expression="amount_x2 > 100 AND customer_id IS NOT NULL"),
            Feature(name="hour", expression="hour(event_ts)"),
        ],
        tests=[CustomTest(name="stats_positive", sql="select * from {{ this }} where amount < 0")],
    )
    models = {
        "churn": Model(
            name="churn",
            tags=["ml"],
            features=[
                FeatureRef.parse("customers:is_adult"),
                FeatureRef.parse("order_stats:big_order"),
            ],
            spine=Spine(source="customers_csv"),
            location=at("features/models/churn.yml", 1),
        ),
        "spend": Model(
            name="spend",
            tags=["ml"],
            features=[FeatureRef.parse("orders:amount_sum_7d")],
            target=Target(feature=FeatureRef.parse("orders:amount"), kind="regression"),
            spine=Spine(source="orders_csv"),
            location=at("features/models/spend.yml", 1),
        ),
    }
    fields: dict[str, Any] = {
        "name": "shop",
        "root": "/projects/shop",
        "sources": sources,
        "views": {"customers": customers, "orders": orders, "order_stats": order_stats},
        "models": models,
    }
    fields.update(overrides)
    return Project(**fields)


def dag_of(project: Project) -> nx.DiGraph:
    return build_dag(project, project_tests(project))


def label(dag: nx.DiGraph, uid: str) -> str:
    """`kind:name`, the selector-style spelling tests use for readability."""
    return f"{dag.nodes[uid]['kind']}:{dag.nodes[uid]['name']}"


def labels(dag: nx.DiGraph, uids: set[str]) -> set[str]:
    return {label(dag, uid) for uid in uids}
