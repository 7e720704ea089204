"""Bad input gets a clear AlignedError naming what is wrong and what is close."""

from __future__ import annotations

from pathlib import Path

import pytest

from aligned_cli import FeatureStore
from aligned_cli.errors import AlignedError


@pytest.fixture()
def store(titanic_manifest: Path) -> FeatureStore:
    return FeatureStore.from_manifest(titanic_manifest)


def test_missing_entity_key_column_names_the_column_and_view(store: FeatureStore) -> None:
    with pytest.raises(AlignedError) as raised:
        store.model("titanic").features_for({"passenger": [1, 2]})
    text = str(raised.value)
    assert "'passenger_id'" in text
    assert "'passenger'" in text
    assert "did you mean 'passenger'" in text


def test_unknown_feature_suggests_the_closest(store: FeatureStore) -> None:
    with pytest.raises(AlignedError) as raised:
        store.features_for({"passenger_id": [1]}, features=["passenger:agee"])
    assert "no feature 'agee'" in str(raised.value)
    assert "'age'" in str(raised.value)

    with pytest.raises(AlignedError, match=r"(?s)unknown feature view 'pasenger'.*'passenger'"):
        store.features_for({"passenger_id": [1]}, features=["pasenger:age"])
    with pytest.raises(AlignedError, match="not a feature reference"):
        store.features_for({"passenger_id": [1]}, features=["age"])


def test_unknown_model_view_and_connection(store: FeatureStore) -> None:
    with pytest.raises(AlignedError, match=r"(?s)unknown model 'titanik'.*'titanic'"):
        store.model("titanik")
    with pytest.raises(AlignedError, match=r"(?s)unknown feature view 'pasenger'.*'passenger'"):
        store.feature_view("pasenger")
    with pytest.raises(AlignedError, match=r"(?s)no connection 'warehous'.*'warehouse'"):
        store.with_connection("warehous")


def test_time_queries_on_a_static_view(store: FeatureStore) -> None:
    with pytest.raises(AlignedError, match="has no event_timestamp"):
        store.feature_view("passenger").previous(days=30)


def test_bad_entities_and_missing_manifest(store: FeatureStore, tmp_path: Path) -> None:
    with pytest.raises(AlignedError, match="dict of lists"):
        store.model("titanic").features_for([1, 2, 3])
    with pytest.raises(AlignedError, match="no manifest"):
        FeatureStore.from_manifest(tmp_path / "target" / "manifest.json")


def test_odd_arguments_are_usage_errors(tmp_path: Path) -> None:
    """`all(limit=1.5)` returned 2 rows; `model(None)` raised a bare TypeError."""
    from api_helpers import write_temporal_project

    from aligned_cli import FeatureStore
    from aligned_cli.errors import UsageError

    store = FeatureStore.from_manifest(write_temporal_project(tmp_path / "rides"))
    view = next(iter(store.project.views))
    for limit in (1.5, -1, True):
        with pytest.raises(UsageError, match="limit must be a whole number"):
            store.feature_view(view).all(limit=limit)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="unknown model 'None'"):
        store.model(None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="unknown feature view 'None'"):
        store.feature_view(None)  # type: ignore[arg-type]
