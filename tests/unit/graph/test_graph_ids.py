from __future__ import annotations

import pytest

from aligned_cli.graph import ids


@pytest.mark.parametrize(
    ("uid", "kind", "name"),
    [
        (ids.source_id("shop", "orders_csv"), "source", "orders_csv"),
        (ids.view_id("shop", "orders"), "view", "orders"),
        (ids.feature_id("shop", "orders", "amount"), "feature", "orders:amount"),
        (ids.model_id("shop", "churn"), "model", "churn"),
        (ids.test_id("shop", "orders__unique"), "test", "orders__unique"),
    ],
)
def test_ids_round_trip(uid: str, kind: ids.NodeKind, name: str) -> None:
    assert ids.kind_and_name(uid) == (kind, name)
    assert ids.unique_id("shop", kind, name) == uid


def test_id_spelling_matches_the_spec() -> None:
    assert ids.feature_id("titanic", "passenger", "age") == "feature.titanic.passenger.age"
    assert ids.column_id("titanic", "titanic_csv", "Age") == "source.titanic.titanic_csv.Age"


@pytest.mark.parametrize(
    "bad", ["view.shop", "feature.shop.passenger", "widget.shop.x", "view.shop.", "view.a.b.c"]
)
def test_malformed_ids_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="not a node unique id"):
        ids.kind_and_name(bad)
