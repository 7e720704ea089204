"""Checksums and `state:modified`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from shop_project import dag_of, labels, shop_project

from aligned_cli.core.ir import Feature, Model, Project
from aligned_cli.core.location import Location
from aligned_cli.graph import canonical_sql, node_checksum, select_nodes


def _edited(project: Project, view: str, feature: str, **changes: object) -> Project:
    edited = project.model_copy(deep=True)
    features = edited.views[view].features
    index = next(i for i, f in enumerate(features) if f.name == feature)
    features[index] = features[index].model_copy(update=changes)
    return edited


def _state(project: Project) -> dict[str, str]:
    return {uid: attrs["checksum"] for uid, attrs in dag_of(project).nodes(data=True)}


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("coalesce(age,0)", "COALESCE(age, 0)"),
        ("COALESCE( age , 0 )", "COALESCE(age, 0)"),
        ("sex   =  'male'", "sex = 'male'"),
        ("not valid (", "not valid ("),  # unparsable text is kept as written
    ],
)
def test_canonical_sql(written: str, canonical: str) -> None:
    assert canonical_sql(written) == canonical


def test_reformatting_or_moving_a_feature_keeps_its_checksum() -> None:
    base = Feature(name="x", expression="coalesce(age,0)", location=Location(file="a.yml", line=1))
    same = Feature(name="x", expression="COALESCE( age , 0 )", location=Location(file="b.yml"))
    changed = Feature(name="x", expression="coalesce(age, 1)")
    assert node_checksum(base) == node_checksum(same)
    assert node_checksum(base) != node_checksum(changed)


def test_checksum_is_the_same_in_another_process() -> None:
    model = Model.model_validate(
        {
            "name": "m",
            "features": [{"view": "v", "feature": "f"}],
            "defaults": {"f": 1, "b": [1, 2]},
        }
    )
    script = (
        "from aligned_cli.core.ir import Model; from aligned_cli.graph import node_checksum;"
        f"print(node_checksum(Model.model_validate_json({model.model_dump_json()!r})))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert other.stdout.strip() == node_checksum(model)


def test_state_modified_selects_edited_and_new_nodes_only() -> None:
    old = shop_project()
    new = _edited(old, "orders", "amount_x2", expression="amount * 3")
    new = _edited(new, "customers", "age_filled", expression="COALESCE( age , 0 )")
    new.models["extra"] = Model.model_validate(
        {"name": "extra", "features": [{"view": "orders", "feature": "amount"}]}
    )
    dag = dag_of(new)
    modified = select_nodes(dag, ["state:modified"], None, state_checksums=_state(old))
    # the view's definition holds the feature's expression, so it changes with it
    assert labels(dag, modified) == {"feature:orders:amount_x2", "view:orders", "model:extra"}


def test_state_modified_with_graph_operator() -> None:
    old = shop_project()
    new = _edited(old, "customers", "is_adult", expression="age_filled >= 21")
    dag = dag_of(new)
    chosen = select_nodes(dag, ["state:modified+"], None, state_checksums=_state(old))
    assert labels(dag, chosen) == {
        "feature:customers:is_adult",
        "view:customers",
        "model:churn",
        # view:customers changed, so all it feeds is downstream
        "feature:customers:customer_id",
        "feature:customers:age",
        "feature:customers:age_filled",
        "test:customers__unique",
        "test:customers__age__lower_bound",
    }


def test_unchanged_project_has_nothing_modified() -> None:
    dag = dag_of(shop_project())
    assert (
        select_nodes(dag, ["state:modified"], None, state_checksums=_state(shop_project())) == set()
    )


def test_changing_a_bound_modifies_the_test_not_the_feature() -> None:
    old = shop_project()
    new = old.model_copy(deep=True)
    age = new.views["customers"].features[1]
    age.constraints[0] = age.constraints[0].model_copy(update={"value": 1})
    dag = dag_of(new)
    modified = select_nodes(dag, ["state:modified"], None, state_checksums=_state(old))
    assert labels(dag, modified) == {"test:customers__age__lower_bound"}


def test_unknown_state_method_value() -> None:
    from aligned_cli.errors import UsageError

    with pytest.raises(UsageError, match="unknown state selector"):
        select_nodes(dag_of(shop_project()), ["state:new"], None, state_checksums={})
