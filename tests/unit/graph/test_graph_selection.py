"""Selection grammar (SPEC §5), data-driven over the shop project."""

from __future__ import annotations

import pytest
from shop_project import dag_of, labels, shop_project

from aligned_cli.errors import UsageError
from aligned_cli.graph import add_indirect_tests, select_nodes

DAG = dag_of(shop_project())
ALL = labels(DAG, set(DAG.nodes))

CRM_SET = {
    "view:customers",
    "feature:customers:customer_id",
    "feature:customers:age",
    "feature:customers:age_filled",
    "feature:customers:is_adult",
    "test:customers__unique",
    "test:customers__age__lower_bound",
}
SPEND_UPSTREAM = {
    "model:spend",
    "feature:orders:amount_sum_7d",
    "feature:orders:amount",
    "view:orders",
    "source:orders_csv",
}
STATS_SET = {
    "view:order_stats",
    "feature:order_stats:amount",
    "feature:order_stats:big_order",
    "feature:order_stats:hour",
    "test:order_stats__unique",
    "test:stats_positive",
}

CASES: list[tuple[list[str] | None, list[str] | None, set[str]]] = [
    # methods
    (["model:churn"], None, {"model:churn"}),
    (["view:orders"], None, {"view:orders"}),
    (["source:orders_csv"], None, {"source:orders_csv"}),
    (["feature:orders:amount"], None, {"feature:orders:amount"}),
    (["feature:amount"], None, {"feature:orders:amount", "feature:order_stats:amount"}),
    (["test:orders__unique"], None, {"test:orders__unique"}),
    (["tag:crm"], None, CRM_SET),
    (["tag:ml"], None, {"model:churn", "model:spend"}),
    (["tag:nope"], None, set()),
    (["path:features/crm"], None, CRM_SET | {"source:customers_csv"}),
    (["path:./features/crm/"], None, CRM_SET | {"source:customers_csv"}),
    (["path:features/crm/customers.yml"], None, CRM_SET | {"source:customers_csv"}),
    (["path:/projects/shop/features/models"], None, {"model:churn", "model:spend"}),
    (["path:features/sales/stats.yml"], None, STATS_SET),
    (["path:features/cr"], None, set()),  # a folder prefix is not a folder
    # bare names: source, view, model, test, view:feature
    (["customers"], None, {"view:customers"}),
    (["customers_csv"], None, {"source:customers_csv"}),
    (["churn"], None, {"model:churn"}),
    (["stats_positive"], None, {"test:stats_positive"}),
    (["orders:amount_x2"], None, {"feature:orders:amount_x2"}),
    # wildcards
    (["model:*"], None, {"model:churn", "model:spend"}),
    (
        ["feature:orders:amount*"],
        None,
        {"feature:orders:amount", "feature:orders:amount_x2", "feature:orders:amount_sum_7d"},
    ),
    # graph operators and depth
    (["+model:spend"], None, SPEND_UPSTREAM),
    (
        ["1+model:spend"],
        None,
        {
            "model:spend",
            "feature:orders:amount_sum_7d",
            "feature:orders:amount",
            "source:orders_csv",
        },
    ),
    (["2+model:spend"], None, SPEND_UPSTREAM),
    (
        ["feature:customers:age+"],
        None,
        {
            "feature:customers:age",
            "feature:customers:age_filled",
            "feature:customers:is_adult",
            "model:churn",
            "test:customers__age__lower_bound",
        },
    ),
    (
        ["feature:customers:age+1"],
        None,
        {
            "feature:customers:age",
            "feature:customers:age_filled",
            "test:customers__age__lower_bound",
        },
    ),
    (
        ["1+feature:orders:amount_x2+1"],
        None,
        {
            "feature:orders:amount_x2",
            "view:orders",
            "feature:orders:amount",
            "feature:order_stats:big_order",
        },
    ),
    (
        ["@feature:customers:age_filled"],
        None,
        {
            "feature:customers:age_filled",
            "feature:customers:is_adult",
            "model:churn",
            # ancestors of the descendants
            "feature:customers:age",
            "view:customers",
            "source:customers_csv",
            "feature:order_stats:big_order",
            "view:order_stats",
            "feature:orders:amount_x2",
            "feature:orders:amount",
            "feature:orders:customer_id",
            "view:orders",
            "source:orders_csv",
        },
    ),
    # union: one string with spaces, two strings, repeated flags
    (["model:churn view:orders"], None, {"model:churn", "view:orders"}),
    (["model:churn", "view:orders"], None, {"model:churn", "view:orders"}),
    (["  model:churn   view:orders "], None, {"model:churn", "view:orders"}),
    # intersection
    (["tag:sales,feature:amount"], None, {"feature:orders:amount", "feature:order_stats:amount"}),
    (
        ["+model:spend,tag:sales"],
        None,
        {"feature:orders:amount_sum_7d", "feature:orders:amount", "view:orders"},
    ),
    (["tag:crm,tag:sales"], None, set()),
    # exclude (same grammar)
    (
        ["tag:crm"],
        ["feature:customers:age+"],
        {"view:customers", "feature:customers:customer_id", "test:customers__unique"},
    ),
    (
        ["+model:spend"],
        ["source:* view:orders"],
        SPEND_UPSTREAM - {"source:orders_csv", "view:orders"},
    ),
    (None, ["tag:sales tag:crm tag:ml"], {"source:customers_csv", "source:orders_csv"}),
    # no selection means everything
    (None, None, ALL),
    ([], None, ALL),
]


