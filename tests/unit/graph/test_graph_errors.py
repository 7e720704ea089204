"""Unknown references and cycles become ProjectErrors users can act on."""

from __future__ import annotations

from typing import Any

import pytest
from shop_project import dag_of, shop_project

from aligned_cli.core.ir import (
    Constraint,
    Feature,
    FeatureRef,
    FeatureView,
    Project,
    SourceRef,
    Spine,
)
from aligned_cli.core.location import Location
from aligned_cli.errors import ProjectError


def _with_view(project: Project, **fields: Any) -> Project:
    view = FeatureView.model_validate({"entities": ["id"], **fields})
    views = {**project.views, view.name: view}
    return project.model_copy(update={"views": views})


def _models(project: Project, name: str, **fields: Any) -> Project:
    model = project.models[name].model_copy(update=fields)
    return project.model_copy(update={"models": {**project.models, name: model}})


WHERE = Location(file="features/x.yml", line=7)

UNKNOWN = [
    (
        _with_view(
            shop_project(),
            name="x",
            source=SourceRef(kind="source", name="orders_cvs"),
            location=WHERE,
        ),
        "view 'x' reads unknown source 'orders_cvs'",
        "'orders_csv'",
    ),
    (
        _with_view(
            shop_project(), name="x", source=SourceRef(kind="source", name="orders"), location=WHERE
        ),
        "view 'x' reads unknown source 'orders'",
        "source: view:orders",
    ),
    (
        _with_view(
            shop_project(), name="x", source=SourceRef(kind="view", name="order"), location=WHERE
        ),
        "view 'x' is built on unknown view 'order'",
        "'orders'",
    ),
    (
        _with_view(
            shop_project(),
            name="x",
            source=SourceRef(kind="view", name="orders"),
            features=[Feature(name="amont", location=WHERE)],
        ),
        "feature 'amont' of view 'x' reads column 'amont'",
        "'amount'",
    ),
    (
        _with_view(
            shop_project(),
            name="x",
            source=SourceRef(kind="view", name="orders"),
            features=[Feature(name="y", expression="amount_x3 + 1", location=WHERE)],
        ),
        "reads column 'amount_x3'",
        "'amount_x2'",
    ),
    (
        _with_view(
            shop_project(),
            name="x",
            source=SourceRef(kind="source", name="orders_csv"),
            features=[Feature(name="y", expression="amount +* (", location=WHERE)],
        ),
        "the expression of feature 'x:y' is not valid SQL",
        None,
    ),
    (
        _with_view(
            shop_project(),
            name="x",
            source=SourceRef(kind="source", name="orders_csv"),
            location=WHERE,
            features=[
                Feature(
                    name="id",
                    constraints=[Constraint(kind="relationships", value={"to": "custmers"})],
                )
            ],
        ),
        "relationships test 'x__id__relationships' points to unknown view 'custmers'",
        "'customers'",
    ),
    (
        _models(
            shop_project(),
            "churn",
            location=WHERE,
            features=[
                *shop_project().models["churn"].features,
                FeatureRef.parse("customers:is_adlt"),
            ],
        ),
        "model 'churn' uses 'customers:is_adlt', but view 'customers' has no feature 'is_adlt'",
        "'customers:is_adult'",
    ),
    (
        _models(
            shop_project(),
            "churn",
            location=WHERE,
            features=[FeatureRef.parse("customer:age")],
        ),
        "model 'churn' uses 'customer:age', but there is no view 'customer'",
        "'customers'",
    ),
    (
        _models(shop_project(), "churn", location=WHERE, spine=Spine(source="custmers_csv")),
        "model 'churn' has unknown spine source 'custmers_csv'",
        "'customers_csv'",
    ),
]


@pytest.mark.parametrize(("project", "message", "hint"), UNKNOWN)
def test_unknown_references(project: Project, message: str, hint: str | None) -> None:
    with pytest.raises(ProjectError) as caught:
        dag_of(project)
    assert message in caught.value.message
    assert caught.value.location == WHERE
    if hint is not None:
        assert caught.value.hint is not None and hint in caught.value.hint


def test_view_cycle_names_the_path() -> None:
    a_loc = Location(file="features/a.yml", line=3)
    project = _with_view(
        shop_project(), name="a", source=SourceRef(kind="view", name="b"), location=a_loc
    )
    project = _with_view(project, name="b", source=SourceRef(kind="view", name="a"))
    with pytest.raises(ProjectError) as caught:
        dag_of(project)
    assert "view:a -> view:b -> view:a" in caught.value.message
    assert caught.value.location == a_loc


def test_derived_feature_cycle_names_the_path() -> None:
    project = _with_view(
        shop_project(),
        name="v",
        source=SourceRef(kind="source", name="orders_csv"),
        location=WHERE,
        features=[Feature(name="x", expression="y + 1"), Feature(name="y", expression="x * 2")],
    )
    with pytest.raises(ProjectError) as caught:
        dag_of(project)
    assert "feature:v:x -> feature:v:y -> feature:v:x" in caught.value.message
    assert caught.value.location == WHERE


def test_a_feature_reading_its_own_name_reads_the_source_column() -> None:
    project = _with_view(
        shop_project(),
        name="v",
        source=SourceRef(kind="source", name="orders_csv"),
        features=[Feature(name="amount", expression="coalesce(amount, 0)")],
    )
    dag = dag_of(project)  # no self-loop, no cycle error
    assert not any(u == v for u, v in dag.edges)
