"""Every snippet of SPEC §8 (and the brief), verbatim, against compiled projects."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from api_helpers import NOW, driver_events

from aligned_cli import FeatureStore, FileSource


def test_titanic_snippets(titanic_manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(titanic_manifest.parent.parent)  # the snippets use relative paths
    entities_df = pd.DataFrame({"passenger_id": [10, 1, 4]})

    async def snippets() -> None:
        store = await FileSource.json_at("target/manifest.json").feature_store()
        df = await store.model("titanic").features_for({"passenger_id": [1, 2, 3]}).to_pandas()
        assert list(df.columns) == [
            "passenger_id",
            "constant_filled_age",
            "is_male",
            "sibsp",
            "pclass",
            "family_size",
        ]  # the features only (SPEC §8); the target on request:
        assert df["passenger_id"].tolist() == [1, 2, 3]
        assert df["is_male"].tolist() == [True, False, False]
        model = store.model("titanic")
        labelled = await model.features_for(
            {"passenger_id": [1, 2, 3]}, with_target=True
        ).to_pandas()
        assert list(labelled.columns) == [*df.columns, "survived"]
        assert labelled["survived"].tolist() == [False, True, True]

        df = await store.features_for(
            entities_df, features=["passenger:age", "passenger:is_male"]
        ).to_polars()
        assert isinstance(df, pl.DataFrame)
        assert df.columns == ["passenger_id", "age", "is_male"]
        assert df["passenger_id"].to_list() == [10, 1, 4]
        assert df["age"].to_list() == [14.0, 22.0, 35.0]

        df = await store.feature_view("passenger").all(limit=100).to_pandas()
        assert len(df) == 100
        assert {"passenger_id", "age", "is_male", "constant_filled_age"} <= set(df.columns)

    asyncio.run(snippets())

    store = FeatureStore.from_manifest("target/manifest.json")  # the sync constructor
    assert store.project.name == "titanic"
    lazy = asyncio.run(store.feature_view("passenger").all(limit=5).to_lazy_polars())
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().height == 5


def test_using_source_reads_another_file(
    titanic_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = titanic_manifest.parent.parent
    monkeypatch.chdir(root)
    other = pa.table(
        {
            "PassengerId": [7, 8],
            "Survived": [1, 0],
            "Pclass": [1, 3],
            "Name": ["A", "B"],
            "Sex": ["female", "male"],
            "Age": [30.0, None],
            "SibSp": [0, 1],
            "Parch": [0, 2],
            "Fare": [10.0, 5.0],
            "Cabin": [None, "C1"],
            "Embarked": ["S", "C"],
        }
    )
    pq.write_table(other, root / "other.parquet")
    store = FeatureStore.from_manifest("target/manifest.json")
    mapping = {"PassengerId": "passenger_id", "Survived": "survived", "Pclass": "pclass",
               "Name": "name", "Sex": "sex", "Age": "age", "SibSp": "sibsp", "Parch": "parch",
               "Fare": "fare", "Cabin": "cabin", "Embarked": "embarked"}  # fmt: skip
    view = store.feature_view("passenger").using_source(
        FileSource.parquet_at("other.parquet", mapping=mapping)
    )
    df = view.all().to_pandas_sync()
    assert df["passenger_id"].tolist() == [7, 8]
    assert df["family_size"].tolist() == [1, 4]
    found = view.features_for({"passenger_id": [8, 1]}, features=["is_male"]).to_pandas_sync()
    assert found["is_male"].tolist()[0] is True
    assert pd.isna(found["is_male"].tolist()[1])  # passenger 1 is not in other.parquet


def test_previous_between_and_freshness(
    temporal_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(temporal_manifest.parent.parent)
    events = driver_events()

    async def snippets() -> None:
        store = await FileSource.json_at("target/manifest.json").feature_store()
        df = await store.feature_view("driver_stats").previous(days=30).to_pandas()
        since = datetime.now(UTC) - timedelta(days=30)
        assert len(df) == sum(1 for r in events if r["event_timestamp"] >= since)
        since = datetime.now(UTC) - timedelta(hours=36)
        hours = await store.feature_view("driver_stats").previous(hours=36).to_pandas()
        assert len(hours) == sum(1 for r in events if r["event_timestamp"] >= since)

        start, end = NOW - timedelta(days=20), NOW - timedelta(days=10)
        df = await store.feature_view("driver_stats").between(start, end).to_pandas()
        assert len(df) == sum(1 for r in events if start <= r["event_timestamp"] <= end)
        assert df["event_timestamp"].min() >= start

        fresh = await store.feature_view("departures").freshness()  # loaded_at_field
        assert fresh == datetime(2026, 1, 4, 9, 30, tzinfo=UTC)
        fresh = await store.feature_view("driver_stats").freshness()  # event_timestamp
        assert fresh == max(r["event_timestamp"] for r in events)
        assert fresh is not None and fresh.tzinfo is not None

    asyncio.run(snippets())


def test_manifest_published_elsewhere(titanic_manifest: Path, tmp_path: Path) -> None:
    published = tmp_path / "published" / "store.json"
    published.parent.mkdir()
    published.write_text(titanic_manifest.read_text())
    store = FeatureStore.from_manifest(published, project_dir=titanic_manifest.parent.parent)
    df = store.model("titanic").features_for({"passenger_id": [1]}).to_pandas_sync()
    assert df["is_male"].tolist() == [True]