@pytest.mark.parametrize(("select", "exclude", "expected"), CASES)
def test_selection(select: list[str] | None, exclude: list[str] | None, expected: set[str]) -> None:
    assert labels(DAG, select_nodes(DAG, select, exclude)) == expected


UNMATCHED = [
    # (selector, warning fragment, hint fragment): nothing selected, as in dbt
    ("model:chrun", "matches no model named 'chrun'", "'churn'"),
    ("view:order", "matches no view named 'order'", "'orders'"),
    ("source:orders", "matches no source named 'orders'", "'orders_csv'"),
    ("feature:customers:agee", "matches no feature named 'customers:agee'", "'customers:age'"),
    ("feature:amont", "matches no feature named 'amont'", "'amount'"),
    ("customers:agee", "matches no node named 'customers:agee'", "'customers:age'"),
    ("chrun", "matches no node named 'chrun'", "'churn'"),
    ("is_adult", "matches no node named 'is_adult'", "'customers:is_adult'"),
    ("test:orders_unique", "matches no test named 'orders_unique'", "'orders__unique'"),
]


@pytest.mark.parametrize(("selector", "message", "hint"), UNMATCHED)
def test_unmatched_names_select_nothing_with_a_warning(
    selector: str, message: str, hint: str
) -> None:
    warnings: list[str] = []
    assert select_nodes(DAG, [selector], None, warnings=warnings) == set()
    assert len(warnings) == 1
    assert message in warnings[0] and hint in warnings[0]


ERRORS = [
    # (selector, message fragment, hint fragment)
    ("modle:churn", "unknown selector method 'modle'", "did you mean 'model:'"),
    ("colour:red", "unknown selector method 'colour'", "valid methods: source:, view:"),
    ("state:modified", "needs an older manifest", "--state DIR"),
    ("@+view:orders", "combines '@' with a '+' prefix", None),
    ("+", "is not a selector", None),
    ("model:", "names no value", None),
    # given but blank or malformed: an error with a hint, never "select everything"
    ("", "empty selector", "view:passenger"),
    (" ", "empty selector", "view:passenger"),
    (",", "empty term around a comma", "intersects"),
    ("view:orders,,tag:sales", "empty term around a comma", "intersects"),
    ("1+", "is not a selector", "+model:titanic"),
    ("@@view:orders", "is not a selector", "+model:titanic"),
]


@pytest.mark.parametrize(("selector", "message", "hint"), ERRORS)
def test_selection_errors(selector: str, message: str, hint: str | None) -> None:
    with pytest.raises(UsageError) as caught:
        select_nodes(DAG, [selector], None)
    assert message in caught.value.message
    if hint is not None:
        assert caught.value.hint is not None
        assert hint in caught.value.hint


def test_unknown_names_in_exclude_warn_too() -> None:
    warnings: list[str] = []
    assert select_nodes(DAG, None, ["view:order"], warnings=warnings) == set(DAG.nodes)
    assert "matches no view named 'order'" in warnings[0]


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (["view:orders"], {"view:orders", "test:orders__unique"}),
        (["feature:orders:amount"], {"feature:orders:amount", "test:orders__amount__required"}),
        (
            ["view:order_stats"],
            {"view:order_stats", "test:order_stats__unique", "test:stats_positive"},
        ),
        (["model:churn"], {"model:churn"}),
    ],
)
def test_add_indirect_tests_adds_tests_of_selected_nodes(
    select: list[str], expected: set[str]
) -> None:
    assert labels(DAG, add_indirect_tests(DAG, select_nodes(DAG, select, None))) == expected


def test_a_bare_name_shared_by_a_source_and_a_view_selects_both() -> None:
    project = shop_project()
    source = project.sources["orders_csv"].model_copy(update={"name": "orders"})
    project = project.model_copy(update={"sources": {**project.sources, "orders": source}})
    dag = dag_of(project)
    assert labels(dag, select_nodes(dag, ["orders"], None)) == {"source:orders", "view:orders"}
