"""dict, pandas, polars and Arrow entity inputs give identical results, and the
sync twins work with and without a running event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from api_helpers import spine_rows

from aligned_cli import FeatureStore

FEATURES = ["driver_stats:rate", "driver_stats:trips", "driver_recent:rate"]


@pytest.fixture()
def store(temporal_manifest: Path) -> FeatureStore:
    return FeatureStore.from_manifest(temporal_manifest)


def _inputs() -> dict[str, object]:
    spine = spine_rows()[:40]
    as_dict = {
        "driver_id": [r["driver_id"] for r in spine],
        "event_timestamp": [r["event_timestamp"] for r in spine],
    }
    return {
        "dict": as_dict,
        "pandas": pd.DataFrame(as_dict),
        "polars": pl.DataFrame(as_dict),
        "arrow": pa.table(as_dict),
    }


def test_every_input_kind_gives_the_same_result(store: FeatureStore) -> None:
    results = {
        kind: store.features_for(entities, FEATURES).to_arrow_sync()
        for kind, entities in _inputs().items()
    }
    reference = results["dict"].to_pylist()
    assert len(reference) == 40
    for kind, table in results.items():
        assert table.column_names == [
            "driver_id",
            "event_timestamp",
            "driver_stats__rate",
            "trips",
            "driver_recent__rate",
        ], kind
        assert table.to_pylist() == reference, kind


def test_extra_entity_columns_come_first_in_order(store: FeatureStore) -> None:
    entities = pl.DataFrame({"label": ["a", "b"], "driver_id": [2, 5], "weight": [0.5, 1.0]})
    df = store.features_for(entities, ["driver_stats:trips"]).to_polars_sync()
    assert df.columns == ["label", "driver_id", "weight", "trips"]
    assert df["label"].to_list() == ["a", "b"]
    assert df["trips"].to_list()[1] is None  # driver 5 has no history


def test_sync_twins_inside_a_running_event_loop(store: FeatureStore) -> None:
    job = store.features_for({"driver_id": [1, 2]}, ["driver_stats:trips"])
    expected = job.to_arrow_sync()

    async def in_a_notebook() -> None:
        # As in Jupyter: a loop is running in this thread, and sync calls still work.
        asyncio.get_running_loop()
        assert job.to_arrow_sync().equals(expected)
        assert job.to_pandas_sync()["trips"].tolist() == expected.column("trips").to_pylist()
        assert job.to_polars_sync()["trips"].to_list() == expected.column("trips").to_pylist()
        # ... and the awaitable forms run alongside other tasks.
        results = await asyncio.gather(job.to_arrow(), job.to_arrow())
        assert all(r.equals(expected) for r in results)

    asyncio.run(in_a_notebook())


def test_empty_entities(store: FeatureStore) -> None:
    table = store.features_for(
        pa.table({"driver_id": pa.array([], pa.int64())}), ["driver_stats:trips"]
    ).to_arrow_sync()
    assert table.num_rows == 0
    assert table.column_names == ["driver_id", "trips"]
